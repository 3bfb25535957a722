package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goushi/goushi/bpe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompletionSchema(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	resp, body := post(t, ts.URL+"/v1/completions",
		`{"model":"goushi-test","prompt":"家人们","max_tokens":12,"temperature":0,"seed":3}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	var c completion
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&c))
	assert.True(t, strings.HasPrefix(c.ID, "cmpl-"), "id %q", c.ID)
	assert.Equal(t, "text_completion", c.Object)
	assert.Equal(t, "goushi-test", c.Model)
	assert.NotZero(t, c.Created)
	require.Len(t, c.Choices, 1)
	assert.NotEmpty(t, c.Choices[0].Text)
	require.NotNil(t, c.Choices[0].FinishReason)
	assert.Contains(t, []string{"stop", "length"}, *c.Choices[0].FinishReason)
	assert.Nil(t, c.Choices[0].Logprobs)
	require.NotNil(t, c.Usage)
	assert.Equal(t, len(gen.Tokenizer.Encode("家人们")), c.Usage.PromptTokens)
	assert.LessOrEqual(t, c.Usage.CompletionTokens, 12)
	assert.Positive(t, c.Usage.CompletionTokens)
	assert.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
}

func TestCompletionGreedyMatchesModel(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})

	// The served text is what the model itself generates for the same
	// settings.
	want := ""
	for ev, err := range gen.Generate(t.Context(), "明月", Params{Temperature: 0, TopP: 1,
		RepetitionPenalty: 1, MaxNewTokens: 20, N: 1, Style: "宋词"}) {
		require.NoError(t, err)
		want += ev.Text
	}
	_, body := post(t, ts.URL+"/v1/completions",
		`{"prompt":"明月","max_tokens":20,"temperature":0,"style":"宋词"}`)
	var c completion
	require.NoError(t, json.Unmarshal(body, &c), "body %s", body)
	require.Len(t, c.Choices, 1)
	assert.Equal(t, want, c.Choices[0].Text)
	assert.Greater(t, hanShare(want), 0.5, "greedy text %q", want)
}

// streamCompletion posts a streaming request and returns the data payloads
// before [DONE] and the comments.
func streamCompletion(t *testing.T, url, body string) (chunks []string, comments []string) {

	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))

	events := readSSE(t, resp.Body)
	require.NotEmpty(t, events)
	last := events[len(events)-1]
	require.Equal(t, "[DONE]", last.data, "the stream must end with data: [DONE]")
	for _, ev := range events[:len(events)-1] {
		if ev.comment != "" {
			comments = append(comments, ev.comment)
			continue
		}
		chunks = append(chunks, ev.data)
	}
	return chunks, comments
}

func TestStreamEqualsNonStream(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	const req = `{"prompt":"今天","max_tokens":60,"temperature":0.9,"top_k":20,` +
		`"seed":42,"style":"抽象","n":2%s}`

	resp, body := post(t, ts.URL+"/v1/completions", fmt.Sprintf(req, ""))
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var whole completion
	require.NoError(t, json.Unmarshal(body, &whole), "body %s", body)
	require.Len(t, whole.Choices, 2)

	chunks, _ := streamCompletion(t, ts.URL+"/v1/completions",
		fmt.Sprintf(req, `,"stream":true`))
	streamed := map[int]string{}
	finish := map[int]string{}
	for _, raw := range chunks {
		// Each chunk is valid JSON of valid UTF-8 on its own: no
		// character is split across chunks.
		require.True(t, utf8.ValidString(raw), "chunk %q is not valid UTF-8", raw)
		var c completion
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&c), "chunk %s", raw)
		assert.Equal(t, "text_completion", c.Object)
		assert.Equal(t, whole.Model, c.Model)
		require.Len(t, c.Choices, 1)
		ch := c.Choices[0]
		_, seen := finish[ch.Index]
		assert.False(t, seen, "choice %d has a chunk after its finish_reason", ch.Index)
		streamed[ch.Index] += ch.Text
		if ch.FinishReason != nil {
			finish[ch.Index] = *ch.FinishReason
		}
	}
	for i, ch := range whole.Choices {
		assert.Equal(t, ch.Text, streamed[i], "choice %d", i)
		assert.Equal(t, *ch.FinishReason, finish[i], "choice %d finish_reason", i)
		assert.Greater(t, hanShare(ch.Text), 0.5, "choice %d text %q", i, ch.Text)
	}
	assert.NotEqual(t, whole.Choices[0].Text, whole.Choices[1].Text,
		"the two samples drew the same text")
}

// rawByteGenerator sends each token's raw bytes as its Text, so that a
// character split across tokens reaches the server in pieces. It tests
// the server's own hold-back, which the model's streaming decoder makes
// unnecessary for ModelGenerator.
type rawByteGenerator struct {
	*ModelGenerator
	split bool // some token's bytes were not valid UTF-8 on their own
}

func (g *rawByteGenerator) Generate(ctx context.Context, prompt string,
	p Params) iter.Seq2[Event, error] {

	return func(yield func(Event, error) bool) {
		for ev, err := range g.ModelGenerator.Generate(ctx, prompt, p) {
			if err == nil {
				raw := g.Tokenizer.TokenBytes(ev.TokenID)
				if ev.Done && ev.FinishReason == "stop" && ev.Text == "" {
					raw = nil // <|endoftext|> adds no text
				}
				ev.Text = string(raw)
				if !utf8.Valid(raw) {
					g.split = true
				}
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

func TestStreamHoldsBackSplitCharacters(t *testing.T) {
	model, _ := testModel(t)
	gen := &rawByteGenerator{ModelGenerator: model}
	_, ts := newTestServer(t, gen, Options{})
	const req = `{"prompt":"寻寻","max_tokens":40,"temperature":0,"style":"宋词"%s}`

	_, body := post(t, ts.URL+"/v1/completions", fmt.Sprintf(req, ""))
	var whole completion
	require.NoError(t, json.Unmarshal(body, &whole), "body %s", body)
	text := whole.Choices[0].Text
	require.True(t, utf8.ValidString(text))
	require.NotContains(t, text, "\uFFFD", "the greedy text itself has invalid bytes")

	gen.split = false
	chunks, _ := streamCompletion(t, ts.URL+"/v1/completions", fmt.Sprintf(req,
		`,"stream":true`))
	require.True(t, gen.split, "no token split a character, so nothing was held back")
	streamed := ""
	for _, raw := range chunks {
		var c completion
		require.NoError(t, json.Unmarshal([]byte(raw), &c))
		assert.NotContains(t, c.Choices[0].Text, "\uFFFD", "chunk %s", raw)
		streamed += c.Choices[0].Text
	}
	assert.Equal(t, text, streamed)
}

// perByteText decodes raw with each byte outside a valid UTF-8 sequence
// read as U+FFFD.
func perByteText(raw []byte) string {
	var b strings.Builder
	for len(raw) > 0 {
		r, n := utf8.DecodeRune(raw)
		if r == utf8.RuneError && n <= 1 {
			b.WriteString("\uFFFD")
		} else {
			b.Write(raw[:n])
		}
		raw = raw[max(n, 1):]
	}
	return b.String()
}

func TestChatStreamEqualsNonStream(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	const req = `{"messages":[{"role":"system","content":"抽象"},` +
		`{"role":"user","content":[{"type":"text","text":"老板说"}]}],` +
		`"max_completion_tokens":40,"seed":9,"logprobs":true,"top_logprobs":3%s}`

	_, body := post(t, ts.URL+"/v1/chat/completions", fmt.Sprintf(req, ""))
	var whole chatCompletion
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&whole), "body %s", body)
	assert.Equal(t, "chat.completion", whole.Object)
	assert.True(t, strings.HasPrefix(whole.ID, "chatcmpl-"), "id %q", whole.ID)
	require.Len(t, whole.Choices, 1)
	msg := whole.Choices[0].Message
	require.NotNil(t, msg)
	assert.Equal(t, "assistant", msg.Role)
	require.NotNil(t, whole.Choices[0].Logprobs)
	lp := whole.Choices[0].Logprobs.Content
	assert.Len(t, lp, whole.Usage.CompletionTokens, "one logprob entry per token")
	joined := ""
	var raw []byte
	splitAlt := false // some alternative's raw bytes end inside a character
	for _, tok := range lp {
		joined += tok.Token
		for _, b := range tok.Bytes {
			raw = append(raw, byte(b))
		}
		for _, alt := range tok.TopLogprobs {
			altRaw := make([]byte, len(alt.Bytes))
			for i, b := range alt.Bytes {
				altRaw[i] = byte(b)
			}
			assert.Equal(t, strings.ToValidUTF8(string(altRaw), "\uFFFD"), alt.Token)
			splitAlt = splitAlt || !utf8.Valid(altRaw)
		}
		assert.LessOrEqual(t, tok.Logprob, 0.0)
		assert.Len(t, tok.TopLogprobs, 3)
	}
	assert.Equal(t, *msg.Content, joined, "the logprob tokens spell the reply")
	// The raw bytes spell it too, with each invalid byte read as U+FFFD,
	// plus at most the bytes of an unfinished character that a length
	// stop cut off.
	assert.True(t, splitAlt, "no alternative had the raw bytes of a split character")
	spelled := perByteText(raw)
	require.True(t, strings.HasPrefix(spelled, *msg.Content), "bytes %q", raw)
	cut := strings.TrimPrefix(spelled, *msg.Content)
	assert.Less(t, len(cut), utf8.UTFMax*len("\uFFFD"), "bytes %q", raw)
	assert.Equal(t, "", strings.ReplaceAll(cut, "\uFFFD", ""), "bytes %q", raw)
	assert.Equal(t, len(gen.Tokenizer.Encode("抽象\n老板说")), whole.Usage.PromptTokens)

	chunks, _ := streamCompletion(t, ts.URL+"/v1/chat/completions",
		fmt.Sprintf(req, `,"stream":true,"stream_options":{"include_usage":true}`))
	content := ""
	var sawRole bool
	var finish string
	var u *usage
	for i, raw := range chunks {
		var c chatCompletion
		require.NoError(t, json.Unmarshal([]byte(raw), &c), "chunk %s", raw)
		assert.Equal(t, "chat.completion.chunk", c.Object)
		// With include_usage every chunk has the field, null but in the last.
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(raw), &fields))
		require.Contains(t, fields, "usage", "chunk %d: %s", i, raw)
		if c.Usage != nil {
			u = c.Usage
			assert.Empty(t, c.Choices, "the usage chunk has no choices")
			assert.Equal(t, len(chunks)-1, i, "the usage chunk is not the last")
			continue
		}
		assert.Equal(t, "null", string(fields["usage"]), "chunk %d", i)
		require.Len(t, c.Choices, 1)
		d := c.Choices[0].Delta
		require.NotNil(t, d)
		if d.Role != "" {
			assert.Equal(t, "assistant", d.Role)
			assert.Equal(t, 0, i, "the role comes after the first chunk")
			sawRole = true
		}
		if d.Content != nil {
			content += *d.Content
		}
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
	}
	assert.True(t, sawRole, "no chunk named the role")
	assert.Equal(t, *msg.Content, content)
	assert.Equal(t, *whole.Choices[0].FinishReason, finish)
	require.NotNil(t, u, "include_usage sent no usage chunk")
	assert.Equal(t, *whole.Usage, *u)
}

func TestCompletionLogprobs(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	_, body := post(t, ts.URL+"/v1/completions",
		`{"prompt":"谁懂啊","max_tokens":15,"seed":1,"logprobs":4,"temperature":1}`)
	var c completion
	require.NoError(t, json.Unmarshal(body, &c), "body %s", body)
	lp := c.Choices[0].Logprobs
	require.NotNil(t, lp)
	n := c.Usage.CompletionTokens
	assert.Len(t, lp.Tokens, n)
	assert.Len(t, lp.TokenLogprobs, n)
	assert.Len(t, lp.TopLogprobs, n)
	assert.Len(t, lp.TextOffset, n)
	assert.Equal(t, c.Choices[0].Text, strings.Join(lp.Tokens, ""))
	offset := 0
	for i := range lp.Tokens {
		assert.Equal(t, offset, lp.TextOffset[i], "text_offset of token %d", i)
		offset += len(lp.Tokens[i])
		assert.LessOrEqual(t, lp.TokenLogprobs[i], 0.0)
		assert.LessOrEqual(t, len(lp.TopLogprobs[i]), 4)
		assert.NotEmpty(t, lp.TopLogprobs[i])
	}

	// Streamed, the chunks' logprobs join into the same lists, with
	// text_offset counted from the start of the text as above.
	chunks, _ := streamCompletion(t, ts.URL+"/v1/completions",
		`{"prompt":"谁懂啊","max_tokens":15,"seed":1,"logprobs":4,"temperature":1,`+
			`"stream":true}`)
	var joined textLogprobs
	for _, raw := range chunks {
		var chunk completion
		require.NoError(t, json.Unmarshal([]byte(raw), &chunk), "chunk %s", raw)
		require.Len(t, chunk.Choices, 1)
		clp := chunk.Choices[0].Logprobs
		require.NotNil(t, clp, "chunk %s", raw)
		joined.Tokens = append(joined.Tokens, clp.Tokens...)
		joined.TokenLogprobs = append(joined.TokenLogprobs, clp.TokenLogprobs...)
		joined.TopLogprobs = append(joined.TopLogprobs, clp.TopLogprobs...)
		joined.TextOffset = append(joined.TextOffset, clp.TextOffset...)
	}
	assert.Equal(t, *lp, joined)
}

func TestEchoPrefixesPrompt(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	_, plain := post(t, ts.URL+"/v1/completions",
		`{"prompt":"大江","max_tokens":8,"seed":5}`)
	_, echoed := post(t, ts.URL+"/v1/completions",
		`{"prompt":"大江","max_tokens":8,"seed":5,"echo":true}`)
	var a, b completion
	require.NoError(t, json.Unmarshal(plain, &a))
	require.NoError(t, json.Unmarshal(echoed, &b))
	assert.Equal(t, "大江"+a.Choices[0].Text, b.Choices[0].Text)
}

func TestSpecialTokenTextIsOrdinary(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	prompt := bpe.EndOfText + "<|style:宋词|>"

	// As control tokens the prompt would be 2 ids; as text it is many.
	asControl := gen.Tokenizer.EncodeWithSpecials(prompt, gen.Tokenizer.Specials())
	require.Len(t, asControl, 2)
	asText := len(gen.Tokenizer.Encode(prompt))
	require.Greater(t, asText, 2)

	for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
		body := `{"prompt":` + quote(prompt) + `,"max_tokens":5}`
		if strings.Contains(path, "chat") {
			body = `{"messages":[{"role":"user","content":` + quote(prompt) +
				`}],"max_tokens":5}`
		}
		resp, b := post(t, ts.URL+path, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
		var out struct{ Usage usage }
		require.NoError(t, json.Unmarshal(b, &out))
		assert.Equal(t, asText, out.Usage.PromptTokens, path)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRequestValidation(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{MaxBodyBytes: 4096, MaxPromptRunes: 50,
		MaxNewTokens: 100, MaxSamples: 3})
	long := strings.Repeat("字", 51)
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		param  string // the field the error must name; "" for none
		words  string // text the message must contain
	}{
		{"malformed", "/v1/completions", `{"prompt":"a",`, 400, "", "not valid JSON"},
		{"syntax", "/v1/completions", `{"prompt" "a"}`, 400, "", "byte"},
		{"empty body", "/v1/completions", ``, 400, "", "empty"},
		{"not object", "/v1/completions", `[1,2]`, 400, "", "JSON object"},
		{"trailing", "/v1/completions", `{"prompt":"a"} {}`, 400, "", "after the JSON"},
		{"unknown field", "/v1/completions", `{"prompt":"a","temprature":1}`, 400,
			"temprature", "unknown field"},
		{"unknown chat field", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a"}],"best_of":2}`, 400, "best_of",
			"unknown field"},
		{"unknown message field", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a","tool_calls":[]}]}`, 400,
			"tool_calls", "unknown field"},
		{"wrong type", "/v1/completions", `{"prompt":"a","temperature":"hot"}`, 400,
			"temperature", "must be a number"},
		{"temperature high", "/v1/completions", `{"prompt":"a","temperature":2.5}`, 400,
			"temperature", "between 0 and 2"},
		{"temperature negative", "/v1/completions", `{"prompt":"a","temperature":-1}`, 400,
			"temperature", "between 0 and 2"},
		{"top_p", "/v1/completions", `{"prompt":"a","top_p":1.5}`, 400, "top_p", "top_p"},
		{"top_k", "/v1/completions", `{"prompt":"a","top_k":-3}`, 400, "top_k", "top_k"},
		{"min_p", "/v1/completions", `{"prompt":"a","min_p":2}`, 400, "min_p", "min_p"},
		{"slide_by", "/v1/completions", `{"prompt":"a","slide_by":-1}`, 400, "slide_by",
			"slide_by is -1"},
		{"slide_by high", "/v1/completions", `{"prompt":"a","slide_by":64}`, 400, "slide_by",
			"between 0 and 63"},
		{"repetition_penalty", "/v1/completions", `{"prompt":"a","repetition_penalty":0}`,
			400, "repetition_penalty", "repetition_penalty"},
		{"max_tokens zero", "/v1/completions", `{"prompt":"a","max_tokens":0}`, 400,
			"max_tokens", "between 1 and 100"},
		{"max_tokens high", "/v1/completions", `{"prompt":"a","max_tokens":101}`, 400,
			"max_tokens", "between 1 and 100"},
		{"max_completion_tokens", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a"}],"max_completion_tokens":1000}`, 400,
			"max_completion_tokens", "between 1 and 100"},
		{"max_tokens negative", "/v1/completions", `{"prompt":"a","max_tokens":-5}`, 400,
			"max_tokens", "max_tokens is -5"},
		{"max_tokens fraction", "/v1/completions", `{"prompt":"a","max_tokens":1.5}`, 400,
			"max_tokens", "must be an integer, not number 1.5"},
		{"max_tokens huge", "/v1/completions",
			`{"prompt":"a","max_tokens":99999999999999999999}`, 400, "max_tokens",
			"99999999999999999999, which is out of range"},
		{"temperature huge", "/v1/completions", `{"prompt":"a","temperature":1e400}`, 400,
			"temperature", "1e400, which is out of range"},
		{"top_p negative", "/v1/completions", `{"prompt":"a","top_p":-0.1}`, 400, "top_p",
			"between 0 and 1"},
		{"n", "/v1/completions", `{"prompt":"a","n":4}`, 400, "n", "between 1 and 3"},
		{"n huge", "/v1/completions", `{"prompt":"a","n":1000000}`, 400, "n",
			"n is 1000000"},
		{"stream type", "/v1/completions", `{"prompt":"a","stream":"yes"}`, 400, "stream",
			"must be a boolean"},
		{"logprobs", "/v1/completions", `{"prompt":"a","logprobs":21}`, 400, "logprobs",
			"logprobs"},
		{"top_logprobs without logprobs", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a"}],"top_logprobs":2}`, 400,
			"top_logprobs", "logprobs"},
		{"presence_penalty", "/v1/completions", `{"prompt":"a","presence_penalty":0.5}`,
			400, "presence_penalty", "repetition_penalty"},
		{"frequency_penalty", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a"}],"frequency_penalty":-1}`,
			400, "frequency_penalty", "frequency_penalty is not supported"},
		{"logit_bias", "/v1/completions", `{"prompt":"a","logit_bias":{"50256":-100}}`,
			400, "logit_bias", "logit_bias with entries is not supported"},
		{"chat logit_bias", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"a"}],"logit_bias":{"1":5}}`,
			400, "logit_bias", "logit_bias with entries is not supported"},
		{"logit_bias type", "/v1/completions", `{"prompt":"a","logit_bias":[1]}`,
			400, "logit_bias", "must be an object"},
		{"best_of", "/v1/completions", `{"prompt":"a","best_of":3}`, 400, "best_of",
			"best_of 3 is not supported"},
		{"best_of zero", "/v1/completions", `{"prompt":"a","best_of":0}`, 400, "best_of",
			"best_of 0 is not supported"},
		{"suffix", "/v1/completions", `{"prompt":"a","suffix":"。"}`, 400, "suffix",
			"suffix is not supported"},
		{"user type", "/v1/completions", `{"prompt":"a","user":7}`, 400, "user",
			"must be a string"},
		{"style", "/v1/completions", `{"prompt":"a","style":"元曲"}`, 400, "style", "抽象"},
		{"stop type", "/v1/completions", `{"prompt":"a","stop":3}`, 400, "stop", "stop"},
		{"stop count", "/v1/completions", `{"prompt":"a","stop":["a","b","c","d","e"]}`,
			400, "stop", "at most 4"},
		{"stop empty", "/v1/completions", `{"prompt":"a","stop":[""]}`, 400, "stop", "empty"},
		{"stop long", "/v1/completions", `{"prompt":"a","stop":"` + strings.Repeat("a", 65) +
			`"}`, 400, "stop", "at most 64"},
		{"prompt type", "/v1/completions", `{"prompt":5}`, 400, "prompt", "string"},
		{"prompt list", "/v1/completions", `{"prompt":["a","b"]}`, 400, "prompt", "one"},
		{"prompt long", "/v1/completions", `{"prompt":"` + long + `"}`, 400, "prompt",
			"at most 50"},
		{"stream_options alone", "/v1/completions",
			`{"prompt":"a","stream_options":{"include_usage":true}}`, 400, "stream_options",
			"stream"},
		{"no messages", "/v1/chat/completions", `{"messages":[]}`, 400, "messages", "empty"},
		{"bad role", "/v1/chat/completions", `{"messages":[{"role":"robot","content":"a"}]}`,
			400, "messages[0].role", "robot"},
		{"image part", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400,
			"messages[0].content", "text"},
		{"chat too long", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"` + long + `"}]}`, 400, "messages",
			"at most 50"},
		{"unknown model", "/v1/completions", `{"model":"gpt-4","prompt":"a"}`, 404, "model",
			"gpt-4"},
		{"oversized", "/v1/completions", `{"prompt":"` + strings.Repeat("a", 5000) + `"}`,
			413, "", "4096 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, ts.URL+tc.path, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "body %s", body)
			e := errorOf(t, body)
			if tc.param == "" {
				assert.Nil(t, e.Param)
			} else if assert.NotNil(t, e.Param) {
				assert.Equal(t, tc.param, *e.Param)
			}
			assert.Contains(t, e.Message, tc.words)
			assert.NotEmpty(t, e.Type)
		})
	}
}

// TestFieldDefaultsAccepted checks that the fields OpenAI clients send at
// their default values are accepted and change nothing: greedy text with
// them equals greedy text without them.
func TestFieldDefaultsAccepted(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	cases := []struct {
		name, path, base, defaults string
	}{
		{"completions", "/v1/completions", `"prompt":"家人们"`,
			`"logit_bias":{},"best_of":1,"user":"u-42","suffix":null,"echo":false,` +
				`"logprobs":null,"presence_penalty":0,"frequency_penalty":0,"seed":9,` +
				`"stream_options":null,"stop":null`},
		{"empty suffix", "/v1/completions", `"prompt":"家人们"`, `"suffix":"","best_of":null`},
		{"chat", "/v1/chat/completions", `"messages":[{"role":"user","content":"家人们"}]`,
			`"logit_bias":{},"user":"u-42","logprobs":null,"presence_penalty":0,` +
				`"frequency_penalty":0,"seed":9,"stream_options":null`},
	}
	text := func(path, body string) string {
		t.Helper()
		resp, data := post(t, ts.URL+path, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", data)
		var c struct {
			Choices []struct {
				Text    string `json:"text"`
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal(data, &c))
		require.Len(t, c.Choices, 1)
		return c.Choices[0].Text + c.Choices[0].Message.Content
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			greedy := `"max_tokens":8,"temperature":0`
			plain := text(tc.path, "{"+tc.base+","+greedy+"}")
			require.NotEmpty(t, plain)
			withDefaults := text(tc.path, "{"+tc.base+","+greedy+","+tc.defaults+"}")
			assert.Equal(t, plain, withDefaults)
		})
	}
}

// TestStopStringOrArray checks that stop works as a string and as an
// array, streamed or not: greedy text ends just before the first match,
// with finish_reason "stop".
func TestStopStringOrArray(t *testing.T) {
	gen, _ := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	const req = `{"prompt":"今天","max_tokens":40,"temperature":0%s}`
	text := func(body string) (string, string) {
		t.Helper()
		resp, b := post(t, ts.URL+"/v1/completions", body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", b)
		var c completion
		require.NoError(t, json.Unmarshal(b, &c))
		require.Len(t, c.Choices, 1)
		return c.Choices[0].Text, *c.Choices[0].FinishReason
	}
	full, _ := text(fmt.Sprintf(req, ""))
	runes := []rune(full)
	require.Greater(t, len(runes), 8, "greedy text %q", full)
	// Two characters, so that a stream could leak the first before the
	// second shows that they form the stop string.
	stop := string(runes[6:8])
	want := full[:strings.Index(full, stop)]

	for _, field := range []string{quote(stop), `["不会出现的字符串",` + quote(stop) + `]`} {
		got, finish := text(fmt.Sprintf(req, `,"stop":`+field))
		assert.Equal(t, want, got, "stop %s", field)
		assert.Equal(t, "stop", finish, "stop %s", field)
	}

	// Streamed, no part of the stop string reaches the client either.
	chunks, _ := streamCompletion(t, ts.URL+"/v1/completions",
		fmt.Sprintf(req, `,"stream":true,"stop":`+quote(stop)))
	streamed, finish := "", ""
	for _, raw := range chunks {
		var c completion
		require.NoError(t, json.Unmarshal([]byte(raw), &c), "chunk %s", raw)
		require.Len(t, c.Choices, 1)
		streamed += c.Choices[0].Text
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
	}
	assert.Equal(t, want, streamed)
	assert.Equal(t, "stop", finish)
}

func TestGetEndpoints(t *testing.T) {
	gen, card := testModel(t)
	_, ts := newTestServer(t, gen, Options{Concurrency: 2, MaxQueue: 5})
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}

	resp, body := get("/v1/models")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var models struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &models))
	assert.Equal(t, "list", models.Object)
	require.Len(t, models.Data, 1)
	assert.Equal(t, "goushi-test", models.Data[0].ID)
	assert.Equal(t, "model", models.Data[0].Object)
	assert.Positive(t, models.Data[0].Created, "a card without a time gets the start time")

	resp, _ = get("/v1/models/goushi-test")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = get("/v1/models/other")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, body = get("/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var health map[string]any
	require.NoError(t, json.Unmarshal(body, &health))
	assert.Equal(t, "ok", health["status"])
	assert.Equal(t, 2.0, health["concurrency"])
	assert.Equal(t, 5.0, health["max_queue"])

	resp, body = get("/api/card")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var c map[string]any
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, float64(card.Step), c["step"])
	assert.Equal(t, card.Credits, c["credits"])
	assert.Equal(t, []any{"抽象", "宋词"}, c["styles"])
	cfg := c["config"].(map[string]any)
	assert.Equal(t, float64(card.VocabSize), cfg["vocab_size"])
	assert.Equal(t, float64(gen.Model.NumParams()), cfg["params"])
	assert.Len(t, c["loss_history"], 2)

	resp, _ = get("/api/loss.svg")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the test card has no loss.svg")

	resp, body = get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), `lang="zh-CN"`)
	assert.Contains(t, string(body), "/static/app.js")

	resp, body = get("/api")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "curl")
	assert.Contains(t, string(body), "/v1/chat/completions")

	resp, body = get("/static/app.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	assert.Contains(t, string(body), "/v1/completions")

	resp, _ = get("/nothing-here")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Under /v1/ a wrong method or path gets OpenAI's error schema.
	apiErr := func(resp *http.Response, body []byte) errorDetail {
		t.Helper()
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var e errorBody
		require.NoError(t, json.Unmarshal(body, &e), "body %s", body)
		return e.Error
	}
	resp, body = get("/v1/completions")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
	assert.Equal(t, "GET /v1/completions is not supported; use POST",
		apiErr(resp, body).Message)
	resp, body = post(t, ts.URL+"/v1/models", `{}`)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET", resp.Header.Get("Allow"))
	assert.Equal(t, "POST /v1/models is not supported; use GET", apiErr(resp, body).Message)
	resp, body = get("/v1/embeddings")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "no API route /v1/embeddings; see /api for the routes",
		apiErr(resp, body).Message)
}

func TestLossSVGServed(t *testing.T) {
	gen, card := testModel(t)
	card.LossSVG = []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)
	s := New(gen, card, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptestRecorder(s, "GET", "/api/loss.svg", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "image/svg+xml", rec.Header().Get("Content-Type"))
	assert.Equal(t, string(card.LossSVG), rec.Body.String())
}

func TestUTF8Tail(t *testing.T) {
	han := []byte("汉")   // e6 b1 89
	emoji := []byte("😀") // f0 9f 98 80
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"empty", nil, 0},
		{"ascii", []byte("ab"), 0},
		{"whole han", han, 0},
		{"han 1 of 3", han[:1], 1},
		{"han 2 of 3", append([]byte("a"), han[:2]...), 2},
		{"emoji 3 of 4", emoji[:3], 3},
		{"whole emoji", emoji, 0},
		{"lone continuation", []byte{0x80}, 0},
		{"invalid byte", []byte{'a', 0xff}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, utf8Tail(tc.in))
		})
	}
}

// httptestRecorder runs one request through h without a network.
func httptestRecorder(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec
}

func TestPromptLongerThanContext(t *testing.T) {
	gen, card := testModel(t)
	_, ts := newTestServer(t, gen, Options{})
	prompt := strings.Repeat("明月几时有，把酒问青天。", 20)
	require.Greater(t, gen.CountTokens(prompt), card.ContextLen)
	resp, body := post(t, ts.URL+"/v1/completions",
		`{"prompt":`+quote(prompt)+`,"max_tokens":5,"seed":2}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var c completion
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, gen.CountTokens(prompt), c.Usage.PromptTokens)
	assert.Positive(t, c.Usage.CompletionTokens)
}
