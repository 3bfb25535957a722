package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
)

// saveTinyCheckpoint trains a small tokenizer, builds a model of matching
// vocab and saves both as a checkpoint in a new temporary directory.
func saveTinyCheckpoint(t *testing.T) (string, *gpt.Checkpoint) {
	t.Helper()
	tok, err := bpe.Train([]string{pieceA, pieceB, "the quick brown fox, the lazy dog"},
		bpe.TrainOptions{VocabSize: 300, Specials: []string{bpe.EndOfText, "<|style:抽象|>"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gpt.Config{VocabSize: tok.VocabSize(), ContextLen: 16, Layers: 1, Heads: 2,
		Embd: 16, Styles: []string{"抽象"}}
	ck := &gpt.Checkpoint{Model: gpt.New(cfg, 3), Tokenizer: tok,
		Credits: "# Credits\n\n- 测试 (CC0-1.0)\n"}
	// New leaves biases at 0 and LayerNorm gains at 1; give them distinct
	// values so that a swapped tensor cannot go unnoticed.
	for i, p := range ck.Model.Params() {
		for j := range p.Value.Data {
			p.Value.Data[j] += float32(math.Sin(float64(31*i+j))) * 0.1
		}
	}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := gpt.SaveCheckpoint(dir, ck, nil); err != nil {
		t.Fatal(err)
	}
	return dir, ck
}

func runExportImport(t *testing.T, run func([]string) error, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	oldExport, oldImport := exportStdout, importStdout
	exportStdout, importStdout = &out, &out
	defer func() { exportStdout, importStdout = oldExport, oldImport }()
	err := run(args)
	return out.String(), err
}

func TestExportImportCommands(t *testing.T) {
	ckDir, want := saveTinyCheckpoint(t)
	hfDir := filepath.Join(t.TempDir(), "hf")
	out, err := runExportImport(t, cmdExport, "hf", "--checkpoint", ckDir, "--out", hfDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "from_pretrained") {
		t.Errorf("export output does not say how to load the folder:\n%s", out)
	}
	for _, f := range []string{gpt.HFWeightsFile, gpt.HFConfigFile, gpt.HFTokenizerFile,
		gpt.HFGenerationFile, gpt.HFTokenizerConfigFile, gpt.HFCreditsFile, gpt.HFModelCardFile} {
		if _, err := os.Stat(filepath.Join(hfDir, f)); err != nil {
			t.Errorf("export did not write %s: %v", f, err)
		}
	}

	back := filepath.Join(t.TempDir(), "back")
	if _, err := runExportImport(t, cmdImport, "hf", "--in", hfDir, "--out", back); err != nil {
		t.Fatal(err)
	}
	got, err := gpt.LoadCheckpoint(back)
	if err != nil {
		t.Fatalf("imported checkpoint does not load: %v", err)
	}
	for _, p := range want.Model.Params() {
		q := got.Model.Param(p.Name)
		if q == nil || !slices.Equal(q.Value.Shape, p.Value.Shape) {
			t.Errorf("%s missing or reshaped after the round trip", p.Name)
			continue
		}
		for i := range p.Value.Data {
			if math.Float32bits(q.Value.Data[i]) != math.Float32bits(p.Value.Data[i]) {
				t.Errorf("%s[%d] = %g after the round trip, want %g", p.Name, i,
					q.Value.Data[i], p.Value.Data[i])
				break
			}
		}
	}
	if !slices.Equal(got.Model.Config.Styles, want.Model.Config.Styles) {
		t.Errorf("styles %q, want %q", got.Model.Config.Styles, want.Model.Config.Styles)
	}
	if !slices.Equal(got.Tokenizer.Merges(), want.Tokenizer.Merges()) {
		t.Error("merges differ after the round trip")
	}
	if !slices.Equal(got.Tokenizer.Specials(), want.Tokenizer.Specials()) {
		t.Errorf("specials %q, want %q", got.Tokenizer.Specials(), want.Tokenizer.Specials())
	}
	if got.Credits != want.Credits {
		t.Errorf("credits %q, want %q", got.Credits, want.Credits)
	}
}

func TestImportKeepsExistingOutput(t *testing.T) {
	ckDir, _ := saveTinyCheckpoint(t)
	hfDir := filepath.Join(t.TempDir(), "hf")
	if _, err := runExportImport(t, cmdExport, "hf", "--checkpoint", ckDir, "--out", hfDir); err != nil {
		t.Fatal(err)
	}
	_, err := runExportImport(t, cmdImport, "hf", "--in", hfDir, "--out", ckDir)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("import over an existing checkpoint returned %v, want an error naming --force", err)
	}
	if _, err := gpt.LoadCheckpoint(ckDir); err != nil {
		t.Fatalf("the existing checkpoint no longer loads: %v", err)
	}
	if _, err := runExportImport(t, cmdImport, "hf", "--in", hfDir, "--out", ckDir,
		"--force"); err != nil {
		t.Fatalf("import with --force: %v", err)
	}
}

func TestImportKeepsFileAndInput(t *testing.T) {
	ckDir, _ := saveTinyCheckpoint(t)
	hfDir := filepath.Join(t.TempDir(), "hf")
	_, err := runExportImport(t, cmdExport, "hf", "--checkpoint", ckDir, "--out", hfDir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--force"}} {
		args = append([]string{"hf", "--in", hfDir, "--out", file}, args...)
		_, err := runExportImport(t, cmdImport, args...)
		if err == nil || !strings.Contains(err.Error(), "is a file") {
			t.Errorf("import %v returned %v, want an error saying --out is a file", args, err)
		}
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "keep me" {
		t.Errorf("the file at --out now reads %q (%v), want it unchanged", data, err)
	}

	_, err = runExportImport(t, cmdImport, "hf", "--in", hfDir, "--out", hfDir+"/.", "--force")
	if err == nil || !strings.Contains(err.Error(), "is the --in folder") {
		t.Errorf("import into its own input returned %v, want an error", err)
	}
	if _, err := os.Stat(filepath.Join(hfDir, gpt.HFWeightsFile)); err != nil {
		t.Errorf("import into its own input removed %s: %v", gpt.HFWeightsFile, err)
	}
}

func TestExportImportRejectBadArguments(t *testing.T) {
	ckDir, _ := saveTinyCheckpoint(t)
	cases := []struct {
		name string
		run  func([]string) error
		args []string
		want string
	}{
		{"export without format", cmdExport, nil, "missing format"},
		{"export unknown format", cmdExport, []string{"onnx"}, `unknown export format "onnx"`},
		{"export without out", cmdExport, []string{"hf", "--checkpoint", ckDir}, "missing --checkpoint or --out"},
		{"export stray argument", cmdExport, []string{"hf", "x", "--out", "y"}, `unexpected argument "x"`},
		{"export missing checkpoint", cmdExport,
			[]string{"hf", "--checkpoint", filepath.Join(ckDir, "nope"), "--out", t.TempDir()}, "nope"},
		{"import unknown format", cmdImport, []string{"gguf"}, `unknown import format "gguf"`},
		{"import without in", cmdImport, []string{"hf", "--out", t.TempDir()}, "missing --in or --out"},
		{"import a goushi checkpoint", cmdImport,
			[]string{"hf", "--in", ckDir, "--out", filepath.Join(t.TempDir(), "x")}, "is a goushi checkpoint"},
		{"import a folder without config", cmdImport,
			[]string{"hf", "--in", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x")}, "config.json is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runExportImport(t, tc.run, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
