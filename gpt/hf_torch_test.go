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
// which sees the python3-torch package when another python3 comes first.
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
func TestExportMatchesPyTorch(t *testing.T) {
	py := findTorchPython()
	if py == "" {
		t.Skip("skipping the PyTorch comparison: no python3 with torch and numpy " +
			"(install python3-torch and python3-numpy, or set GOUSHI_PYTHON)")
	}
	tok := newHFTestTokenizer(t)
	m := newHFTestModel(tok.VocabSize(), nil)
	dir := t.TempDir()
	if err := ExportHF(dir, &Checkpoint{Model: m, Tokenizer: tok}); err != nil {
		t.Fatal(err)
	}

	const B = 2
	T := m.Config.ContextLen
	ids := make([]int, 0, B*T)
	for _, id := range tok.Encode(hfSample) {
		if len(ids) < B*T {
			ids = append(ids, id)
		}
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
	t.Logf("PyTorch vs goushi: max |Δlogit| %.3g over logits up to %.3g",
		report.MaxAbsDiff, report.MaxAbsLogit)
	if !report.OK || report.MaxAbsDiff > 1e-4 {
		t.Errorf("logits differ from PyTorch by up to %g, want at most 1e-4", report.MaxAbsDiff)
	}
	if report.MaxAbsLogit < 1 {
		t.Errorf("largest logit is %g: the test model is too close to zero to show a mismatch",
			report.MaxAbsLogit)
	}
}
