package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueFIFOAndPositions(t *testing.T) {
	q := newQueue(1, 2)
	a, err := q.enter()
	require.NoError(t, err)
	require.NoError(t, a.wait(t.Context(), nil), "a free slot runs at once")

	b, err := q.enter()
	require.NoError(t, err)
	c, err := q.enter()
	require.NoError(t, err)
	_, err = q.enter()
	assert.ErrorIs(t, err, errQueueFull, "a third waiter exceeds maxWait 2")
	assert.Equal(t, 1, <-b.position)
	assert.Equal(t, 2, <-c.position)

	// b gives up its place: c moves to position 1.
	b.leave()
	assert.Equal(t, 1, <-c.position)

	// a finishes: c runs.
	a.leave()
	a.leave() // a second leave changes nothing
	require.NoError(t, c.wait(t.Context(), nil))
	running, waiting := q.stats()
	assert.Equal(t, 1, running)
	assert.Equal(t, 0, waiting)
	c.leave()
	running, _ = q.stats()
	assert.Equal(t, 0, running)
}

func TestQueueWaitCancelled(t *testing.T) {
	q := newQueue(1, 1)
	a, _ := q.enter()
	b, err := q.enter()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var seen []int
	done := make(chan error)
	go func() { done <- b.wait(ctx, func(p int) { seen = append(seen, p) }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, []int{1}, seen)
	b.leave()
	_, waiting := q.stats()
	assert.Equal(t, 0, waiting, "a cancelled waiter leaves the line")
	a.leave()
}

func TestFullQueueGets429(t *testing.T) {
	model, _ := testModel(t)
	gen := newGated(model)
	s, ts := newTestServer(t, gen, Options{Concurrency: 1, MaxQueue: 1})

	// The first request runs and blocks on the gate.
	first := make(chan []byte, 1)
	go func() {
		_, body := post(t, ts.URL+"/v1/completions", `{"prompt":"a","max_tokens":3}`)
		first <- body
	}()
	<-gen.started

	// The second waits in line and streams its position.
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"b","max_tokens":3,"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	line := make([]byte, len(": queue-position 1\n\n"))
	_, err = readFull(resp.Body, line)
	require.NoError(t, err)
	assert.Equal(t, ": queue-position 1\n\n", string(line))

	// The third finds the line full.
	r3, body := post(t, ts.URL+"/v1/completions", `{"prompt":"c","max_tokens":3}`)
	assert.Equal(t, http.StatusTooManyRequests, r3.StatusCode)
	assert.NotEmpty(t, r3.Header.Get("Retry-After"))
	e := errorOf(t, body)
	assert.Equal(t, "rate_limit_error", e.Type)
	assert.Contains(t, e.Message, "queue is full")
	r4, _ := post(t, ts.URL+"/v1/chat/completions",
		`{"messages":[{"role":"user","content":"d"}],"stream":true}`)
	assert.Equal(t, http.StatusTooManyRequests, r4.StatusCode, "streams are rejected too")

	close(gen.gate)
	var c completion
	require.NoError(t, json.Unmarshal(<-first, &c))
	assert.Len(t, c.Choices, 1)
	events := readSSE(t, resp.Body)
	require.NotEmpty(t, events)
	assert.Equal(t, "[DONE]", events[len(events)-1].data)
	running, waiting := s.queue.stats()
	assert.Equal(t, 0, running)
	assert.Equal(t, 0, waiting)
}

func readFull(r interface{ Read([]byte) (int, error) }, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestDisconnectCancelsGeneration(t *testing.T) {
	model, _ := testModel(t)
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "stream"}[stream], func(t *testing.T) {
			gen := &pacedGenerator{Generator: model, delay: 20 * time.Millisecond,
				cancel: make(chan struct{})}
			s, ts := newTestServer(t, gen, Options{Concurrency: 1})
			ctx, cancel := context.WithCancel(t.Context())
			body := `{"prompt":"今天","max_tokens":1000,"stream":` +
				map[bool]string{false: "false", true: "true"}[stream] + `}`
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
				strings.NewReader(body))
			errc := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_, err = readFull(resp.Body, make([]byte, 1<<20))
					resp.Body.Close()
				}
				errc <- err
			}()
			require.Eventually(t, func() bool {
				running, _ := s.queue.stats()
				return running == 1
			}, 5*time.Second, 5*time.Millisecond)
			time.Sleep(100 * time.Millisecond)
			cancel()
			assert.Error(t, <-errc)
			select {
			case <-gen.cancel:
			case <-time.After(5 * time.Second):
				t.Fatal("the generation went on after the client left")
			}
			require.Eventually(t, func() bool {
				running, _ := s.queue.stats()
				return running == 0
			}, 5*time.Second, 5*time.Millisecond, "the slot was not freed")
		})
	}
}

func TestRequestLogLine(t *testing.T) {
	model, _ := testModel(t)
	var buf syncBuffer
	_, ts := newTestServer(t, model, Options{
		Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	resp, body := post(t, ts.URL+"/v1/completions", `{"prompt":"我","max_tokens":7,"seed":1}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var c completion
	require.NoError(t, json.Unmarshal(body, &c))
	post(t, ts.URL+"/v1/completions", `{"prompt":1}`)

	var lines []map[string]any
	require.Eventually(t, func() bool {
		lines = lines[:0]
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				lines = append(lines, m)
			}
		}
		return len(lines) == 2
	}, 2*time.Second, 5*time.Millisecond)
	ok, bad := lines[0], lines[1]
	assert.Equal(t, resp.Header.Get("X-Request-Id"), ok["id"])
	assert.Equal(t, 200.0, ok["status"])
	assert.Equal(t, float64(c.Usage.CompletionTokens), ok["tokens"])
	assert.Equal(t, "/v1/completions", ok["path"])
	assert.Positive(t, ok["duration"])
	assert.Equal(t, 400.0, bad["status"])
	assert.Equal(t, 0.0, bad["tokens"])
	assert.NotEqual(t, ok["id"], bad["id"])
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestGracefulShutdown(t *testing.T) {
	model, card := testModel(t)
	gen := newGated(model)
	s := New(gen, card, Options{Concurrency: 1, ShutdownTimeout: 5 * time.Second,
		Logger: discardLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	inflight := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(url+"/v1/completions", "application/json",
			strings.NewReader(`{"prompt":"大江","max_tokens":5,"stream":true}`))
		if err != nil {
			t.Error(err)
			close(inflight)
			return
		}
		inflight <- resp
	}()
	<-gen.started
	stop()
	require.Eventually(t, s.draining.Load, 2*time.Second, time.Millisecond)

	// New generations get 503 while the running one may finish.
	rec := httptestRecorder(s, "POST", "/v1/completions", `{"prompt":"x"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	rec = httptestRecorder(s, "GET", "/healthz", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)

	close(gen.gate)
	resp := <-inflight
	require.NotNil(t, resp)
	events := readSSE(t, resp.Body)
	resp.Body.Close()
	require.NotEmpty(t, events)
	assert.Equal(t, "[DONE]", events[len(events)-1].data, "the running request finished")
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	assert.Equal(t, []error{nil}, gen.endings(), "the generation ran to its end")
}

func TestShutdownTimeoutCancels(t *testing.T) {
	model, card := testModel(t)
	gen := newGated(model) // the gate never opens
	s := New(gen, card, Options{Concurrency: 1, ShutdownTimeout: 200 * time.Millisecond,
		Logger: discardLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/v1/completions",
			"application/json", strings.NewReader(`{"prompt":"x","stream":true}`))
		if err == nil {
			readFull(resp.Body, make([]byte, 1<<16))
			resp.Body.Close()
		}
	}()
	<-gen.started
	stop()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
	require.Eventually(t, func() bool { return len(gen.endings()) == 1 }, 2*time.Second,
		time.Millisecond)
	assert.True(t, errors.Is(gen.endings()[0], context.Canceled),
		"the generation was not cancelled: %v", gen.endings())
}

// TestRetryAfter checks the estimate: the moving average of past
// durations times the requests ahead, per slot, rounded up to seconds.
func TestRetryAfter(t *testing.T) {
	model, card := testModel(t)
	s := New(model, card, Options{Concurrency: 2, MaxQueue: 4, Logger: discardLogger()})
	assert.Equal(t, "3", s.retryAfter(), "the first guess: 5 s for 1 request on 2 slots")

	s.recordDuration(3 * time.Second) // replaces the guess
	assert.Equal(t, "2", s.retryAfter(), "3 s for 1 request on 2 slots")
	s.recordDuration(8 * time.Second) // 0.8*3 + 0.2*8 = 4
	assert.Equal(t, "2", s.retryAfter(), "4 s for 1 request on 2 slots")

	// Three waiting requests: 4 s for 4 requests on 2 slots.
	for range 2 {
		_, err := s.queue.enter()
		require.NoError(t, err)
	}
	for range 3 {
		_, err := s.queue.enter()
		require.NoError(t, err)
	}
	assert.Equal(t, "8", s.retryAfter())

	s.recordDuration(10 * time.Millisecond) // 0.8*4 + 0.2*0.01 = 3.202
	assert.Equal(t, "7", s.retryAfter(), "3.202 s for 4 requests on 2 slots is 6.4 s")
}
