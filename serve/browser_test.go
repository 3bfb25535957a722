package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goushi/goushi/gpt"
)

// chromiumNames are the executables the browser test looks for, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome",
	"google-chrome-stable"}

// findChromium returns the path of a Chromium binary: $GOUSHI_CHROMIUM if
// set, else the first of chromiumNames on $PATH, else debianChromium.
func findChromium() string {
	if p := os.Getenv("GOUSHI_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	// Debian's package, in case $PATH leaves out /usr/bin.
	if _, err := os.Stat(debianChromium); err == nil {
		return debianChromium
	}
	return ""
}

const debianChromium = "/usr/bin/chromium"

// pacedGenerator slows a real generator down to a fixed delay per token,
// so that a browser can watch the text stream in and press Stop, and can
// hold the first generation until hold is closed. It records how each
// generation ended.
type pacedGenerator struct {
	Generator
	delay time.Duration
	hold  chan struct{} // the first generation waits on it; nil waits for nothing
	// failPrompt makes a generation for this prompt fail after its
	// third event; "" fails none.
	failPrompt string

	mu      sync.Mutex
	calls   int
	prompts []string // the prompt of each call, in order
	params  []Params // the settings of each call, in order
	ended   []error
	cancel  chan struct{} // closed when a generation ends by cancellation
}

func (g *pacedGenerator) Generate(ctx context.Context, prompt string,
	p Params) iter.Seq2[Event, error] {

	return func(yield func(Event, error) bool) {
		g.mu.Lock()
		first := g.calls == 0
		g.calls++
		g.prompts = append(g.prompts, prompt)
		g.params = append(g.params, p)
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.ended = append(g.ended, ctx.Err())
			if ctx.Err() != nil {
				select {
				case <-g.cancel:
				default:
					close(g.cancel)
				}
			}
			g.mu.Unlock()
		}()
		if first && g.hold != nil {
			select {
			case <-g.hold:
			case <-ctx.Done():
				yield(Event{}, ctx.Err())
				return
			}
		}
		events := 0
		for ev, err := range g.Generator.Generate(ctx, prompt, p) {
			if !yield(ev, err) {
				return
			}
			if events++; events == 3 && g.failPrompt != "" && prompt == g.failPrompt {
				yield(Event{}, errors.New("the test generator failed"))
				return
			}
			select {
			case <-time.After(g.delay):
			case <-ctx.Done():
			}
		}
	}
}

// TestBrowser drives the page in headless Chromium. It sets the sliders,
// waits in the queue behind another request, watches Chinese text stream
// in and presses Stop. Then it checks the token view, the history and the
// model card, and switches to English.
//
// GOUSHI_CHECKPOINT=DIR serves a trained checkpoint in place of the test
// model, and GOUSHI_SCREENSHOT=FILE.png keeps a screenshot of the page
// while it generates (the README's picture is made this way).
func TestBrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skipf("no Chromium binary found (looked for $GOUSHI_CHROMIUM, %s on $PATH "+
			"and %s); install Debian's chromium package to run the browser test",
			strings.Join(chromiumNames, ", "), debianChromium)
	}

	var base Generator
	model, card := testModel(t)
	base = model
	prompt, style := "家人们谁懂啊，", "抽象"
	if dir := os.Getenv("GOUSHI_CHECKPOINT"); dir != "" {
		ck, err := gpt.LoadCheckpoint(dir)
		require.NoError(t, err)
		base, card = FromCheckpoint(ck)
		if !slices.Contains(card.Styles, style) {
			style = ""
		}
	}
	gen := &pacedGenerator{Generator: base, delay: 60 * time.Millisecond,
		hold: make(chan struct{}), cancel: make(chan struct{}), failPrompt: "出错吧"}
	srv := New(gen, card, Options{Concurrency: 1, MaxQueue: 4, Logger: discardLogger()})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// Another client takes the only slot first, so the page must queue.
	blocker := make(chan error, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
			strings.NewReader(`{"prompt":"x","max_tokens":2,"stream":true}`))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		blocker <- err
	}()
	require.Eventually(t, func() bool {
		running, _ := srv.queue.stats()
		return running == 1
	}, 10*time.Second, 10*time.Millisecond, "the blocking request never started")

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 960),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...), what)
	}
	eval := func(js string, out any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		require.NoError(t, err, "evaluate %s", js)
		if out != nil {
			b, err := json.Marshal(v)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, out), "result of %s", js)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		eval(`document.querySelector(`+quote(sel)+`).textContent`, &s)
		return s
	}
	waitFor := func(what, js string) {
		t.Helper()
		run("wait until "+what, chromedp.Poll[chromedp.Void](js,
			chromedp.WithPollingTimeout(20*time.Second)))
	}
	screenshot := func() []byte {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err, "screenshot")
		return png
	}
	click := func(sel string) {
		t.Helper()
		run("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	}

	run("load the page", chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#generate")))
	waitFor("the styles are loaded", `document.querySelectorAll("#style option").length === `+
		strconv.Itoa(len(card.Styles)+1))
	assert.Equal(t, "生成", text("#generate"), "the page starts in Chinese")

	// An empty seed box draws a new seed per request and stays empty.
	var seeds struct {
		Differ bool
		Box    string
	}
	eval(`(() => {
		document.getElementById("seed").value = "";
		const a = readSettings().seed, b = readSettings().seed;
		return {Differ: a !== b, Box: document.getElementById("seed").value};
	})()`, &seeds)
	assert.True(t, seeds.Differ, "two requests with an empty seed box got the same seed")
	assert.Empty(t, seeds.Box, "reading the settings filled the seed box")

	// Sliders: set them as a user would, through input events.
	eval(`(() => {
		const set = (id, v) => {
			const el = document.getElementById(id);
			el.value = v;
			el.dispatchEvent(new Event("input", {bubbles: true}));
		};
		set("temperature", "0.6");
		set("top_k", "30");
		set("top_p", "0.9");
		set("repetition_penalty", "1.05");
		set("max_tokens", "300");
		document.getElementById("seed").value = "7";
		document.getElementById("prompt").value = `+quote(prompt)+`;
		document.getElementById("style").value = `+quote(style)+`;
		return true;
	})()`, nil)
	assert.Equal(t, "0.6", text("#temperature-value"))
	assert.Equal(t, "30", text("#top_k-value"))
	assert.Equal(t, "300", text("#max_tokens-value"))

	click("#generate")
	waitFor("the queue position shows", `document.getElementById("status").textContent.includes("排队中")`)
	assert.Contains(t, text("#status"), "第 1 位")
	close(gen.hold)
	require.NoError(t, <-blocker, "the blocking request failed")

	waitFor("Chinese text streams in",
		`(document.querySelector("#output .generated").textContent.match(/\p{Script=Han}/gu) || []).length >= 6`)
	first := text("#output .generated")
	waitFor("more text arrives",
		`document.querySelector("#output .generated").textContent.length > `+strconv.Itoa(len([]rune(first))))
	click("#stop")
	waitFor("Stop takes effect", `document.getElementById("stop").disabled`)
	assert.Contains(t, text("#status"), "已停止")
	select {
	case <-gen.cancel:
	case <-time.After(10 * time.Second):
		t.Fatal("pressing Stop did not cancel the generation on the server")
	}
	stopped := text("#output .generated")

	// The request carried the sliders' values. Call 0 is the blocker.
	gen.mu.Lock()
	require.Len(t, gen.params, 2)
	got, gotPrompt := gen.params[1], gen.prompts[1]
	gen.mu.Unlock()
	assert.Equal(t, prompt, gotPrompt)
	assert.InDelta(t, 0.6, got.Temperature, 1e-6)
	assert.Equal(t, 30, got.TopK)
	assert.InDelta(t, 0.9, got.TopP, 1e-6)
	assert.InDelta(t, 1.05, got.RepetitionPenalty, 1e-6)
	assert.Equal(t, 300, got.MaxNewTokens)
	assert.Equal(t, uint64(7), got.Seed)
	assert.Equal(t, style, got.Style)
	assert.Positive(t, got.TopAlternatives, "the page asks for no alternatives")
	run("wait", chromedp.Sleep(300*time.Millisecond))
	assert.Equal(t, stopped, text("#output .generated"), "text kept arriving after Stop")
	assert.Greater(t, hanShare(stopped), 0.3, "generated text %q", stopped)
	t.Logf("generated before Stop: %q", stopped)

	// History: the stopped generation is saved with a retry button.
	var historyRetries int
	eval(`document.querySelectorAll("#history .history-retry").length`, &historyRetries)
	assert.Equal(t, 1, historyRetries)
	assert.Contains(t, text("#history li .meta"), "已停止", "the entry does not say it stopped")
	var saved string
	eval(`JSON.parse(localStorage.getItem("goushi.history.v1"))[0].settings.prompt`, &saved)
	assert.Equal(t, prompt, saved)

	// Token view: tokens shaded by probability, alternatives on hover.
	var hintHidden bool
	eval(`document.getElementById("token-hint").hidden`, &hintHidden)
	assert.True(t, hintHidden, "the token view's hint shows in the text view")
	click(`.tab[data-view="tokens"]`)
	eval(`document.getElementById("token-hint").hidden`, &hintHidden)
	assert.False(t, hintHidden, "the token view shows no hint")
	var shaded int
	eval(`[...document.querySelectorAll("#tokens .tok[data-prob]")]
		.filter(s => s.style.backgroundColor !== "").length`, &shaded)
	assert.Greater(t, shaded, 3, "too few shaded tokens")
	eval(`(() => {
		const tok = document.querySelector("#tokens .tok[data-prob]");
		tok.dispatchEvent(new MouseEvent("mouseenter"));
		return true;
	})()`, nil)
	var tipHidden bool
	eval(`document.getElementById("tooltip").hidden`, &tipHidden)
	assert.False(t, tipHidden, "hovering a token shows no tooltip")
	assert.Contains(t, text("#tooltip"), "%")
	var alts int
	eval(`document.querySelectorAll("#tooltip .alt").length`, &alts)
	assert.Positive(t, alts, "the tooltip lists no alternatives")

	// Model card.
	click("#card-button")
	waitFor("the card opens", `document.getElementById("card").open`)
	assert.Contains(t, text("#card-config"), strconv.Itoa(card.VocabSize))
	// The page groups digits ("2,308"), so compare without separators.
	assert.Contains(t, strings.ReplaceAll(text("#card-training"), ",", ""),
		strconv.Itoa(card.Step))
	cardShot := screenshot()
	assert.Greater(t, len(cardShot), 10_000, "the screenshot is implausibly small")
	if card.Credits != "" {
		var credits string
		eval(`document.getElementById("card-credits").textContent`, &credits)
		assert.NotEmpty(t, credits)
	}
	click(`#card button[type="submit"]`)

	// Retry replays the saved settings, seed included, so the text starts
	// the same way again.
	click("#history .history-retry")
	waitFor("the retried text catches up", `document.querySelector("#output .generated")`+
		`.textContent.length >= `+strconv.Itoa(len([]rune(stopped))))
	click("#stop")
	waitFor("Stop takes effect", `document.getElementById("stop").disabled`)
	assert.True(t, strings.HasPrefix(text("#output .generated"), stopped),
		"retry wrote %q, which does not start with %q", text("#output .generated"), stopped)
	eval(`document.querySelectorAll("#history .history-retry").length`, &historyRetries)
	assert.Equal(t, 2, historyRetries)

	// A rejected request shows the server's message.
	eval(`document.getElementById("prompt").value = "字".repeat(5000)`, nil)
	click("#generate")
	waitFor("the error shows", `document.getElementById("status").className === "error"`)
	assert.Contains(t, text("#status"), "prompt has 5000 characters")

	// A generation that fails mid-stream shows the server's message.
	eval(`document.getElementById("prompt").value = `+quote(gen.failPrompt), nil)
	click("#generate")
	waitFor("the failure shows", `document.getElementById("status").className === "error"`)
	assert.Equal(t, "出错了：generation failed: the test generator failed", text("#status"))
	assert.Contains(t, text("#history li .meta"), "出错", "the entry does not say it failed")
	eval(`document.getElementById("prompt").value = `+quote(prompt), nil)

	if path := os.Getenv("GOUSHI_SCREENSHOT"); path != "" {
		click("#generate")
		run("let text stream in", chromedp.Sleep(2500*time.Millisecond))
		require.NoError(t, os.WriteFile(path, screenshot(), 0o644))
		t.Logf("screenshot written to %s", path)
		waitFor("the generation ends", `!document.getElementById("generate").disabled`)
	}

	// English labels.
	click("#lang")
	assert.Equal(t, "Generate", text("#generate"))
	assert.Equal(t, "Model card", text("#card-button"))
}
