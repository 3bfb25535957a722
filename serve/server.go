package serve

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. Zero fields take the defaults listed.
type Options struct {
	// Concurrency is how many generations run at once. The default is one
	// per two CPUs and at least one, because each generation already
	// spreads its matmuls over the cores.
	Concurrency int
	// MaxQueue is how many requests may wait for a free slot, and more get
	// 429 with Retry-After. The default is 16.
	MaxQueue int
	// MaxBodyBytes limits a request body. The default is 64 KiB.
	MaxBodyBytes int64
	// MaxPromptRunes limits a prompt in characters. The default is 4000.
	MaxPromptRunes int
	// MaxNewTokens is the largest max_tokens a request may ask for. The
	// default is 1024.
	MaxNewTokens int
	// MaxSamples is the largest n a request may ask for. The default is 4.
	MaxSamples int
	// ShutdownTimeout is how long Serve lets running requests finish after
	// its context ends before it cancels them. The default is 10 s.
	ShutdownTimeout time.Duration
	// Logger receives one line per request. The default is slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = max(1, runtime.NumCPU()/2)
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 16
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.MaxPromptRunes <= 0 {
		o.MaxPromptRunes = 4000
	}
	if o.MaxNewTokens <= 0 {
		o.MaxNewTokens = 1024
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = 4
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Server serves the web page and the API for one model. Create it with
// New. It is an http.Handler.
type Server struct {
	gen     Generator
	card    Card
	opts    Options
	lim     limits
	queue   *queue
	handler http.Handler // the routes wrapped in the request log
	log     *slog.Logger

	// base is the parent context of every generation. Cancelling it stops
	// them all when a graceful shutdown runs out of time.
	base     context.Context
	cancel   context.CancelFunc
	draining atomic.Bool

	mu      sync.Mutex
	avgSecs float64 // moving average of a generation's duration, for Retry-After
	timed   bool    // avgSecs is a measured duration, not the first guess
}

// New returns a server for gen, described by card.
func New(gen Generator, card Card, opts Options) *Server {
	opts = opts.withDefaults()
	if card.ID == "" {
		card.ID = "goushi"
	}
	if card.Created.IsZero() {
		card.Created = time.Now()
	}
	s := &Server{
		gen:   gen,
		card:  card,
		opts:  opts,
		queue: newQueue(opts.Concurrency, opts.MaxQueue),
		log:   opts.Logger,
		lim: limits{
			maxPromptRunes: opts.MaxPromptRunes,
			maxNewTokens:   opts.MaxNewTokens,
			maxSamples:     opts.MaxSamples,
			maxStops:       4,
			maxStopBytes:   64,
			maxAlts:        20,
			contextLen:     card.ContextLen,
		},
		avgSecs: 5,
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{id}", s.handleModel)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /api/card", s.handleCard)
	mux.HandleFunc("GET /api/loss.svg", s.handleLossSVG)
	mux.HandleFunc("/v1/", s.handleNoRoute)
	s.staticRoutes(mux)
	s.handler = s.logged(mux)
}

// ServeHTTP logs the request and passes it to the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully. It stops accepting, rejects new generation requests with
// 503, and waits up to Options.ShutdownTimeout for running requests
// before it cancels them. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	select {
	case err := <-errc:
		s.cancel()
		return err
	case <-ctx.Done():
	}

	s.draining.Store(true)
	running, waiting := s.queue.stats()
	s.log.Info("shutting down", "running", running, "waiting", waiting,
		"timeout", s.opts.ShutdownTimeout)
	sctx, stop := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer stop()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown timed out; cancelling the running requests", "err", err)
		s.cancel()
		hs.Close()
	}
	s.cancel()
	<-errc // http.ErrServerClosed
	return nil
}

// retryAfter estimates in whole seconds when a slot frees up.
//
// NOTE: it assumes that each waiting request takes the moving average of
// past generations, so a line of long requests makes the estimate low.
func (s *Server) retryAfter() string {
	s.mu.Lock()
	avg := s.avgSecs
	s.mu.Unlock()
	_, waiting := s.queue.stats()
	secs := avg * float64(waiting+1) / float64(s.opts.Concurrency)
	return strconv.Itoa(int(math.Max(1, math.Ceil(secs))))
}

// recordDuration folds one generation's duration into the moving average.
// The first one replaces the starting guess, which can be far off.
func (s *Server) recordDuration(d time.Duration) {
	s.mu.Lock()
	if s.timed {
		s.avgSecs = 0.8*s.avgSecs + 0.2*d.Seconds()
	} else {
		s.avgSecs, s.timed = d.Seconds(), true
	}
	s.mu.Unlock()
}

// newID returns an id such as "cmpl-3f9a0c…" with 12 random bytes.
func newID(prefix string) string {
	var b [12]byte
	_, _ = cryptorand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// randomSeed picks a seed for a request that does not name one.
func randomSeed() uint64 { return rand.Uint64() }

// errDraining is the cause when a request arrives during shutdown.
var errDraining = errors.New("server is shutting down")
