package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// job is one validated generation request.
type job struct {
	chat         bool
	id           string
	created      int64
	prompt       string
	params       Params
	stream       bool
	includeUsage bool
	logprobs     bool // report the chosen token's log-probability
	echo         bool // completions only: prefix the prompt to the text
}

// sampleState accumulates one sample's output.
type sampleState struct {
	text    []byte // all text sent or to send
	sent    int    // bytes of text already streamed
	tokens  int
	finish  string
	logText textLogprobs
	logChat []chatTokenLogprob
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if e := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); e != nil {
		s.writeError(w, r, e)
		return
	}
	j, e := s.completionJob(&req)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.run(w, r, j)
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if e := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); e != nil {
		s.writeError(w, r, e)
		return
	}
	j, e := s.chatJob(&req)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.run(w, r, j)
}

func (s *Server) completionJob(req *completionRequest) (*job, *apiError) {
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	prompt, e := parsePrompt(req.Prompt, s.lim)
	if e != nil {
		return nil, e
	}

	if req.BestOf != nil && *req.BestOf != 1 {
		return nil, invalid("best_of", "best_of %d is not supported; leave it out or "+
			"send 1, and use n for more completions", *req.BestOf)
	}
	if req.Suffix != nil && *req.Suffix != "" {
		return nil, invalid("suffix", "suffix is not supported: the model only "+
			"continues the prompt; leave it out or send null")
	}
	p, e := req.params(s.lim, s.card.Styles, req.MaxTokens, "max_tokens")
	if e != nil {
		return nil, e
	}

	j := &job{
		id:      newID("cmpl-"),
		created: time.Now().Unix(),
		prompt:  prompt,
		params:  p,
		stream:  req.Stream,
		echo:    req.Echo,
	}
	if req.Logprobs != nil {
		n := *req.Logprobs
		if n < 0 || n > s.lim.maxAlts {
			return nil, invalid("logprobs", "logprobs is %d; it must be between 0 and %d",
				n, s.lim.maxAlts)
		}
		j.logprobs = true
		j.params.TopAlternatives = n
	}
	if req.Echo && j.logprobs {
		return nil, invalid("echo", "echo together with logprobs is not supported; "+
			"drop one of them")
	}
	if e := s.streamOptions(j, req.StreamOptions); e != nil {
		return nil, e
	}
	return j, nil
}

func (s *Server) chatJob(req *chatRequest) (*job, *apiError) {
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	prompt, e := chatPrompt(req.Messages, s.lim)
	if e != nil {
		return nil, e
	}
	maxTokens, name := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		if req.MaxTokens != nil {
			return nil, invalid("max_completion_tokens", "max_tokens and "+
				"max_completion_tokens are both set; send only max_completion_tokens")
		}
		maxTokens, name = req.MaxCompletionTokens, "max_completion_tokens"
	}
	p, e := req.params(s.lim, s.card.Styles, maxTokens, name)
	if e != nil {
		return nil, e
	}
	j := &job{
		chat:     true,
		id:       newID("chatcmpl-"),
		created:  time.Now().Unix(),
		prompt:   prompt,
		params:   p,
		stream:   req.Stream,
		logprobs: req.Logprobs,
	}
	if req.TopLogprobs != nil {
		n := *req.TopLogprobs
		if !req.Logprobs {
			return nil, invalid("top_logprobs", "top_logprobs needs logprobs set to true")
		}
		if n < 0 || n > s.lim.maxAlts {
			return nil, invalid("top_logprobs", "top_logprobs is %d; it must be between 0 "+
				"and %d", n, s.lim.maxAlts)
		}
		j.params.TopAlternatives = n
	}
	if e := s.streamOptions(j, req.StreamOptions); e != nil {
		return nil, e
	}
	return j, nil
}

func (s *Server) streamOptions(j *job, o *streamOptions) *apiError {
	if o == nil {
		return nil
	}
	if !j.stream {
		return invalid("stream_options", "stream_options needs stream set to true")
	}
	j.includeUsage = o.IncludeUsage
	return nil
}

// checkModel accepts an empty model name or the served model's id.
func (s *Server) checkModel(name string) *apiError {
	if name == "" || name == s.card.ID {
		return nil
	}
	return &apiError{
		Status: http.StatusNotFound,
		Type:   "invalid_request_error",
		Param:  "model",
		Code:   "model_not_found",
		Message: fmt.Sprintf("model %q is not served here; use %q or leave model out",
			name, s.card.ID),
	}
}

// run queues j, generates, and writes the response in the job's format.
func (s *Server) run(w http.ResponseWriter, r *http.Request, j *job) {
	if err := s.gen.Validate(j.params); err != nil {
		s.writeError(w, r, invalid("", "%v", err))
		return
	}
	if s.draining.Load() {
		w.Header().Set("Retry-After", s.retryAfter())
		s.writeError(w, r, &apiError{
			Status:  http.StatusServiceUnavailable,
			Type:    "server_error",
			Message: errDraining.Error() + "; retry against the restarted server",
		})
		return
	}
	t, err := s.queue.enter()
	if errors.Is(err, errQueueFull) {
		w.Header().Set("Retry-After", s.retryAfter())
		s.writeError(w, r, &apiError{
			Status: http.StatusTooManyRequests,
			Type:   "rate_limit_error",
			Message: fmt.Sprintf("the queue is full (%d running, %d waiting); retry after "+
				"the time in the Retry-After header", s.opts.Concurrency, s.opts.MaxQueue),
		})
		return
	}
	defer t.leave()

	ctx := r.Context()
	rl := logOf(ctx)
	var sse *sseWriter
	if j.stream {
		sse = newSSEWriter(w)
	}
	err = t.wait(ctx, func(pos int) {
		if sse != nil {
			sse.comment(fmt.Sprintf("queue-position %d", pos))
		}
	})
	if err != nil {
		rl.canceled.Store(true)
		return
	}

	start := time.Now()
	samples, err := s.generate(ctx, j, sse)
	s.recordDuration(time.Since(start))
	for _, st := range samples {
		rl.tokens.Add(int64(st.tokens))
	}
	clientGone := ctx.Err() != nil || (sse != nil && sse.err != nil)
	switch {
	case err != nil && clientGone:
		rl.canceled.Store(true)
	case err != nil && sse != nil:
		s.log.Error("generation failed", "id", rl.id, "err", err)
		sse.data(errorBody{Error: errorDetail{Message: "generation failed: " + err.Error(),
			Type: "server_error"}})
		sse.done()
	case err != nil:
		s.log.Error("generation failed", "id", rl.id, "err", err)
		s.writeError(w, r, &apiError{Status: http.StatusInternalServerError,
			Type: "server_error", Message: "generation failed: " + err.Error()})
	case sse != nil:
		if j.includeUsage {
			s.writeChunk(sse, j, -1, "", nil, 0, "", s.usage(j, samples))
		}
		sse.done()
	default:
		s.writeFinal(w, j, samples)
	}
}

// generate runs the model and streams chunks to sse when it is not nil.
func (s *Server) generate(ctx context.Context, j *job, sse *sseWriter) ([]*sampleState,
	error) {

	samples := make([]*sampleState, j.params.N)
	for i := range samples {
		samples[i] = &sampleState{}
		if j.echo {
			samples[i].text = []byte(j.prompt)
		}
	}
	if sse != nil && j.chat {
		for i := range samples {
			s.writeChunk(sse, j, i, "", nil, 0, "", nil)
		}
	}

	for ev, err := range s.gen.Generate(ctx, j.prompt, j.params) {
		if err != nil {
			return samples, err
		}
		if ev.Sample < 0 || ev.Sample >= len(samples) {
			return samples, fmt.Errorf("generator sent sample %d of %d", ev.Sample,
				len(samples))
		}
		st := samples[ev.Sample]
		st.tokens++
		offset := len(st.text) // where ev.Text starts in the sample's text
		st.text = append(st.text, ev.Text...)
		var tok *Event
		if j.logprobs {
			tok = &ev
			st.addLogprob(j.chat, ev, offset)
		}
		if ev.Done {
			st.finish = ev.FinishReason
			if st.finish == "" {
				st.finish = "length"
			}
		}
		if sse == nil {
			continue
		}
		// Hold back an unfinished UTF-8 character: encoding/json would
		// turn its bytes into U+FFFD.
		end := len(st.text)
		if !ev.Done {
			end -= utf8Tail(st.text)
		}
		delta := string(st.text[st.sent:end])
		st.sent = end
		if delta == "" && tok == nil && !ev.Done {
			continue
		}
		err := s.writeChunk(sse, j, ev.Sample, delta, tok, offset, st.finish, nil)
		if err != nil {
			return samples, err
		}
	}
	for _, st := range samples {
		if st.finish == "" {
			st.finish = "length"
		}
	}
	return samples, nil
}

// addLogprob records ev in the job's logprobs format; offset is where
// ev.Text starts in the sample's text.
func (st *sampleState) addLogprob(chat bool, ev Event, offset int) {
	if chat {
		top := make([]chatTopLogprob, len(ev.Top))
		for i, a := range ev.Top {
			top[i] = chatTopLogprob{Token: a.Text, Logprob: logprob(a.Prob),
				Bytes: tokenBytes(a.Bytes, a.Text)}
		}
		st.logChat = append(st.logChat, chatTokenLogprob{Token: ev.Text,
			Logprob: logprob(ev.Prob), Bytes: tokenBytes(ev.Bytes, ev.Text), TopLogprobs: top})
		return
	}
	top := make(map[string]float64, len(ev.Top))
	for _, a := range ev.Top {
		if _, dup := top[a.Text]; !dup {
			top[a.Text] = logprob(a.Prob)
		}
	}
	st.logText.Tokens = append(st.logText.Tokens, ev.Text)
	st.logText.TokenLogprobs = append(st.logText.TokenLogprobs, logprob(ev.Prob))
	st.logText.TopLogprobs = append(st.logText.TopLogprobs, top)
	st.logText.TextOffset = append(st.logText.TextOffset, offset)
}

func (s *Server) usage(j *job, samples []*sampleState) *usage {
	u := &usage{PromptTokens: s.gen.CountTokens(j.prompt)}
	for _, st := range samples {
		u.CompletionTokens += st.tokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// writeChunk sends one streamed chunk for sample i: a text delta, the
// logprobs of tok, whose text starts at byte tokOffset of the sample's
// text, and finish when the sample ends. A negative i sends a chunk
// without choices that carries u.
func (s *Server) writeChunk(sse *sseWriter, j *job, i int, delta string, tok *Event,
	tokOffset int, finish string, u *usage) error {

	var reason *string
	if finish != "" {
		reason = &finish
	}
	if j.chat {
		c := chatCompletion{ID: j.id, Object: "chat.completion.chunk", Created: j.created,
			Model: s.card.ID, Choices: []chatChoice{}, Usage: u}
		if i >= 0 {
			ch := chatChoice{Index: i, Delta: &chatReply{}, FinishReason: reason}
			if delta == "" && tok == nil && finish == "" {
				// The first chunk of each sample names the role.
				ch.Delta.Role = "assistant"
				empty := ""
				ch.Delta.Content = &empty
			} else if delta != "" || tok != nil {
				ch.Delta.Content = &delta
			}
			if tok != nil {
				var st sampleState
				st.addLogprob(true, *tok, 0)
				ch.Logprobs = &chatLogprobs{Content: st.logChat}
			}
			c.Choices = append(c.Choices, ch)
		}
		if u == nil && j.includeUsage {
			return sse.data(chatChunk{chatCompletion: c})
		}
		return sse.data(c)
	}

	c := completion{ID: j.id, Object: "text_completion", Created: j.created,
		Model: s.card.ID, Choices: []completionChoice{}, Usage: u}
	if i >= 0 {
		ch := completionChoice{Index: i, Text: delta, FinishReason: reason}
		if tok != nil {
			var st sampleState
			st.addLogprob(false, *tok, tokOffset)
			ch.Logprobs = &st.logText
		}
		c.Choices = append(c.Choices, ch)
	}
	if u == nil && j.includeUsage {
		return sse.data(completionChunk{completion: c})
	}
	return sse.data(c)
}

// writeFinal sends the whole non-streamed response.
func (s *Server) writeFinal(w http.ResponseWriter, j *job, samples []*sampleState) {
	u := s.usage(j, samples)
	if j.chat {
		c := chatCompletion{ID: j.id, Object: "chat.completion", Created: j.created,
			Model: s.card.ID, Usage: u}
		for i, st := range samples {
			text := string(st.text)
			ch := chatChoice{Index: i, Message: &chatReply{Role: "assistant", Content: &text},
				FinishReason: &st.finish}
			if j.logprobs {
				ch.Logprobs = &chatLogprobs{Content: st.logChat}
				if ch.Logprobs.Content == nil {
					ch.Logprobs.Content = []chatTokenLogprob{}
				}
			}
			c.Choices = append(c.Choices, ch)
		}
		writeJSON(w, http.StatusOK, c)
		return
	}
	c := completion{ID: j.id, Object: "text_completion", Created: j.created,
		Model: s.card.ID, Usage: u}
	for i, st := range samples {
		ch := completionChoice{Index: i, Text: string(st.text), FinishReason: &st.finish}
		if j.logprobs {
			ch.Logprobs = &st.logText
		}
		c.Choices = append(c.Choices, ch)
	}
	writeJSON(w, http.StatusOK, c)
}
