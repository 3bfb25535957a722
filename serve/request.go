package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// apiError is an HTTP error that the server sends in OpenAI's error schema.
type apiError struct {
	Status  int
	Type    string // "invalid_request_error", "rate_limit_error", ...
	Param   string // the offending field, or ""
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

// invalid returns a 400 error about field.
func invalid(field, format string, args ...any) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Type:    "invalid_request_error",
		Param:   field,
		Message: fmt.Sprintf(format, args...),
	}
}

// samplingFields are the sampling fields that both completion endpoints
// accept. A nil pointer marks an absent field, so that 0 stays a value.
type samplingFields struct {
	Model            string          `json:"model"`
	MaxTokens        *int            `json:"max_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	N                *int            `json:"n"`
	Stream           bool            `json:"stream"`
	StreamOptions    *streamOptions  `json:"stream_options"`
	Stop             json.RawMessage `json:"stop"`
	Seed             *int64          `json:"seed"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	User             string          `json:"user"`
	// LogitBias is accepted only empty, which is what goushi does.
	LogitBias map[string]float64 `json:"logit_bias"`

	// Extensions beyond OpenAI's schema.
	TopK              *int     `json:"top_k"`
	MinP              *float64 `json:"min_p"`
	RepetitionPenalty *float64 `json:"repetition_penalty"`
	Style             string   `json:"style"`
	SlideBy           *int     `json:"slide_by"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	samplingFields
	Prompt   json.RawMessage `json:"prompt"`
	Echo     bool            `json:"echo"`
	Logprobs *int            `json:"logprobs"`
	// BestOf and Suffix are accepted only at their defaults, 1 and empty,
	// which is what goushi does.
	BestOf *int    `json:"best_of"`
	Suffix *string `json:"suffix"`
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	samplingFields
	Messages            []chatMessage `json:"messages"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Logprobs            bool          `json:"logprobs"`
	TopLogprobs         *int          `json:"top_logprobs"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// limits bound what one request may ask for.
type limits struct {
	maxPromptRunes int
	maxNewTokens   int
	maxSamples     int
	maxStops       int
	maxStopBytes   int
	maxAlts        int
	contextLen     int // the model's context length T; 0 if the card does not say
}

// Defaults for fields a request leaves out.
const (
	defaultMaxTokens   = 128
	defaultTemperature = 1.0
)

// decodeJSON reads one JSON object from r.Body into v, rejecting unknown
// fields, trailing data and bodies over maxBytes.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) *apiError {
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{
				Status: http.StatusRequestEntityTooLarge,
				Type:   "invalid_request_error",
				Message: fmt.Sprintf("request body is larger than %d bytes; "+
					"send a shorter prompt", tooBig.Limit),
			}
		}
		return invalid("", "reading the request body failed: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return invalid("", "request body is empty; send a JSON object")
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return invalid("", "request body has data after the JSON object; send one object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "request body has data after the JSON object; send one object")
	}
	return nil
}

// jsonError turns a decoding error into a 400 that names the field.
func jsonError(err error) *apiError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return invalid("", "request body is not valid JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typ):
		// The path names the embedded struct of the shared fields too.
		field := strings.TrimPrefix(typ.Field, "samplingFields.")
		if field == "" {
			return invalid("", "request body must be a JSON object, not %s", typ.Value)
		}
		kind := typ.Type.Kind().String()
		digits, isNumber := strings.CutPrefix(typ.Value, "number ")
		whole := !strings.ContainsAny(digits, ".eE")
		if isNumber && (strings.HasPrefix(kind, "float") ||
			strings.HasPrefix(kind, "int") && whole) {
			// A number too large for the Go type.
			return invalid(field, "field %q is %s, which is out of range", field, digits)
		}
		return invalid(field, "field %q must be %s, not %s",
			field, jsonTypeName(kind), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "request body is not valid JSON: it ends early")
	}
	// DisallowUnknownFields reports `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return invalid(field, "unknown field %s; see /api for the accepted fields", name)
	}
	return invalid("", "request body is not valid: %v", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64", "uint64":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value of another type"
	}
	return "a value of another type"
}

// params checks the shared sampling fields and returns them as Params.
// maxTokens is the value of the request's token limit field, and
// maxTokensName is that field's name.
func (f *samplingFields) params(lim limits, styles []string, maxTokens *int,
	maxTokensName string) (Params, *apiError) {

	p := Params{
		Temperature:       defaultTemperature,
		TopP:              1,
		RepetitionPenalty: 1,
		MaxNewTokens:      defaultMaxTokens,
		N:                 1,
	}
	if maxTokens != nil {
		if *maxTokens < 1 || *maxTokens > lim.maxNewTokens {
			return p, invalid(maxTokensName, "%s is %d; it must be between 1 and %d",
				maxTokensName, *maxTokens, lim.maxNewTokens)
		}
		p.MaxNewTokens = *maxTokens
	}
	if p.MaxNewTokens > lim.maxNewTokens {
		p.MaxNewTokens = lim.maxNewTokens
	}

	var err *apiError
	if p.Temperature, err = floatField("temperature", f.Temperature, defaultTemperature,
		0, 2); err != nil {
		return p, err
	}
	if p.TopP, err = floatField("top_p", f.TopP, 1, 0, 1); err != nil {
		return p, err
	}
	if p.MinP, err = floatField("min_p", f.MinP, 0, 0, 1); err != nil {
		return p, err
	}
	if p.RepetitionPenalty, err = floatField("repetition_penalty", f.RepetitionPenalty, 1,
		0.1, 10); err != nil {
		return p, err
	}
	for _, pen := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", f.PresencePenalty}, {"frequency_penalty", f.FrequencyPenalty}} {
		if pen.v != nil && *pen.v != 0 {
			return p, invalid(pen.name, "%s is not supported; leave it out and use "+
				"repetition_penalty (1 = off)", pen.name)
		}
	}
	if len(f.LogitBias) > 0 {
		return p, invalid("logit_bias", "logit_bias with entries is not supported; "+
			"leave it out or send {}")
	}
	if f.TopK != nil {
		if *f.TopK < 0 {
			return p, invalid("top_k", "top_k is %d; it must be 0 (off) or positive", *f.TopK)
		}
		p.TopK = *f.TopK
	}
	if f.SlideBy != nil {
		if lim.contextLen > 0 && (*f.SlideBy < 0 || *f.SlideBy >= lim.contextLen) {
			return p, invalid("slide_by", "slide_by is %d; it must be between 0 and %d "+
				"(0 or 1: the window is always the last %d tokens)", *f.SlideBy,
				lim.contextLen-1, lim.contextLen)
		}
		if *f.SlideBy < 0 {
			return p, invalid("slide_by", "slide_by is %d; it must be 0 or more", *f.SlideBy)
		}
		p.SlideBy = *f.SlideBy
	}
	if f.N != nil {
		if *f.N < 1 || *f.N > lim.maxSamples {
			return p, invalid("n", "n is %d; it must be between 1 and %d", *f.N, lim.maxSamples)
		}
		p.N = *f.N
	}
	if f.Seed != nil {
		p.Seed = uint64(*f.Seed)
	} else {
		p.Seed = randomSeed()
	}
	if f.Style != "" && !slices.Contains(styles, f.Style) {
		if len(styles) == 0 {
			return p, invalid("style", "style %q is unknown: this model has no style tags",
				f.Style)
		}
		return p, invalid("style", "style %q is unknown; use one of %s", f.Style,
			strings.Join(styles, ", "))
	}
	p.Style = f.Style
	if p.Stop, err = parseStop(f.Stop, lim); err != nil {
		return p, err
	}
	return p, nil
}

// floatField returns v or def, checking that it lies in [lo, hi].
func floatField(name string, v *float64, def, lo, hi float64) (float32, *apiError) {
	if v == nil {
		return float32(def), nil
	}
	if math.IsNaN(*v) || *v < lo || *v > hi {
		return 0, invalid(name, "%s is %g; it must be between %g and %g", name, *v, lo, hi)
	}
	return float32(*v), nil
}

// parseStop accepts OpenAI's stop field: null, a string or an array of
// strings.
func parseStop(raw json.RawMessage, lim limits) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var stops []string
	var single string
	if err := json.Unmarshal(raw, &single); err == nil {
		stops = []string{single}
	} else if err := json.Unmarshal(raw, &stops); err != nil {
		return nil, invalid("stop", "stop must be a string or an array of strings")
	}
	if len(stops) > lim.maxStops {
		return nil, invalid("stop", "stop has %d sequences; at most %d are allowed",
			len(stops), lim.maxStops)
	}
	for i, s := range stops {
		if s == "" {
			return nil, invalid("stop", "stop sequence %d is empty", i)
		}
		if len(s) > lim.maxStopBytes {
			return nil, invalid("stop", "stop sequence %d is %d bytes; at most %d are allowed",
				i, len(s), lim.maxStopBytes)
		}
	}
	return stops, nil
}

// parsePrompt accepts a string or an array of exactly one string.
func parsePrompt(raw json.RawMessage, lim limits) (string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var prompt string
	if err := json.Unmarshal(raw, &prompt); err != nil {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return "", invalid("prompt", "prompt must be a string or an array of one string")
		}
		if len(list) != 1 {
			return "", invalid("prompt", "prompt is an array of %d strings; send one "+
				"prompt per request", len(list))
		}
		prompt = list[0]
	}
	if n := utf8.RuneCountInString(prompt); n > lim.maxPromptRunes {
		return "", invalid("prompt", "prompt has %d characters; at most %d are allowed",
			n, lim.maxPromptRunes)
	}
	return prompt, nil
}

// chatRoles are the message roles a chat request may use.
var chatRoles = []string{"system", "developer", "user", "assistant"}

// chatPrompt joins the message contents with newlines. The model has no
// chat template, so the reply continues the conversation's text.
func chatPrompt(msgs []chatMessage, lim limits) (string, *apiError) {
	if len(msgs) == 0 {
		return "", invalid("messages", "messages is empty; send at least one message")
	}
	parts := make([]string, 0, len(msgs))
	for i, m := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		if !slices.Contains(chatRoles, m.Role) {
			return "", invalid(field+".role", "%s.role is %q; use one of %s", field, m.Role,
				strings.Join(chatRoles, ", "))
		}
		text, err := messageText(m.Content, field+".content")
		if err != nil {
			return "", err
		}
		parts = append(parts, text)
	}
	prompt := strings.Join(parts, "\n")
	if n := utf8.RuneCountInString(prompt); n > lim.maxPromptRunes {
		return "", invalid("messages", "messages have %d characters in all; at most %d "+
			"are allowed", n, lim.maxPromptRunes)
	}
	return prompt, nil
}

// messageText accepts a content string or an array of text parts.
func messageText(raw json.RawMessage, field string) (string, *apiError) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", invalid(field, "%s must be a string or an array of text parts", field)
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return "", invalid(field, "%s[%d] has type %q; only text parts are supported",
				field, i, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}
