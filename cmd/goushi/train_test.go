package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goushi/goushi/gpt"
)

// trainTiny runs `goushi train` on the embedded corpus with the tiny preset
// and returns the run directory and standard output.
func trainTiny(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	trainStdout, trainStderr = &stdout, &stderr
	defer func() { trainStdout, trainStderr = os.Stdout, os.Stderr }()
	args := append([]string{"train", "--preset", "tiny", "--steps", "20", "--eval-every", "10",
		"--out", out, "--progress", "plain"}, extra...)
	if code := run(args, &stderr); code != 0 {
		t.Fatalf("goushi %s exited %d:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return out, stdout.String()
}

func TestTrainCommandWritesLoadableCheckpoint(t *testing.T) {
	out, stdout := trainTiny(t)
	best := filepath.Join(out, "best")
	ck, err := gpt.LoadCheckpoint(best)
	if err != nil {
		t.Fatalf("the checkpoint that train printed does not load: %v", err)
	}
	if ck.Model.Config.VocabSize != ck.Tokenizer.VocabSize() {
		t.Errorf("model vocab %d, tokenizer vocab %d", ck.Model.Config.VocabSize,
			ck.Tokenizer.VocabSize())
	}
	if !strings.Contains(ck.Credits, "chinese-poetry") {
		t.Errorf("credits do not name the embedded sources:\n%s", ck.Credits)
	}
	if ck.State.Step != 20 || ck.State.ValBPB <= 0 {
		t.Errorf("state step %d, bpb %v; want step 20 and a positive bpb", ck.State.Step,
			ck.State.ValBPB)
	}
	for _, want := range []string{"[抽象]", "bits per byte", "goushi sample --checkpoint " + best} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(best, gpt.LossCurveFile)); err != nil {
		t.Errorf("no loss curve next to the checkpoint: %v", err)
	}
	t.Run("eval", func(t *testing.T) { checkEvalJSON(t, best) })
	t.Run("eval rejects files", func(t *testing.T) { checkEvalRejectsFiles(t, best) })
	t.Run("eval token file", func(t *testing.T) {
		checkEvalTokenFile(t, best, filepath.Join(out, "data", "val.tokens"))
	})
}

// checkEvalTokenFile scores the run's held-out token file: its bytes must
// be those its spans recorded when it was written, and a copy whose record
// disagrees, as one written with another tokenizer would, is rejected.
func checkEvalTokenFile(t *testing.T, checkpoint, val string) {
	f, err := gpt.OpenTokenFile(val)
	if err != nil {
		t.Fatal(err)
	}
	n, recorded := f.Len(), 0
	for _, s := range f.Spans {
		recorded += s.Bytes
	}
	f.Close()

	var stdout bytes.Buffer
	evalStdout = &stdout
	defer func() { evalStdout = os.Stdout }()
	if err := cmdEval([]string{"--checkpoint", checkpoint, "--json", val}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Files []evalFileResult `json:"files"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if r := rep.Files[0]; r.Bytes != recorded || r.Tokens != n-1 || !(r.BPB > 0) {
		t.Errorf("%d bytes, %d tokens, bpb %g; want %d, %d and a positive bpb", r.Bytes,
			r.Tokens, r.BPB, recorded, n-1)
	}

	dir := t.TempDir()
	copyFile := func(src, dst string, edit func([]byte) []byte) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, edit(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "other.tokens")
	copyFile(val, other, func(b []byte) []byte { return b })
	copyFile(val+".json", other+".json", func(b []byte) []byte {
		var spans []gpt.StyleSpan
		if err := json.Unmarshal(b, &spans); err != nil {
			t.Fatal(err)
		}
		spans[0].Bytes++
		out, _ := json.Marshal(spans)
		return out
	})
	err = cmdEval([]string{"--checkpoint", checkpoint, other})
	if err == nil || !strings.Contains(err.Error(), "another tokenizer wrote it") ||
		!strings.Contains(err.Error(), other) {
		t.Errorf("eval of a token file from another tokenizer: error %v", err)
	}
}

// checkEvalRejectsFiles runs `goushi eval` with a loadable checkpoint on
// files it cannot score and checks that each error names the file and
// the fix.
func checkEvalRejectsFiles(t *testing.T, checkpoint string) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// 你好 in GBK, then 你好 in UTF-16LE with its byte order mark, then
	// bytes that no encoding decodes.
	gbk := write("gbk.txt", []byte{'o', 'k', 0xc4, 0xe3, 0xba, 0xc3})
	utf16 := write("utf16.txt", []byte{0xff, 0xfe, 0x60, 0x4f, 0x7d, 0x59})
	junk := write("junk.txt", []byte{'a', 'b', 0xff, 0xff, 0xff})
	empty := write("empty.txt", nil)
	cases := []struct {
		file string
		want []string
	}{
		{gbk, []string{gbk, "offset 2", "iconv -f GB18030 -t UTF-8 " + gbk}},
		{utf16, []string{utf16, "offset 0", "iconv -f UTF-16LE -t UTF-8 " + utf16}},
		{junk, []string{junk, "offset 2", "UTF-8 text only"}},
		{empty, []string{empty, "is empty"}},
	}
	for _, c := range cases {
		err := cmdEval([]string{"--checkpoint", checkpoint, c.file})
		if err == nil {
			t.Errorf("eval %s succeeded, want an error", c.file)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("eval %s: error %q does not mention %q", c.file, err, w)
			}
		}
	}
}

// checkEvalJSON runs `goushi eval --json` with the checkpoint on a short
// text and checks the report.
func checkEvalJSON(t *testing.T, checkpoint string) {
	text := filepath.Join(t.TempDir(), "a.txt")
	content := "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。闰余成岁，律吕调阳。"
	if err := os.WriteFile(text, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	evalStdout = &stdout
	defer func() { evalStdout = os.Stdout }()
	if err := cmdEval([]string{"--checkpoint", checkpoint, "--json", text}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Files []evalFileResult `json:"files"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Files) != 1 {
		t.Fatalf("%d file reports, want 1", len(rep.Files))
	}
	r := rep.Files[0]
	if r.Bytes != len(content) {
		t.Errorf("bytes %d, want %d", r.Bytes, len(content))
	}
	// Bits per byte is the summed loss in bits over the file's bytes.
	want := r.Loss * float64(r.Tokens) / math.Ln2 / float64(r.Bytes)
	if math.Abs(r.BPB-want) > 1e-6*want {
		t.Errorf("bpb %.6f, want loss·tokens/ln 2/bytes = %.6f", r.BPB, want)
	}

	// Single-token steps in float32 give the same loss up to rounding.
	stdout.Reset()
	if err := cmdEval([]string{"--checkpoint", checkpoint, "--json", "--weights", "f32",
		text}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if d := rep.Files[0]; math.Abs(d.Loss-r.Loss) > 1e-5*r.Loss || d.Tokens != r.Tokens {
		t.Errorf("--weights f32: loss %.6f over %d tokens; the forward pass gives %.6f over %d",
			d.Loss, d.Tokens, r.Loss, r.Tokens)
	}

	// A byte order mark is dropped, not scored.
	bom := filepath.Join(t.TempDir(), "bom.txt")
	if err := os.WriteFile(bom, append([]byte("\ufeff"), content...), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := cmdEval([]string{"--checkpoint", checkpoint, "--json", bom}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if d := rep.Files[0]; d.Bytes != r.Bytes || d.Loss != r.Loss {
		t.Errorf("with a byte order mark: %d bytes, loss %.6f; without: %d, %.6f", d.Bytes,
			d.Loss, r.Bytes, r.Loss)
	}

	// The default precision of sample: 8 bits where the assembly runs,
	// which moves the loss of a tiny model by far less than 1e-3 of it.
	stdout.Reset()
	if err := cmdEval([]string{"--checkpoint", checkpoint, "--json", "--weights", "auto",
		text}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if d := rep.Files[0]; math.Abs(d.Loss-r.Loss) > 1e-3*r.Loss {
		t.Errorf("--weights auto: loss %.6f; the forward pass gives %.6f", d.Loss, r.Loss)
	}
}

func TestEvalCommandRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte{0xff, 0xfe, 0x41}, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{bad}, "--checkpoint"},
		{[]string{"--checkpoint", dir}, "FILE"},
		{[]string{"--checkpoint", dir, bad}, "config.json"},
		{[]string{"--checkpoint", dir, "--weights", "q4", bad}, `"q4"`},
	}
	for _, c := range cases {
		err := cmdEval(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("eval %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

func TestBenchTrainJSON(t *testing.T) {
	var stdout bytes.Buffer
	benchTrainStdout = &stdout
	defer func() { benchTrainStdout = os.Stdout }()
	err := benchTrain([]string{"--vocab", "100", "--ctx", "8", "--layers", "2", "--heads", "2",
		"--embd", "16", "--batch", "2", "--steps", "2", "--json", "--flops-per-cycle", "32",
		"--clock-ghz", "2"})
	if err != nil {
		t.Fatal(err)
	}
	var r benchTrainResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	// Matmul parameters by hand, C = 16: wte 100·16 = 1600, per block
	// 12·C² + 13·C = 3072 + 208 = 3280 (ln_1, c_attn, c_proj, ln_2, c_fc,
	// c_proj with biases), two blocks 6560, ln_f 32: N = 8192. Attention
	// adds 12·L·T·C = 12·2·8·16 = 3072 per token.
	wantFLOPs := 6*8192.0 + 3072
	if r.FLOPsPerTok != wantFLOPs {
		t.Errorf("FLOPs per token %v, want %v", r.FLOPsPerTok, wantFLOPs)
	}
	if r.TokensPerSec <= 0 || r.PeakRSSMB <= 0 {
		t.Errorf("tokens/s %v, peak RSS %v MB; want both positive", r.TokensPerSec, r.PeakRSSMB)
	}
	if got := r.TokensPerSec * r.FLOPsPerTok / (r.PeakGFLOPS * 1e9); math.Abs(got-r.MFU) > 1e-9 {
		t.Errorf("mfu %v, want tokens/s·FLOPs/peak = %v", r.MFU, got)
	}
	cores := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if want := float64(cores) * 32 * 2; r.PeakGFLOPS != want {
		t.Errorf("peak %v GFLOP/s, want %d cores × 32 FLOPs × 2 GHz = %v", r.PeakGFLOPS, cores,
			want)
	}
}

func TestBenchTrainRejectsNegativeMicro(t *testing.T) {
	err := benchTrain([]string{"--micro", "-1"})
	if err == nil || !strings.Contains(err.Error(), "--micro -1") {
		t.Errorf("bench train --micro -1: error %v, want one naming the value", err)
	}
}

func TestBenchTrainNamesTheBadFlag(t *testing.T) {
	cases := []struct {
		args      []string
		want, not string
	}{
		{[]string{"--steps", "0"}, "--steps 0 is invalid", "--batch"},
		{[]string{"--batch", "0"}, "--batch 0 is invalid", "--steps"},
	}
	for _, c := range cases {
		err := benchTrain(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench train %v: error %v, want one saying %q", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.not) {
			t.Errorf("bench train %v: error %q names %s, which is valid", c.args, err, c.not)
		}
	}
}

func TestTrainProgressLineSeparatesFields(t *testing.T) {
	var stderr bytes.Buffer
	trainStderr = &stderr
	defer func() { trainStderr = os.Stderr }()
	d := newTrainDisplay(false)
	d.event(gpt.TrainEvent{Kind: gpt.TrainStep, Step: 40, Total: 40, Loss: 6.2474,
		TokensPerSec: 8713, LR: 1e-3})
	want := "step 40/40: loss 6.247, val n/a, 8713 tok/s, eta 0s, lr 1.00e-03, elapsed 0s\n"
	if got := stderr.String(); got != want {
		t.Errorf("progress line %q, want %q", got, want)
	}
}

func TestTrimTrainPrefixKeepsCause(t *testing.T) {
	cause := errors.New("load corpus x: not found")
	err := trimTrainPrefix(fmt.Errorf("train: %w", cause))
	if got := err.Error(); got != "load corpus x: not found" {
		t.Errorf("message %q, want the cause's without train:", got)
	}
	if !errors.Is(err, cause) {
		t.Errorf("%v no longer wraps its cause", err)
	}
}

func TestParseStyleFloors(t *testing.T) {
	got, err := parseStyleFloors("抽象=0.25, 宋词=0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["抽象"] != 0.25 || got["宋词"] != 0.1 {
		t.Errorf("floors = %v, want 抽象 0.25 and 宋词 0.1", got)
	}
	if got, err := parseStyleFloors(""); err != nil || len(got) != 0 {
		t.Errorf("empty floors = %v, %v; want none", got, err)
	}
	for _, bad := range []string{"抽象", "抽象=x", "=0.1", "抽象=1.5", "抽象=-0.1"} {
		if _, err := parseStyleFloors(bad); err == nil {
			t.Errorf("parseStyleFloors(%q) succeeded, want an error", bad)
		}
	}
}

func TestTrainFlagErrors(t *testing.T) {
	var stderr bytes.Buffer
	trainStderr = &stderr
	defer func() { trainStderr = os.Stderr }()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "huge"}, `--preset "huge" is unknown; use tiny, small or medium`},
		{[]string{"--eval-every", "0"}, "--eval-every 0 is invalid"},
		{[]string{"--keep", "0"}, "--keep 0 is invalid"},
		{[]string{"--embd", "-4"}, "--embd -4"},
		{[]string{"--heads", "3"}, "divisible"},
		{[]string{"--steps", "-1"}, "--steps -1"},
		{[]string{"--time", "0s"}, "--time"},
		{[]string{"--progress", "fancy"}, "fancy"},
		{[]string{"extra"}, "extra"},
		{[]string{"--batch", "0"}, "--batch 0"},
		{[]string{"--accum", "0"}, "--accum 0"},
		{[]string{"--lr", "NaN"}, "--lr NaN"},
		{[]string{"--lr", "-1"}, "--lr -1"},
		{[]string{"--lr", "+Inf"}, "--lr +Inf"},
		{[]string{"--min-lr", "NaN"}, "--min-lr NaN"},
		{[]string{"--min-lr", "0.1"}, "--min-lr 0.1"},
		{[]string{"--warmup", "-2"}, "--warmup -2"},
		{[]string{"--weight-decay", "NaN"}, "--weight-decay NaN"},
		{[]string{"--clip", "NaN"}, "--clip NaN"},
		{[]string{"--style-alpha", "NaN"}, "--style-alpha NaN"},
		{[]string{"--eval-tokens", "-1"}, "--eval-tokens -1"},
		{[]string{"--sample-every", "-1"}, "--sample-every -1"},
		{[]string{"--ctx", "100000"}, "--ctx 100000"},
		{[]string{"--resume", "runs/x/best", "--lr", "0.01"}, "--lr 0.01 does not apply"},
		{[]string{"--resume", "runs/x/best", "--ctx", "512"}, "--ctx 512 does not apply"},
		{[]string{"--init-from", "runs/x/best", "--preset", "tiny"}, "--preset tiny"},
	}
	for _, c := range cases {
		_, err := parseTrainFlags(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

func TestDefaultRunDir(t *testing.T) {
	dir := t.TempDir()
	step := filepath.Join(dir, "step-000100")
	if err := os.Mkdir(step, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "latest")
	if err := os.Symlink("step-000100", link); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got := defaultRunDir("small", link, time.Now()); got != real {
		t.Errorf("run dir of %s = %s, want %s", link, got, real)
	}
	now := time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC)
	if got, want := defaultRunDir("tiny", "", now), filepath.Join("runs",
		"tiny-20261204-150405"); got != want {
		t.Errorf("new run dir = %s, want %s", got, want)
	}
}

func TestTrainCommandOnOneDocument(t *testing.T) {
	text := filepath.Join(t.TempDir(), "one.txt")
	content := strings.Repeat("天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。", 40)
	if err := os.WriteFile(text, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stdout := trainTiny(t, "--corpus", text, "--steps", "3")
	if !strings.Contains(stdout, "Validation: none") || strings.Contains(stdout, "0.0000") {
		t.Errorf("a corpus of one document has no validation split, but train printed:\n%s",
			stdout)
	}
	if strings.Contains(stdout, "\uFFFD\n") {
		t.Errorf("a sample ends in a broken character:\n%s", stdout)
	}
}

func TestClaimOutDirRejectsEarlierRun(t *testing.T) {
	out := t.TempDir()
	for _, dir := range []string{"best", "data", "step-000200", "notes"} {
		if err := os.Mkdir(filepath.Join(out, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("step-000200", filepath.Join(out, "latest")); err != nil {
		t.Fatal(err)
	}

	err := claimOutDir(out, "", false)
	if err == nil {
		t.Fatal("an --out holding a run was accepted")
	}
	for _, want := range []string{out, "--resume " + filepath.Join(out, "latest"), "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := claimOutDir(out, filepath.Join(out, "latest"), false); err != nil {
		t.Errorf("resuming into the run's own folder: %v", err)
	}
	if err := claimOutDir(filepath.Join(out, "new"), "", false); err != nil {
		t.Errorf("a missing --out: %v", err)
	}

	if err := claimOutDir(out, "", true); err != nil {
		t.Fatalf("--force: %v", err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "notes" {
		t.Errorf("--force left %v, want only notes (not a run's file)", entries)
	}
}

// TestClaimOutDirTakesFailedRun reuses an --out where a run stopped before
// its first checkpoint, which leaves only the encoded corpus in data/.
func TestClaimOutDirTakesFailedRun(t *testing.T) {
	out := t.TempDir()
	if err := os.Mkdir(filepath.Join(out, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "data", "train.tokens"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := claimOutDir(out, "", false); err != nil {
		t.Fatalf("an --out holding only data/ was rejected: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "data")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("data/ is still there (%v); the new run writes it again", err)
	}
}
