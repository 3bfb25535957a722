package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/goushi/goushi/gpt"
	"github.com/goushi/goushi/serve"
)

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: goushi serve --checkpoint DIR [--addr HOST:PORT] [flags]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Serves the web page at http://HOST:PORT/ and the "+
			"OpenAI-compatible API under /v1/.")
		fs.PrintDefaults()
	}
	checkpoint := fs.String("checkpoint", "", "checkpoint `directory` written by goushi train (required)")
	addr := fs.String("addr", "127.0.0.1:7860", "`address` to listen on; a non-loopback "+
		"host exposes the model to the network")
	concurrency := fs.Int("concurrency", 0, "generations run at once "+
		"(0 = one per two CPUs, at least one)")
	maxQueue := fs.Int("max-queue", 16, "requests that may wait for a free slot (at least 1); "+
		"more get HTTP 429")
	maxNew := fs.Int("max-new-tokens", 1024, "largest max_tokens a request may ask for")
	maxPrompt := fs.Int("max-prompt", 4000, "longest prompt in characters")
	maxBody := fs.Int64("max-body", 64<<10, "largest request body in bytes")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long running "+
		"requests may finish after SIGINT or SIGTERM before they are cancelled")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; serve takes only flags", fs.Arg(0))
	}
	if *checkpoint == "" {
		return errors.New("missing --checkpoint; name a directory written by goushi train, " +
			"such as runs/NAME/best")
	}
	for _, f := range []struct {
		name      string
		value, lo int64
	}{
		{"concurrency", int64(*concurrency), 0},
		{"max-queue", int64(*maxQueue), 1},
		{"max-new-tokens", int64(*maxNew), 1},
		{"max-prompt", int64(*maxPrompt), 1},
		{"max-body", *maxBody, 1024},
	} {
		if f.value < f.lo {
			return fmt.Errorf("--%s %d is invalid; use %d or more", f.name, f.value, f.lo)
		}
	}
	if *shutdown <= 0 {
		return fmt.Errorf("--shutdown-timeout %v is invalid; use a positive duration such as 10s",
			*shutdown)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ck, err := gpt.LoadCheckpoint(*checkpoint)
	if err != nil {
		return fmt.Errorf("%w; %s", err, checkpointHint(*checkpoint))
	}
	// The served model never trains: every request reads one kept copy of
	// the weights instead of making its own.
	gpt.Freeze(ck.Model)
	gen, card := serve.FromCheckpoint(ck)
	srv := serve.New(gen, card, serve.Options{
		Concurrency:     *concurrency,
		MaxQueue:        *maxQueue,
		MaxBodyBytes:    *maxBody,
		MaxPromptRunes:  *maxPrompt,
		MaxNewTokens:    *maxNew,
		ShutdownTimeout: *shutdown,
		Logger:          log,
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; pick another --addr", *addr, err)
	}
	warnIfExposed(log, ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("serving", "url", "http://"+ln.Addr().String()+"/", "checkpoint", *checkpoint,
		"step", ck.State.Step, "params", ck.Model.NumParams())
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	log.Info("stopped")
	return nil
}

// checkpointHint returns advice on what to pass as --checkpoint after dir
// failed to load. A training run's folder contains its checkpoints in
// subfolders.
func checkpointHint(dir string) string {
	for _, sub := range []string{"best", "latest"} {
		p := filepath.Join(dir, sub)
		if _, err := os.Stat(filepath.Join(p, gpt.ConfigFile)); err == nil {
			return fmt.Sprintf("%s looks like a training run; pass --checkpoint %s", dir, p)
		}
	}
	return "pass --checkpoint a checkpoint directory written by goushi train, " +
		"such as runs/NAME/best"
}

// warnIfExposed logs a warning when addr is not a loopback address.
func warnIfExposed(log *slog.Logger, addr net.Addr) {
	if !isLoopback(addr) {
		log.Warn("listening on a non-loopback address: anyone who can reach it can use "+
			"the model; use --addr 127.0.0.1:PORT to keep it local", "addr", addr.String())
	}
}

// isLoopback reports whether addr listens only on a loopback interface.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
