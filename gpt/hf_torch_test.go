package gpt

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goushi/goushi/tensor"
)

// hfCompareScript is the PyTorch forward pass over the Hugging Face names.
const hfCompareScript = "../scripts/hf_compare.py"

// findTorchPython returns the first interpreter that imports torch and
// numpy: $GOUSHI_PYTHON, python3 on PATH, then Debian's /usr/bin/python3,
// which has the python3-torch package when another python3 comes first.
func findTorchPython() string {
	candidates := []string{os.Getenv("GOUSHI_PYTHON"), "python3", "/usr/bin/python3"}
	for _, py := range candidates {
		if py == "" {
			continue
		}
		if exec.Command(py, "-c", "import torch, numpy").Run() == nil {
			return py
		}
	}
	return ""
}

// TestExportMatchesPyTorch exports a model, runs the exported folder
// through scripts/hf_compare.py and requires its float64 PyTorch logits to
// match goushi's within 1e-4. TestImportHFMatchesPyTorch covers the same
// ground without Python.
//
// The model is a small random one, or the checkpoint in
// $GOUSHI_HF_CHECKPOINT when set, which is how a trained model is checked.
func TestExportMatchesPyTorch(t *testing.T) {
	py := findTorchPython()
	if py == "" {
		t.Skip("skipping the PyTorch comparison: no python3 with torch and numpy " +
			"(install python3-torch and python3-numpy, or set GOUSHI_PYTHON)")
	}
	ck := &Checkpoint{}
	if path := os.Getenv("GOUSHI_HF_CHECKPOINT"); path != "" {
		requireAbsEnvPath(t, "GOUSHI_HF_CHECKPOINT", path)
		var err error
		if ck, err = LoadCheckpoint(path); err != nil {
			t.Fatal(err)
		}
	} else {
		ck.Tokenizer = newHFTestTokenizer(t)
		ck.Model = newHFTestModel(ck.Tokenizer.VocabSize(), nil)
	}
	m, tok := ck.Model, ck.Tokenizer
	dir := t.TempDir()
	if err := ExportHF(dir, ck); err != nil {
		t.Fatal(err)
	}

	// Two full windows of the sample text, repeated as needed.
	const B = 2
	T := m.Config.ContextLen
	sample := tok.Encode(hfSample)
	ids := make([]int, B*T)
	for i := range ids {
		ids[i] = sample[i%len(sample)]
	}
	idValues := make([]float32, len(ids))
	for i, id := range ids {
		idValues[i] = float32(id) // exact: ids are far below 2^24
	}
	logits := m.Forward(nil, ids, B, T).Value
	ref := filepath.Join(dir, "goushi_logits.safetensors")
	if err := WriteSafetensors(ref, []string{"ids", "logits"}, map[string]*tensor.Tensor{
		"ids": tensor.FromSlice(idValues, B, T), "logits": logits}, nil); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(py, hfCompareScript, "compare", dir, "--reference", ref, "--tol", "1e-4")
	out, err := cmd.Output()
	var report struct {
		MaxAbsDiff  float64 `json:"max_abs_diff"`
		MaxAbsLogit float64 `json:"max_abs_logit"`
		OK          bool    `json:"ok"`
	}
	if jsonErr := json.Unmarshal(out, &report); jsonErr != nil {
		t.Fatalf("%s: %v (output %q, decode error %v)", hfCompareScript, err, out, jsonErr)
	}
	t.Logf("PyTorch vs goushi: max |Δlogit| %.3g over %d×%d logits up to %.3g",
		report.MaxAbsDiff, B*T, m.Config.VocabSize, report.MaxAbsLogit)
	if !report.OK || report.MaxAbsDiff > 1e-4 {
		t.Errorf("logits differ from PyTorch by up to %g, want at most 1e-4", report.MaxAbsDiff)
	}
	if report.MaxAbsLogit < 1 {
		t.Errorf("largest logit is %g: the test model is too close to zero to show a mismatch",
			report.MaxAbsLogit)
	}
}
