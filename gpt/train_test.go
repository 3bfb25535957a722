package gpt

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
	"github.com/goushi/goushi/layers"
)

// writeTestCorpus writes n embedded documents, separated by the corpus
// piece separator, to one text file and returns its path.
func writeTestCorpus(t *testing.T, n int) string {
	t.Helper()
	c, err := corpus.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	for _, d := range c.Docs {
		if len(pieces) == n {
			break
		}
		if len(d.Text) > 200 {
			pieces = append(pieces, d.Text)
		}
	}
	path := filepath.Join(t.TempDir(), "corpus.txt")
	text := strings.Join(pieces, "\n"+corpus.PieceSeparator+"\n")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyTrainOptions trains the tiny preset on the corpus file for steps.
func tinyTrainOptions(t *testing.T, corpusPath, out string, steps int) TrainOptions {
	t.Helper()
	cfg, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContextLen = 32
	cfg.Dropout = 0.1 // exercise the dropout masks in resume tests
	o := DefaultTrainOptions()
	o.Model = cfg
	o.Corpus = corpusPath
	o.Out = out
	o.Steps = steps
	o.Duration = 0
	o.Batch = 4
	o.Micro = 3 // micro-batches of 3 and 1 sequences, so resume covers their dropout seeds
	o.Warmup = 2
	o.EvalEvery = 3
	o.EvalTokens = 512
	o.Mix = StyleMix{Alpha: 0.5}
	return o
}

func TestTinyOverfitsOneBatch(t *testing.T) {
	cfg, _ := Preset("tiny")
	m := New(cfg, 7)
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 3e-3, Beta1: 0.9, Beta2: 0.95,
		Eps: 1e-8})
	const B, T = 4, 16
	ids, targets := make([]int, B*T), make([]int, B*T)
	for i := range ids {
		ids[i] = (i*37 + 11) % cfg.VocabSize
		targets[i] = (i*53 + 5) % cfg.VocabSize
	}
	tp := autograd.NewTape()
	var first, last float32
	for step := 0; step < 60; step++ {
		opt.ZeroGrad()
		// Two micro-batches of 2 sequences, as the trainer passes batches.
		loss := m.LossBackward(tp, ids, targets, B, T, 2, 1)
		if step == 0 {
			first = loss
		}
		last = loss
		opt.Step(3e-3)
	}
	// A fresh model predicts about uniformly: ln(512) ≈ 6.24 nats.
	if math.Abs(float64(first)-math.Log(float64(cfg.VocabSize))) > 0.3 {
		t.Errorf("first loss %.3f, want about ln(%d) = %.3f", first, cfg.VocabSize,
			math.Log(float64(cfg.VocabSize)))
	}
	if last > first/4 {
		t.Errorf("loss after 60 steps on one batch is %.3f, want below a quarter of %.3f",
			last, first)
	}
}

// TestResumeIsBitwiseIdentical trains 2N steps straight and N steps,
// stop, resume, N steps, and compares every weight and moment.
func TestResumeIsBitwiseIdentical(t *testing.T) {
	corpusPath := writeTestCorpus(t, 80)
	const n = 6
	straight := filepath.Join(t.TempDir(), "straight")
	split := filepath.Join(t.TempDir(), "split")

	runTrainer(t, tinyTrainOptions(t, corpusPath, straight, 2*n))

	first := tinyTrainOptions(t, corpusPath, split, 2*n)
	first.StopAt = n
	res := runTrainer(t, first)
	if !res.Interrupted || res.Step != n {
		t.Fatalf("first half stopped at step %d (interrupted %v), want %d", res.Step,
			res.Interrupted, n)
	}
	second := tinyTrainOptions(t, corpusPath, split, 0)
	second.Resume = filepath.Join(split, stepDirName(n))
	// Flags that differ from the saved run must not change the result.
	second.Batch, second.LR, second.Seed, second.Micro = 2, 0.5, 99, 0
	second.Corpus = ""
	var logs bytes.Buffer
	second.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	res = runTrainer(t, second)
	if res.Step != 2*n {
		t.Fatalf("resumed run ended at step %d, want %d", res.Step, 2*n)
	}
	if !strings.Contains(logs.String(), "corpus="+corpusPath) {
		t.Errorf("the resumed run does not log its corpus %s:\n%s", corpusPath, logs.String())
	}

	for _, file := range []string{ModelFile, OptimizerFile} {
		a := filepath.Join(straight, stepDirName(2*n), file)
		b := filepath.Join(split, stepDirName(2*n), file)
		_, ta, _, err := ReadSafetensors(a)
		if err != nil {
			t.Fatal(err)
		}
		_, tb, _, err := ReadSafetensors(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(ta) != len(tb) {
			t.Fatalf("%s: %d tensors straight, %d resumed", file, len(ta), len(tb))
		}
		for name, x := range ta {
			y := tb[name]
			for i := range x.Data {
				if math.Float32bits(x.Data[i]) != math.Float32bits(y.Data[i]) {
					t.Fatalf("%s: %s[%d] is %v straight but %v resumed", file, name, i,
						x.Data[i], y.Data[i])
				}
			}
		}
	}
	sa := loadState(t, filepath.Join(straight, stepDirName(2*n)))
	sb := loadState(t, filepath.Join(split, stepDirName(2*n)))
	if sa.WindowsDrawn != sb.WindowsDrawn || string(sa.SamplerState) != string(sb.SamplerState) {
		t.Errorf("data position differs: %d windows straight, %d resumed", sa.WindowsDrawn,
			sb.WindowsDrawn)
	}
	if len(sb.LossHistory.Train) != 2*n {
		t.Errorf("resumed loss history has %d training points, want %d",
			len(sb.LossHistory.Train), 2*n)
	}
}

func runTrainer(t *testing.T, o TrainOptions) *Result {
	t.Helper()
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func loadState(t *testing.T, dir string) TrainState {
	t.Helper()
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ck.State
}

func TestTrainerKeepsCheckpoints(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	out := t.TempDir()
	o := tinyTrainOptions(t, corpusPath, out, 13)
	o.Keep = 2
	res := runTrainer(t, o)

	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	got := strings.Join(names, " ")
	// Evaluations at steps 3, 6, 9, 12 and the end, 13; the newest two stay.
	want := "best data latest step-000012 step-000013"
	if got != want {
		t.Errorf("run directory holds %q, want %q", got, want)
	}
	latest, err := filepath.EvalSymlinks(filepath.Join(out, "latest"))
	if err != nil || filepath.Base(latest) != "step-000013" {
		t.Errorf("latest points to %q (%v), want step-000013", latest, err)
	}
	st := loadState(t, filepath.Join(out, "best"))
	if st.Step != st.BestStep {
		t.Errorf("best holds step %d but records best step %d", st.Step, st.BestStep)
	}
	for _, p := range st.LossHistory.Val {
		if p.Loss < st.BestValLoss {
			t.Errorf("validation loss %.4f at step %d is below the best %.4f", p.Loss, p.Step,
				st.BestValLoss)
		}
	}
	if res.ValBPB <= 0 || math.IsNaN(res.ValBPB) {
		t.Errorf("final bits per byte %v, want a positive number", res.ValBPB)
	}
	svg, err := os.ReadFile(filepath.Join(out, "best", LossCurveFile))
	if err != nil || !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("loss curve missing or not SVG: %v", err)
	}
}

func TestTrainerStopsOnNonFiniteLoss(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	out := t.TempDir()
	o := tinyTrainOptions(t, corpusPath, out, 20)
	o.StopAt = 3
	runTrainer(t, o)

	o = tinyTrainOptions(t, corpusPath, out, 0)
	o.Resume = filepath.Join(out, stepDirName(3))
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Model.Param("ln_f.weight").Value.Data[0] = float32(math.NaN())
	_, err = tr.Run(context.Background())
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Run error = %v, want ErrNonFinite", err)
	}
	if !strings.Contains(err.Error(), "step 4") || !strings.Contains(err.Error(), o.Resume) {
		t.Errorf("error %q should name step 4 and the last good checkpoint %s", err, o.Resume)
	}
	if _, err := os.Stat(filepath.Join(out, stepDirName(4))); err == nil {
		t.Errorf("a checkpoint of the failed step 4 was written")
	}
	if _, err := LoadCheckpoint(o.Resume); err != nil {
		t.Errorf("the last good checkpoint no longer loads: %v", err)
	}
}

func TestTrainerRejectsEmptyCorpus(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("   \n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := tinyTrainOptions(t, empty, filepath.Join(dir, "out"), 5)
	_, err := NewTrainer(o)
	if err == nil {
		t.Fatal("NewTrainer on an empty corpus succeeded")
	}
	if !strings.Contains(err.Error(), "no documents") || !strings.Contains(err.Error(), empty) {
		t.Errorf("error %q should say the corpus %s has no documents", err, empty)
	}
}

// TestEvaluateStreamByHand checks the loss and bits per byte against a
// direct computation with the model's loss on the same windows.
func TestEvaluateStreamByHand(t *testing.T) {
	corpusPath := writeTestCorpus(t, 40)
	o := tinyTrainOptions(t, corpusPath, t.TempDir(), 1)
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	T := tr.Model.Config.ContextLen
	text := "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。"
	ids := append([]int{0}, tr.Tok.Encode(text)...)
	ids[0], _ = tr.Tok.SpecialID("<|endoftext|>")
	if len(ids)-1 <= T {
		t.Fatalf("text gives %d targets; the test needs more than T = %d", len(ids)-1, T)
	}
	loss, bpb := EvaluateStream(tr.Model, tr.Tok, IntStream(ids), 0, 3)

	// The windows are ids[0:T+1] and ids[T:], each scored on its own.
	var nats float64
	for _, w := range [][]int{ids[:T+1], ids[T:]} {
		n := len(w) - 1
		l := tr.Model.Loss(nil, w[:n], w[1:], 1, n)
		nats += float64(l.Value.Data[0]) * float64(n)
	}
	wantLoss := nats / float64(len(ids)-1)
	wantBPB := nats / math.Ln2 / float64(len(text))
	if math.Abs(loss-wantLoss) > 1e-4 {
		t.Errorf("loss %.6f, want %.6f", loss, wantLoss)
	}
	if math.Abs(bpb-wantBPB) > 1e-4 {
		t.Errorf("bits per byte %.6f, want %.6f", bpb, wantBPB)
	}
}

// TestTrainerSavesOnCancel cancels the context during step 2, as Ctrl-C
// does, and expects a checkpoint of step 2 and no evaluation of it.
func TestTrainerSavesOnCancel(t *testing.T) {
	corpusPath := writeTestCorpus(t, 40)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := tinyTrainOptions(t, corpusPath, out, 50)
	o.Progress = func(e TrainEvent) {
		if e.Kind == TrainStep && e.Step == 2 {
			cancel()
		}
	}
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Step != 2 {
		t.Fatalf("run stopped at step %d (interrupted %v), want 2", res.Step, res.Interrupted)
	}
	if want := filepath.Join(out, stepDirName(2)); res.Latest != want {
		t.Errorf("latest checkpoint %s, want %s", res.Latest, want)
	}
	st := loadState(t, res.Latest)
	if st.Step != 2 || len(st.LossHistory.Val) != 0 {
		t.Errorf("saved step %d with %d evaluations, want step 2 and none", st.Step,
			len(st.LossHistory.Val))
	}
}

// TestEvaluateStylesMatchesSpans checks each style's figures against
// EvaluateStream on a copy of that style's validation ids.
func TestEvaluateStylesMatchesSpans(t *testing.T) {
	corpusPath := writeTestCorpus(t, 80)
	tr, err := NewTrainer(tinyTrainOptions(t, corpusPath, t.TempDir(), 1))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got := tr.EvaluateStyles()
	if len(got) == 0 {
		t.Fatal("no style was evaluated")
	}
	for _, e := range got {
		var ids IntStream
		for _, sp := range tr.val.Spans {
			if sp.Style == e.Style {
				for i := sp.Start; i < sp.End; i++ {
					ids = append(ids, tr.val.At(i))
				}
			}
		}
		loss, bpb := EvaluateStream(tr.Model, tr.Tok, ids, styleEvalTokens, tr.opts.Batch)
		if math.Abs(loss-e.Loss) > 1e-6 || math.Abs(bpb-e.BPB) > 1e-6 {
			t.Errorf("style %q: loss %.6f, bpb %.6f; want %.6f, %.6f", e.Style, e.Loss, e.BPB,
				loss, bpb)
		}
		if e.Tokens <= 0 || e.Tokens > ids.Len()-1 {
			t.Errorf("style %q: %d tokens scored of %d", e.Style, e.Tokens, ids.Len()-1)
		}
	}
}

func TestSubStreamOffsets(t *testing.T) {
	s := subStream{IntStream{10, 11, 12, 13, 14, 15}, 2, 5}
	if s.Len() != 3 || s.At(0) != 12 || s.At(2) != 14 {
		t.Errorf("sub-stream [2, 5) has length %d and ids %d..%d, want 3 and 12..14",
			s.Len(), s.At(0), s.At(2))
	}
}

func TestResumeWithoutOptimizerPointsToInitFrom(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	out := t.TempDir()
	o := tinyTrainOptions(t, corpusPath, out, 20)
	o.StopAt = 3
	runTrainer(t, o)
	ckDir := filepath.Join(out, stepDirName(3))
	if err := os.Remove(filepath.Join(ckDir, OptimizerFile)); err != nil {
		t.Fatal(err)
	}

	o = tinyTrainOptions(t, corpusPath, t.TempDir(), 0)
	o.Resume = ckDir
	_, err := NewTrainer(o)
	if err == nil {
		t.Fatal("resume succeeded without optimizer state")
	}
	for _, w := range []string{OptimizerFile, "--init-from " + ckDir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestInitFromTakesWeightsWithFreshOptimizer(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	out := t.TempDir()
	o := tinyTrainOptions(t, corpusPath, out, 20)
	o.StopAt = 3
	runTrainer(t, o)
	ckDir := filepath.Join(out, stepDirName(3))
	if err := os.Remove(filepath.Join(ckDir, OptimizerFile)); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(ckDir)
	if err != nil {
		t.Fatal(err)
	}

	o = tinyTrainOptions(t, corpusPath, t.TempDir(), 5)
	o.InitFrom = ckDir
	o.Model.Embd *= 2 // the checkpoint's dims win over the options'
	o.Model.Dropout = 0
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.State.Step != 0 || tr.Opt.StepCount() != 0 {
		t.Errorf("init-from starts at step %d, optimizer step %d; want 0 and 0",
			tr.State.Step, tr.Opt.StepCount())
	}
	if tr.Model.Config.Embd != ck.Model.Config.Embd || tr.Model.Config.Dropout != 0 {
		t.Errorf("config %+v, want the checkpoint's dims with dropout 0", tr.Model.Config)
	}
	if tr.Tok.VocabSize() != ck.Tokenizer.VocabSize() {
		t.Errorf("tokenizer has %d ids, the checkpoint's %d", tr.Tok.VocabSize(),
			ck.Tokenizer.VocabSize())
	}
	for _, p := range ck.Model.Params() {
		got := tr.Model.Param(p.Name).Value.Data
		for i, v := range p.Value.Data {
			if math.Float32bits(got[i]) != math.Float32bits(v) {
				t.Fatalf("%s[%d] = %v, the checkpoint holds %v", p.Name, i, got[i], v)
			}
		}
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 5 {
		t.Errorf("run ended at step %d, want 5", res.Step)
	}

	o.Resume = ckDir
	if _, err := NewTrainer(o); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("--resume with --init-from gave %v, want an error", err)
	}
}

func TestTrainerRemovesLeftoversOfAKilledSave(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	out := t.TempDir()
	// What a kill -9 in the middle of a save leaves: a half-written
	// checkpoint directory, a temporary file beside a token file, a link.
	partial := filepath.Join(out, ".step-000006.tmp-123")
	tmpTokens := filepath.Join(out, "data", ".train.tokens.tmp-456")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(out, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(partial, ModelFile), tmpTokens} {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("step-000003", filepath.Join(out, "latest.tmp")); err != nil {
		t.Fatal(err)
	}
	// Killed between moving the old best aside and moving the new one in.
	oldBest := filepath.Join(out, ".best.tmp-789.old")
	if err := os.MkdirAll(oldBest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oldBest, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(out, "notes.tmp-1") // not hidden: the user's
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tr, err := NewTrainer(tinyTrainOptions(t, corpusPath, out, 2))
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := os.Stat(filepath.Join(out, "best", "marker")); err != nil {
		t.Errorf("the old best was not put back: %v", err)
	}
	for _, p := range []string{partial, tmpTokens, filepath.Join(out, "latest.tmp"), oldBest} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there after a new run in the directory", p)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the user's file %s was deleted: %v", keep, err)
	}
}

func TestReusedTokenizerWithoutStyles(t *testing.T) {
	corpusPath := writeTestCorpus(t, 60)
	tok, err := bpe.Train([]string{"天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。"},
		bpe.TrainOptions{VocabSize: 300, Specials: TokenizerSpecials(nil)})
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(t.TempDir(), "plain.bpe")
	if err := tok.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	o := tinyTrainOptions(t, corpusPath, t.TempDir(), 2)
	o.Tokenizer = tokPath
	tr, err := NewTrainer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if len(tr.Model.Config.Styles) != 0 {
		t.Errorf("styles %v, want none: the tokenizer has no style tokens",
			tr.Model.Config.Styles)
	}
	samples, err := StyleSamples(tr.Model, tr.Tok, 1)
	if err != nil || len(samples) != 1 {
		t.Errorf("StyleSamples gave %d samples and %v, want one without a style",
			len(samples), err)
	}
}
