package gpt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/tensor"
)

// ExportHF writes the model, tokenizer and credits of ck to dir in the
// Hugging Face GPT-2 layout, which
// transformers' GPT2LMHeadModel.from_pretrained and
// PreTrainedTokenizerFast load:
//
//   - model.safetensors: F32 tensors named as in GPT2LMHeadModel
//     ("transformer.h.0.attn.c_attn.weight"), projection weights in
//     Conv1D's (in, out) layout, and no lm_head.weight because the head is
//     tied to transformer.wte.weight;
//   - config.json (GPT2Config), generation_config.json;
//   - tokenizer.json (byte-level BPE over GPT-2's byte-to-unicode alphabet,
//     the merges in rank order, the specials as added tokens) and
//     tokenizer_config.json;
//   - CREDITS.md with the credits, and README.md, a model card that
//     repeats them, when the credits are not empty.
//
// It creates dir when missing and replaces these files in it, each one
// atomically; other files in dir are left alone.
func ExportHF(dir string, ck *Checkpoint) error {
	m, tok, credits := ck.Model, ck.Tokenizer, ck.Credits
	if m == nil || tok == nil {
		return fmt.Errorf("export hf: checkpoint %s has no model or no tokenizer", ck.Dir)
	}
	cfg := m.Config
	if tok.VocabSize() != cfg.VocabSize {
		return fmt.Errorf("export hf: tokenizer has %d ids but the model's vocab_size is %d; "+
			"export the tokenizer the model was trained with", tok.VocabSize(), cfg.VocabSize)
	}
	// Both layouts use model.safetensors and config.json, so exporting into
	// a checkpoint would overwrite its weights.
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err == nil {
		return fmt.Errorf("export hf: %s is a goushi checkpoint and exporting into it would "+
			"overwrite its model.safetensors and config.json; choose another output directory",
			dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export hf: %w", err)
	}
	eos, ok := tok.SpecialID(bpe.EndOfText)
	if !ok {
		eos = -1
	}

	names, tensors := hfTensorsOf(m)
	path := filepath.Join(dir, HFWeightsFile)
	// from_pretrained in transformers checks the "format" metadata key of
	// safetensors files, and "pt" marks PyTorch tensors.
	if err := WriteSafetensors(path, names, tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("export hf: %w", err)
	}

	var tokJSON bytes.Buffer
	if err := tok.WriteHFJSON(&tokJSON); err != nil {
		return fmt.Errorf("export hf: %w", err)
	}
	type file struct {
		name string
		data []byte
	}
	files := []file{
		{HFConfigFile, marshalHF(hfConfigFrom(cfg, eos))},
		{HFGenerationFile, marshalHF(hfGenerationConfig(cfg, eos))},
		{HFTokenizerFile, tokJSON.Bytes()},
		{HFTokenizerConfigFile, marshalHF(hfTokenizerConfig(cfg, eos >= 0))},
	}
	if credits != "" {
		files = append(files,
			file{HFCreditsFile, []byte(credits)},
			file{HFModelCardFile, []byte(hfModelCard(cfg, credits))})
	}
	for _, f := range files {
		if err := writeFileBytes(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("export hf: %w", err)
		}
	}
	return nil
}

// hfTensorsOf returns m's parameters under their GPT2LMHeadModel names, in
// Params order, with the Conv1D weights transposed to (in, out).
func hfTensorsOf(m *Model) ([]string, map[string]*tensor.Tensor) {
	params := m.Params()
	names := make([]string, 0, len(params))
	tensors := make(map[string]*tensor.Tensor, len(params))
	for _, p := range params {
		t := p.Value
		if isConv1DWeight(p.Name) {
			rows, cols := t.Shape[0], t.Shape[1] // (out, in)
			t = tensor.FromSlice(transpose(t.Data, rows, cols), cols, rows)
		}
		name := hfName(p.Name)
		names = append(names, name)
		tensors[name] = t
	}
	return names, tensors
}

// hfGenerationConfig returns generation_config.json: sampling with the
// settings of DefaultSampleOptions, the end-of-text id as bos, eos and pad,
// and at most ContextLen tokens in all, the length the learned position
// table covers. max_new_tokens is left out because transformers lets it
// override max_length, which would run past the position table.
func hfGenerationConfig(cfg Config, eos int) map[string]any {
	d := DefaultSampleOptions()
	g := map[string]any{
		"do_sample":   true,
		"max_length":  cfg.ContextLen,
		"temperature": float32ToFloat64(d.Temperature),
		"top_k":       d.TopK,
		"top_p":       float32ToFloat64(d.TopP),
		"min_p":       float32ToFloat64(d.MinP),
	}
	// NOTE: transformers applies repetition_penalty to every earlier token,
	// goushi only to the last RepetitionWindow, so the two differ unless
	// the penalty is 1 (off).
	if d.RepetitionPenalty != 1 {
		g["repetition_penalty"] = float32ToFloat64(d.RepetitionPenalty)
	}
	if eos >= 0 {
		g["bos_token_id"] = eos
		g["eos_token_id"] = eos
		g["pad_token_id"] = eos
	}
	return g
}

// hfTokenizerConfig returns tokenizer_config.json, which makes
// AutoTokenizer load tokenizer.json as a PreTrainedTokenizerFast.
func hfTokenizerConfig(cfg Config, hasEOS bool) map[string]any {
	c := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"model_max_length":             cfg.ContextLen,
		"add_prefix_space":             false,
		"clean_up_tokenization_spaces": false,
	}
	if hasEOS {
		c["bos_token"] = bpe.EndOfText
		c["eos_token"] = bpe.EndOfText
		c["unk_token"] = bpe.EndOfText
	}
	return c
}

// hfModelCard returns README.md, the model description shown by the
// Hugging Face Hub: the architecture, how to load it, and the credits.
func hfModelCard(cfg Config, credits string) string {
	var b strings.Builder
	b.WriteString("---\nlibrary_name: transformers\nlanguage:\n- zh\ntags:\n- gpt2\n- goushi\n---\n\n")
	b.WriteString("# goushi GPT\n\n")
	fmt.Fprintf(&b, "A GPT-2 style model trained with goushi: %d layers, %d heads, "+
		"embedding dim %d, context length %d, vocab %d.\n\n",
		cfg.Layers, cfg.Heads, cfg.Embd, cfg.ContextLen, cfg.VocabSize)
	b.WriteString("Load it with transformers:\n\n```python\n" +
		"from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast\n" +
		"model = GPT2LMHeadModel.from_pretrained(\"DIR\")\n" +
		"tokenizer = PreTrainedTokenizerFast.from_pretrained(\"DIR\")\n```\n\n" +
		"Bring it back to goushi with `goushi import hf --in DIR --out CHECKPOINT`.\n\n")
	b.WriteString(strings.TrimRight(credits, "\n"))
	b.WriteString("\n")
	return b.String()
}

// marshalHF returns v as indented JSON with a final newline, the form
// transformers writes.
func marshalHF(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("gpt: marshal %T: %v", v, err)) // plain structs and maps always encode
	}
	return b.Bytes()
}

// writeFileBytes writes data to path atomically.
func writeFileBytes(path string, data []byte) error {
	return writeFileAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}
