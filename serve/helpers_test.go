package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// newTestServer serves the test model with opts through httptest.
func newTestServer(t *testing.T, gen Generator, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	_, card := testModel(t)
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	s := New(gen, card, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// post sends body as JSON and returns the response with its body read.
func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response of %s: %v", url, err)
	}
	return resp, b
}

// sseEvent is one server-sent event: a data payload or a comment.
type sseEvent struct {
	data    string
	comment string
}

// readSSE splits an event stream into its events, checking the framing.
func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var events []sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "data: "):
			events = append(events, sseEvent{data: strings.TrimPrefix(line, "data: ")})
		case strings.HasPrefix(line, ": "):
			events = append(events, sseEvent{comment: strings.TrimPrefix(line, ": ")})
		default:
			t.Fatalf("unexpected event-stream line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the event stream: %v", err)
	}
	return events
}

// errorOf decodes an OpenAI error body.
func errorOf(t *testing.T, body []byte) errorDetail {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s is not OpenAI's error schema: %v", body, err)
	}
	return e.Error
}

// gatedGenerator holds every generation until the gate is closed, so that
// tests can fill the queue, and records how each generation ended.
type gatedGenerator struct {
	Generator
	gate    chan struct{}
	started chan struct{} // receives once per generation that starts
	mu      sync.Mutex
	ended   []error // ctx.Err() at the end of each generation
}

func newGated(g Generator) *gatedGenerator {
	return &gatedGenerator{Generator: g, gate: make(chan struct{}),
		started: make(chan struct{}, 64)}
}

func (g *gatedGenerator) Generate(ctx context.Context, prompt string,
	p Params) iter.Seq2[Event, error] {

	return func(yield func(Event, error) bool) {
		g.started <- struct{}{}
		defer func() {
			g.mu.Lock()
			g.ended = append(g.ended, ctx.Err())
			g.mu.Unlock()
		}()
		select {
		case <-g.gate:
		case <-ctx.Done():
			yield(Event{}, ctx.Err())
			return
		}
		for ev, err := range g.Generator.Generate(ctx, prompt, p) {
			if !yield(ev, err) {
				return
			}
		}
	}
}

func (g *gatedGenerator) endings() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.ended...)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newLineScanner returns a scanner of r's lines with room for long ones.
func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return sc
}
