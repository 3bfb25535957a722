package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/goushi/goushi/gpt"
	"github.com/goushi/goushi/tensor"
)

// loadResult sums up one round of concurrent streaming clients.
type loadResult struct {
	completed  int
	rejected   int             // 429 or 503 with Retry-After
	failures   []string        // anything else
	firstToken []time.Duration // request sent to first data chunk, completed requests
	total      []time.Duration // request sent to [DONE], completed requests
	tokens     int             // completion tokens, from the usage chunks
}

// runLoad starts clients streaming requests at once, client i sending
// body(i), and waits for all of them, each bounded by timeout.
func runLoad(t testing.TB, client *http.Client, url string, body func(i int) string,
	clients int, timeout time.Duration) loadResult {

	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		res.failures = append(res.failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	start := make(chan struct{})
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "POST", url,
				strings.NewReader(body(i)))
			if err != nil {
				fail("request: %v", err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			<-start
			sent := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				fail("client %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				if resp.Header.Get("Retry-After") == "" {
					fail("client %d: %d without Retry-After", i, resp.StatusCode)
					return
				}
				mu.Lock()
				res.rejected++
				mu.Unlock()
				return
			default:
				fail("client %d: status %d", i, resp.StatusCode)
				return
			}

			var first time.Duration
			chunks, tokens, done := 0, 0, false
			sc := newLineScanner(resp.Body)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "data: ") {
					continue
				}
				if line == "data: [DONE]" {
					done = true
					break
				}
				var chunk struct {
					Usage *usage       `json:"usage"`
					Error *errorDetail `json:"error"`
				}
				if err := json.Unmarshal([]byte(line[len("data: "):]), &chunk); err != nil ||
					chunk.Error != nil {
					fail("client %d: chunk %s (%v)", i, line, err)
					return
				}
				if chunk.Usage != nil {
					tokens += chunk.Usage.CompletionTokens
					continue
				}
				if chunks == 0 {
					first = time.Since(sent)
				}
				chunks++
			}
			if !done {
				fail("client %d: stream ended without [DONE] (%v)", i, sc.Err())
				return
			}
			mu.Lock()
			res.completed++
			res.tokens += tokens
			res.firstToken = append(res.firstToken, first)
			res.total = append(res.total, time.Since(sent))
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return res
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	assert.Equal(t, time.Duration(5), percentile(ds, 50))
	assert.Equal(t, time.Duration(10), percentile(ds, 95))
	assert.Equal(t, time.Duration(1), percentile(ds, 1))
	assert.Equal(t, time.Duration(0), percentile(nil, 50))
}

// TestLoad32Clients sends 32 concurrent streams at a server that runs 2
// and queues 8: every request must complete or get a clean 429, and the
// goroutines must return to their baseline once the server closes.
func TestLoad32Clients(t *testing.T) {
	model, card := testModel(t)
	// Start the tensor worker pool, which lives for the whole process, so
	// that its goroutines are part of the baseline.
	tensor.Parallel(64, func(lo, hi int) {})
	baseline := runtime.NumGoroutine()

	// The generations wait at a gate until all 32 requests have arrived
	// and 22 have got their 429, so that the line overflows however fast
	// the model is.
	gen := newGated(model)
	s := New(gen, card, Options{Concurrency: 2, MaxQueue: 8, Logger: discardLogger()})
	var arrived, finished atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		defer finished.Add(1)
		s.ServeHTTP(w, r)
	}))
	go func() {
		for arrived.Load() < 32 || arrived.Load()-finished.Load() > 2+8 {
			time.Sleep(time.Millisecond)
		}
		close(gen.gate)
	}()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: transport}

	res := runLoad(t, client, ts.URL+"/v1/completions", func(i int) string {
		return fmt.Sprintf(`{"prompt":"家人们","max_tokens":16,"stream":true,"style":"抽象",`+
			`"seed":%d}`, i)
	}, 32, 60*time.Second)
	assert.Empty(t, res.failures)
	assert.Equal(t, 2+8, res.completed, "the running and queued requests complete")
	assert.Equal(t, 32-2-8, res.rejected, "the others get 429")
	t.Logf("completed %d, rejected %d, p50 %v, p95 %v", res.completed, res.rejected,
		percentile(res.total, 50), percentile(res.total, 95))

	// A second round after the first drained: the queue is empty again.
	res = runLoad(t, client, ts.URL+"/v1/chat/completions", func(int) string {
		return `{"messages":[{"role":"user","content":"明月"}],"max_tokens":8,"stream":true}`
	}, 4, 60*time.Second)
	assert.Empty(t, res.failures)
	assert.Equal(t, 4, res.completed)

	transport.CloseIdleConnections()
	ts.Close()
	running, waiting := s.queue.stats()
	assert.Equal(t, 0, running)
	assert.Equal(t, 0, waiting)
	// Poll in this goroutine: assert.Eventually runs its own goroutines.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines remain; the baseline was %d:\n%s", n, baseline,
			buf[:runtime.Stack(buf, true)])
	}
}

// BenchmarkLoad32Streams measures the latency of 32 concurrent streaming
// clients on loopback, all admitted to the queue, each asking for 64
// tokens. It reports the p50 and p95 of the time to the first token and
// to [DONE], and the served tokens/s.
//
// The model has the small preset's shape (4 layers, 4 heads, embd 256,
// context 128) with random weights and the test tokenizer's vocab, or is
// the checkpoint in $GOUSHI_CHECKPOINT. Concurrency is the server's
// default for this machine unless $GOUSHI_CONCURRENCY is set.
func BenchmarkLoad32Streams(b *testing.B) {
	var gen Generator
	var card Card
	if dir := os.Getenv("GOUSHI_CHECKPOINT"); dir != "" {
		ck, err := gpt.LoadCheckpoint(dir)
		if err != nil {
			b.Fatal(err)
		}
		gen, card = FromCheckpoint(ck)
	} else {
		fixture, fixtureCard := testModel(b)
		cfg, _ := gpt.Preset("small")
		cfg.VocabSize = fixture.Tokenizer.VocabSize()
		cfg.Styles = fixtureStyles
		gen = &ModelGenerator{Model: gpt.New(cfg, 1), Tokenizer: fixture.Tokenizer}
		card = fixtureCard
	}
	concurrency := 0
	if v := os.Getenv("GOUSHI_CONCURRENCY"); v != "" {
		fmt.Sscan(v, &concurrency)
	}
	const clients = 32
	s := New(gen, card, Options{Concurrency: concurrency, MaxQueue: clients,
		Logger: discardLogger()})
	ts := httptest.NewServer(s)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	body := func(i int) string {
		return fmt.Sprintf(`{"prompt":"家人们谁懂啊","max_tokens":64,"stream":true,`+
			`"temperature":0.8,"seed":%d,"stream_options":{"include_usage":true}}`, i)
	}

	var all loadResult
	var elapsed time.Duration
	requests := 0
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res := runLoad(b, client, ts.URL+"/v1/completions", body, clients, 10*time.Minute)
		elapsed += time.Since(start)
		if len(res.failures) > 0 || res.completed != clients {
			b.Fatalf("completed %d of %d: %v", res.completed, clients, res.failures)
		}
		all.firstToken = append(all.firstToken, res.firstToken...)
		all.total = append(all.total, res.total...)
		all.tokens += res.tokens
		requests += res.completed
	}
	b.ReportMetric(percentile(all.firstToken, 50).Seconds()*1000, "p50-first-ms")
	b.ReportMetric(percentile(all.firstToken, 95).Seconds()*1000, "p95-first-ms")
	b.ReportMetric(percentile(all.total, 50).Seconds()*1000, "p50-total-ms")
	b.ReportMetric(percentile(all.total, 95).Seconds()*1000, "p95-total-ms")
	b.ReportMetric(float64(all.tokens)/elapsed.Seconds(), "tokens/s")
	b.ReportMetric(float64(all.tokens)/float64(requests), "tokens/request")
	b.ReportMetric(float64(s.opts.Concurrency), "concurrency")
}
