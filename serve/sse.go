package serve

import (
	"encoding/json"
	"net/http"
	"strings"
)

// sseWriter writes server-sent events and flushes after each one.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error // first write error; later writes are skipped
}

// newSSEWriter sends the event-stream headers at once, so that a client
// sees the response start while its request waits in the queue.
func newSSEWriter(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

// data sends v as one `data: {json}` event.
func (s *sseWriter) data(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write("data: " + string(b) + "\n\n")
}

// comment sends a comment line, which SSE clients ignore; the web page
// reads the queue position from it.
func (s *sseWriter) comment(text string) error {
	return s.write(": " + strings.ReplaceAll(text, "\n", " ") + "\n\n")
}

// done sends the terminating `data: [DONE]` event.
func (s *sseWriter) done() error { return s.write("data: [DONE]\n\n") }

func (s *sseWriter) write(text string) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write([]byte(text)); err != nil {
		s.err = err
		return err
	}
	return s.flush()
}

func (s *sseWriter) flush() error {
	if err := s.rc.Flush(); err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}
