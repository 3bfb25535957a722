package gpt

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/layers"
)

// savedTinyCheckpoint saves a tiny model whose vocabulary matches a small
// trained tokenizer, with optimizer moments after one step.
func savedTinyCheckpoint(t *testing.T) (string, *Model, *layers.AdamW) {
	t.Helper()
	tok, err := bpe.Train([]string{"天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。", "天地玄黄"},
		bpe.TrainOptions{VocabSize: 300, Specials: TokenizerSpecials([]string{"抽象"})})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{VocabSize: tok.VocabSize(), ContextLen: 8, Layers: 1, Heads: 2, Embd: 8,
		Styles: []string{"抽象"}}
	m := New(cfg, 3)
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.95,
		Eps: 1e-8})
	for _, p := range m.Params() {
		for i := range p.Grad.Data {
			p.Grad.Data[i] = float32(i%7) - 3
		}
	}
	opt.Step(1e-2)
	dir := filepath.Join(t.TempDir(), "ck")
	ck := &Checkpoint{Model: m, Tokenizer: tok, Credits: "# Data sources\n",
		State: TrainState{Step: 1, BestValLoss: 2.5, ValBPB: 1.25,
			LossHistory: LossHistory{Train: []LossPoint{{Step: 1, Loss: 3}}}}}
	if err := SaveCheckpoint(dir, ck, opt); err != nil {
		t.Fatal(err)
	}
	return dir, m, opt
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir, m, opt := savedTinyCheckpoint(t)
	for _, f := range []string{ModelFile, ConfigFile, TokenizerFile, OptimizerFile, StateFile,
		CreditsFile, LossCurveFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("checkpoint lacks %s: %v", f, err)
		}
	}
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		q := ck.Model.Param(p.Name)
		for i := range p.Value.Data {
			if p.Value.Data[i] != q.Value.Data[i] {
				t.Fatalf("%s[%d] = %v after loading, want %v", p.Name, i, q.Value.Data[i],
					p.Value.Data[i])
			}
		}
	}
	if ck.State.Step != 1 || ck.State.BestValLoss != 2.5 || ck.State.ValBPB != 1.25 ||
		len(ck.State.LossHistory.Train) != 1 {
		t.Errorf("state = %+v, want step 1, best 2.5, bpb 1.25, one loss point", ck.State)
	}
	if ck.Credits != "# Data sources\n" {
		t.Errorf("credits = %q", ck.Credits)
	}
	if len(ck.Model.Config.Styles) != 1 || ck.Model.Config.Styles[0] != "抽象" {
		t.Errorf("styles = %v, want [抽象]", ck.Model.Config.Styles)
	}

	opt2 := layers.NewAdamW(ck.Model.Params(), opt.Config)
	if err := LoadOptimizer(dir, ck.Model, opt2); err != nil {
		t.Fatal(err)
	}
	if opt2.StepCount() != 1 {
		t.Errorf("optimizer step %d, want 1", opt2.StepCount())
	}
	for _, p := range m.Params() {
		m1, v1 := opt.Moments(p.Name)
		m2, v2 := opt2.Moments(p.Name)
		for i := range m1 {
			if m1[i] != m2[i] || v1[i] != v2[i] {
				t.Fatalf("moments of %s[%d] differ after loading", p.Name, i)
			}
		}
	}
}

func TestSaveCheckpointReplacesOldDirectory(t *testing.T) {
	dir, m, opt := savedTinyCheckpoint(t)
	stale := filepath.Join(dir, "stale.txt")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, _ := bpe.Load(filepath.Join(dir, TokenizerFile))
	if err := SaveCheckpoint(dir, &Checkpoint{Model: m, Tokenizer: tok}, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("a file of the old checkpoint survived the replacement")
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("parent holds %d entries, want only the checkpoint (no temporary dirs)",
			len(entries))
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"truncated weights", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, ModelFile), 100)
		}, []string{ModelFile, "truncated"}},
		{"corrupt weights header", func(t *testing.T, dir string) {
			path := filepath.Join(dir, ModelFile)
			data, _ := os.ReadFile(path)
			copy(data[8:], "not json")
			os.WriteFile(path, data, 0o644)
		}, []string{ModelFile, "malformed header"}},
		{"missing weights", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ModelFile))
		}, []string{ModelFile, "no such file"}},
		{"vocab mismatch", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c *Config) { c.VocabSize += 5 })
		}, []string{TokenizerFile, "vocab_size", "different runs"}},
		{"shape mismatch", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c *Config) { c.Embd = 16 })
		}, []string{ModelFile, "wte.weight", "shape"}},
		{"missing tensor", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c *Config) { c.Layers = 2 })
		}, []string{ModelFile, "h.1.ln_1.weight", "missing"}},
		{"corrupt config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{"), 0o644)
		}, []string{ConfigFile}},
		{"corrupt tokenizer", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, TokenizerFile), 10)
		}, []string{TokenizerFile}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _, _ := savedTinyCheckpoint(t)
			c.damage(t, dir)
			_, err := LoadCheckpoint(dir)
			if err == nil {
				t.Fatal("LoadCheckpoint succeeded on a damaged checkpoint")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadCheckpointNamesRunDirectory(t *testing.T) {
	dir, _, _ := savedTinyCheckpoint(t)
	run := filepath.Dir(dir)
	if err := os.Rename(dir, filepath.Join(run, "best")); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCheckpoint(run)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(run, "best")) {
		t.Errorf("loading the run directory gave %v, want an error naming %s", err,
			filepath.Join(run, "best"))
	}
	empty := t.TempDir()
	_, err = LoadCheckpoint(empty)
	for _, want := range []string{empty + " is not a goushi checkpoint",
		filepath.Join(empty, ConfigFile) + " missing", "best/ or step-NNNNNN/"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("loading an empty directory gave %v, want one mentioning %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	missing := filepath.Join(empty, "c2")
	_, err = LoadCheckpoint(missing)
	if err == nil || !strings.Contains(err.Error(), missing+" does not exist") ||
		!errors.Is(err, fs.ErrNotExist) {
		t.Errorf("loading a missing directory gave %v, want one saying it does not exist", err)
	}
	best := filepath.Join(run, "best")
	model := filepath.Join(best, ModelFile)
	_, err = LoadCheckpoint(model)
	if err == nil || !strings.Contains(err.Error(), model+" is a file") ||
		!strings.Contains(err.Error(), "the folder that contains it, "+best) {
		t.Errorf("loading the model file gave %v, want one naming its folder", err)
	}
}

func TestLoadCheckpointNamesHFFolder(t *testing.T) {
	dir := filepath.Join("testdata", "hf_gpt2_tiny")
	_, err := LoadCheckpoint(dir)
	if err == nil {
		t.Fatal("LoadCheckpoint accepted a Hugging Face folder")
	}
	for _, w := range []string{dir, "Hugging Face", `"gpt2"`, "goushi import hf --in " + dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestLoadOptimizerRejectsTruncatedFile(t *testing.T) {
	dir, m, opt := savedTinyCheckpoint(t)
	truncate(t, filepath.Join(dir, OptimizerFile), 64)
	err := LoadOptimizer(dir, m, opt)
	if err == nil || !strings.Contains(err.Error(), OptimizerFile) {
		t.Errorf("error = %v, want one naming %s", err, OptimizerFile)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func editConfig(t *testing.T, dir string, edit func(*Config)) {
	t.Helper()
	path := filepath.Join(dir, ConfigFile)
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	edit(&c)
	data, _ = json.Marshal(c)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
