package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
)

// TestServeCommand starts `goushi serve` on a saved checkpoint, requests
// a completion, and stops it with SIGTERM as a process manager would.
func TestServeCommand(t *testing.T) {
	texts := []string{"明月几时有，把酒问青天。", "家人们谁懂啊，今天终于喝上了矿泉水。"}
	styles := []string{"宋词", "抽象"}
	tok, err := bpe.Train(texts, bpe.TrainOptions{VocabSize: 300,
		Specials: gpt.TokenizerSpecials(styles)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gpt.Config{VocabSize: tok.VocabSize(), ContextLen: 32, Layers: 1, Heads: 2,
		Embd: 16, Styles: styles}
	dir := filepath.Join(t.TempDir(), "ck")
	ck := &gpt.Checkpoint{Model: gpt.New(cfg, 1), Tokenizer: tok,
		Credits: "# Credits\n\n- test sentences, MIT\n"}
	ck.State.Step = 7
	if err := gpt.SaveCheckpoint(dir, ck, nil); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	done := make(chan error, 1)
	go func() { done <- cmdServe([]string{"--checkpoint", dir, "--addr", addr}) }()

	base := "http://" + addr
	var up bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !up {
		t.Fatal("the server did not answer /healthz within 10 s")
	}

	resp, err := http.Post(base+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"明月","max_tokens":5,"style":"宋词","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("completion status %d: %s", resp.StatusCode, body)
	}
	var c struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 1 || c.Usage.CompletionTokens < 1 || c.Usage.CompletionTokens > 5 {
		t.Errorf("completion %s: want one choice of 1 to 5 tokens", body)
	}

	// cmdServe has registered for SIGTERM by the time it serves, so the
	// signal stops the server instead of the test binary.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after SIGTERM; want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of SIGTERM")
	}
}

func TestServeFlagErrors(t *testing.T) {
	// A training run's folder, with a checkpoint in best/.
	run := t.TempDir()
	if err := os.MkdirAll(filepath.Join(run, "best"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "best", gpt.ConfigFile), []byte("{}"),
		0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "missing --checkpoint"},
		{[]string{"--checkpoint", "x", "--max-queue", "0"}, "--max-queue 0 is invalid"},
		{[]string{"--checkpoint", "x", "--max-body", "10"}, "--max-body 10 is invalid"},
		{[]string{"--checkpoint", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"--checkpoint", filepath.Join(t.TempDir(), "none")}, "pass --checkpoint"},
		{[]string{"--checkpoint", run}, "looks like a training run; pass --checkpoint " +
			filepath.Join(run, "best")},
	}
	for _, tc := range tests {
		err := cmdServe(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cmdServe(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"::1", true},
		{"0.0.0.0", false},
		{"::", false},
		{"192.168.1.10", false},
	}
	for _, tc := range tests {
		addr := &net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 7860}
		if got := isLoopback(addr); got != tc.want {
			t.Errorf("isLoopback(%s) = %v; want %v", tc.ip, got, tc.want)
		}
	}
}

func TestWarnIfExposed(t *testing.T) {
	tests := []struct {
		ip   string
		warn bool
	}{
		{"127.0.0.1", false},
		{"::1", false},
		{"0.0.0.0", true},
		{"::", true},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		warnIfExposed(log, &net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 7860})
		got := buf.String()
		if tc.warn && !strings.Contains(got, "level=WARN") {
			t.Errorf("listening on %s logged %q; want a warning", tc.ip, got)
		}
		if tc.warn && !strings.Contains(got, "--addr 127.0.0.1:PORT") {
			t.Errorf("the warning for %s does not say how to stay local: %q", tc.ip, got)
		}
		if !tc.warn && got != "" {
			t.Errorf("listening on %s logged %q; want nothing", tc.ip, got)
		}
	}
}
