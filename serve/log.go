package serve

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// requestLog collects what the per-request log line reports. Handlers
// reach it through the request's context.
type requestLog struct {
	id       string
	tokens   atomic.Int64
	canceled atomic.Bool
	err      string // message of the error response, if any
}

type logKey struct{}

// logOf returns the request's log record, or a throwaway one when the
// handler runs outside Server.logged (as in a direct handler call).
func logOf(ctx context.Context) *requestLog {
	if rl, ok := ctx.Value(logKey{}).(*requestLog); ok {
		return rl
	}
	return &requestLog{}
}

// statusWriter records the status code and passes Flush through.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged wraps next so that every request gets an id (echoed in the
// X-Request-Id header) and one log line with its status, duration and
// the number of tokens generated.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rl := &requestLog{id: newID("req-")}
		w.Header().Set("X-Request-Id", rl.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), logKey{}, rl)))

		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("id", rl.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int64("tokens", rl.tokens.Load()),
			slog.Int64("bytes", sw.bytes),
		}
		if rl.canceled.Load() {
			attrs = append(attrs, slog.Bool("canceled", true))
		}
		if rl.err != "" {
			attrs = append(attrs, slog.String("error", rl.err))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
