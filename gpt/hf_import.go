package gpt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/tensor"
)

// stylePrefix and styleSuffix wrap a style tag in its special token, as in
// "<|style:抽象|>".
const (
	stylePrefix = "<|style:"
	styleSuffix = "|>"
)

// ImportHF reads a Hugging Face GPT-2 directory, such as one ExportHF wrote
// and PyTorch training then updated with save_pretrained, and returns a
// checkpoint with the model, its tokenizer and the credits (CREDITS.md,
// empty when missing). Its Dir is empty and its State zero: the directory
// records no training state, and SaveCheckpoint with a nil optimizer
// stores it as a checkpoint without optimizer moments.
//
// It needs config.json, tokenizer.json in the layout bpe.ReadHFJSON reads,
// and model.safetensors or a sharded model.safetensors.index.json with F32
// tensors. Tensor names may carry the "transformer." prefix or not. An
// lm_head.weight must equal transformer.wte.weight, because goushi's
// output head is tied to it. The attention mask buffers that older
// transformers versions save (h.N.attn.bias, h.N.attn.masked_bias) are
// ignored. Any other configuration, a missing or extra tensor, or a shape
// or dtype other than the expected one is rejected with an error that names
// the key or tensor, and a truncated or corrupt file with one that names
// the file.
func ImportHF(dir string) (*Checkpoint, error) {
	cfg, tied, err := readHFConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("import hf: %w", err)
	}
	tok, err := readHFTokenizer(dir, &cfg)
	if err != nil {
		return nil, fmt.Errorf("import hf: %w", err)
	}
	tensors, err := readHFTensors(dir)
	if err != nil {
		return nil, fmt.Errorf("import hf: %w", err)
	}
	// Every tensor is checked against config.json before New allocates the
	// model, so a config whose sizes the file does not back (n_embd of 2^40,
	// say) gets an error instead of an out-of-memory crash.
	params, err := matchHFTensors(cfg, tensors, tied)
	if err != nil {
		return nil, fmt.Errorf("import hf: %s: %w", filepath.Join(dir, HFWeightsFile), err)
	}
	m := New(cfg, 0)
	for _, p := range m.Params() {
		data, ok := params[p.Name]
		if !ok || len(data) != p.Value.Size() {
			// forEachParamShape lists New's parameters, as a test checks.
			return nil, fmt.Errorf("import hf: parameter %s of the model has no tensor", p.Name)
		}
		copy(p.Value.Data, data)
	}

	credits, err := os.ReadFile(filepath.Join(dir, HFCreditsFile))
	if err != nil && !errNotExist(err) {
		return nil, fmt.Errorf("import hf: %w", err)
	}
	return &Checkpoint{Model: m, Tokenizer: tok, Credits: string(credits)}, nil
}

// readHFConfig reads config.json and returns the Config and the value of
// tie_word_embeddings.
func readHFConfig(dir string) (Config, bool, error) {
	path := filepath.Join(dir, HFConfigFile)
	data, err := os.ReadFile(path)
	if errNotExist(err) {
		return Config{}, false, fmt.Errorf("%s is missing; import needs a Hugging Face model folder "+
			"with config.json, tokenizer.json and model.safetensors", path)
	}
	if err != nil {
		return Config{}, false, err
	}
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err == nil {
		return Config{}, false, fmt.Errorf("%s is a goushi checkpoint, not a Hugging Face folder; "+
			"use it as it is, or convert it with 'goushi export hf'", dir)
	}
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, false, fmt.Errorf("%s: malformed JSON: %w", path, err)
	}
	cfg, err := h.goushiConfig()
	if err != nil {
		return Config{}, false, fmt.Errorf("%s: %w", path, err)
	}
	tied := h.TieWordEmbeddings == nil || *h.TieWordEmbeddings
	return cfg, tied, nil
}

// readHFTokenizer reads tokenizer.json and checks it against cfg. When
// config.json has no goushi_styles, cfg.Styles is set from the style
// specials of the tokenizer, in id order.
func readHFTokenizer(dir string, cfg *Config) (*bpe.Tokenizer, error) {
	path := filepath.Join(dir, HFTokenizerFile)
	f, err := os.Open(path)
	if errNotExist(err) {
		return nil, fmt.Errorf("%s is missing; copy the tokenizer.json that 'goushi export hf' "+
			"wrote into the folder", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := bpe.ReadHFJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// goushi's checkpoints need the two sizes equal. A vocab padded in
	// PyTorch (to a multiple of 64, say) is rejected, not truncated here.
	if tok.VocabSize() != cfg.VocabSize {
		return nil, fmt.Errorf("%s: tokenizer has %d ids but config.json vocab_size is %d; "+
			"resize the embeddings to the tokenizer with "+
			"model.resize_token_embeddings(%d) before save_pretrained",
			path, tok.VocabSize(), cfg.VocabSize, tok.VocabSize())
	}

	if cfg.Styles == nil {
		for _, s := range tok.Specials() {
			if tag, ok := strings.CutPrefix(s, stylePrefix); ok && strings.HasSuffix(tag, styleSuffix) {
				cfg.Styles = append(cfg.Styles, strings.TrimSuffix(tag, styleSuffix))
			}
		}
		return tok, nil
	}
	for _, s := range cfg.Styles {
		if _, ok := tok.SpecialID(stylePrefix + s + styleSuffix); !ok {
			return nil, fmt.Errorf("%s: config.json goushi_styles lists %q but the tokenizer has "+
				"no special %q", path, s, stylePrefix+s+styleSuffix)
		}
	}
	return tok, nil
}

// readHFTensors reads model.safetensors, or every shard that
// model.safetensors.index.json lists, after checking that each tensor is F32.
func readHFTensors(dir string) (map[string]*tensor.Tensor, error) {
	files := []string{HFWeightsFile}
	if _, err := os.Stat(filepath.Join(dir, HFWeightsFile)); errNotExist(err) {
		files, err = readHFIndex(dir)
		if err != nil {
			return nil, err
		}
	}

	all := make(map[string]*tensor.Tensor)
	for _, name := range files {
		path := filepath.Join(dir, name)
		if err := checkF32(path); err != nil {
			return nil, err
		}
		_, tensors, _, err := ReadSafetensors(path)
		if err != nil {
			return nil, err
		}
		for k, t := range tensors {
			if _, dup := all[k]; dup {
				return nil, fmt.Errorf("%s: tensor %q is also in another shard", path, k)
			}
			all[k] = t
		}
	}
	return all, nil
}

// readHFIndex returns the shard files of model.safetensors.index.json in
// sorted order. It is called when model.safetensors is missing, so its error
// for a missing index says which files were expected.
func readHFIndex(dir string) ([]string, error) {
	path := filepath.Join(dir, HFWeightsIndexFile)
	data, err := os.ReadFile(path)
	if errNotExist(err) {
		msg := fmt.Sprintf("%s has neither %s nor %s", dir, HFWeightsFile, HFWeightsIndexFile)
		if _, err := os.Stat(filepath.Join(dir, "pytorch_model.bin")); err == nil {
			msg += "; save the model with save_pretrained(dir, safe_serialization=True) " +
				"to get safetensors instead of pytorch_model.bin"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %w", path, err)
	}
	var files []string
	for tensorName, file := range index.WeightMap {
		if file != filepath.Base(file) || !strings.HasSuffix(file, ".safetensors") {
			return nil, fmt.Errorf("%s: tensor %q is in %q, which is not a .safetensors file "+
				"beside the index", path, tensorName, file)
		}
		if !slices.Contains(files, file) {
			files = append(files, file)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: weight_map lists no tensors", path)
	}
	sort.Strings(files)
	return files, nil
}

// checkF32 reads only the header of a safetensors file and rejects a tensor
// of another dtype with the fix, before ReadSafetensors loads the data.
func checkF32(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return fmt.Errorf("%s: file is too short for a safetensors header: %w", path, err)
	}

	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader {
		return fmt.Errorf("%s: header length %d exceeds %d bytes; the file is not safetensors",
			path, n, maxSafetensorsHeader)
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if size := info.Size(); n > uint64(size-8) {
		return fmt.Errorf("%s: header length %d exceeds the %d bytes after the length field; "+
			"the file is truncated or not safetensors", path, n, size-8)
	}

	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return fmt.Errorf("%s: header of %d bytes is truncated: %w", path, n, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		return fmt.Errorf("%s: malformed header: %w", path, err)
	}

	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType string `json:"dtype"`
		}
		if err := json.Unmarshal(entries[name], &e); err != nil {
			return fmt.Errorf("%s: tensor %q: malformed entry: %w", path, name, err)
		}
		if e.DType != "F32" {
			return fmt.Errorf("%s: tensor %q has dtype %q; goushi imports only F32, so "+
				"convert the model with model.float() before save_pretrained", path, name, e.DType)
		}
	}
	return nil
}

// matchHFTensors checks tensors, keyed by their names in the file, against
// the parameters of a model of cfg and returns each parameter's values in
// goushi's layout, keyed by the goushi name. Every parameter must be present
// once with the expected shape, no unknown tensor may be left over, and an
// lm_head.weight must equal the token embedding. tied is the
// tie_word_embeddings of config.json. It allocates no model. The values it
// returns are the file's tensors or transposed copies of the same size, so
// the memory they take is bounded by the file.
func matchHFTensors(cfg Config, tensors map[string]*tensor.Tensor, tied bool) (
	map[string][]float32, error) {
	byName := make(map[string]*tensor.Tensor, len(tensors))
	fileName := make(map[string]string, len(tensors))
	var lmHead *tensor.Tensor
	for name, t := range tensors {
		if name == hfLMHead {
			lmHead = t
			continue
		}
		short := strings.TrimPrefix(name, hfPrefix)
		if isAttnMaskBuffer(short) {
			continue
		}
		if prev, dup := fileName[short]; dup {
			return nil, fmt.Errorf("tensors %q and %q name the same parameter", prev, name)
		}
		byName[short] = t
		fileName[short] = name
	}

	params := make(map[string][]float32, len(byName))
	err := forEachParamShape(cfg, func(name string, shape ...int) error {
		want := hfShape(name, shape)
		t, ok := byName[name]
		if !ok {
			return fmt.Errorf("missing tensor %q of shape %v", hfName(name), want)
		}
		delete(byName, name)
		if !slices.Equal(t.Shape, want) {
			return fmt.Errorf("tensor %q has shape %v; want %v for this config.json",
				fileName[name], t.Shape, want)
		}
		data := t.Data
		if isConv1DWeight(name) {
			data = transpose(data, want[0], want[1]) // (in, out) to (out, in)
		}
		params[name] = data
		return nil
	})
	if err != nil {
		return nil, err
	}

	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for short := range byName {
			extra = append(extra, fileName[short])
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("unexpected tensor %q (%d in all) that a GPT-2 of this "+
			"config.json does not have", extra[0], len(extra))
	}
	if lmHead == nil && !tied {
		return nil, fmt.Errorf("tensor %q is missing although config.json sets "+
			"tie_word_embeddings false; goushi supports only an output head tied to %q",
			hfLMHead, hfName("wte.weight"))
	}
	if lmHead != nil {
		wte := params["wte.weight"]
		if !slices.Equal(lmHead.Shape, []int{cfg.VocabSize, cfg.Embd}) ||
			!sameBits(lmHead.Data, wte) {
			return nil, fmt.Errorf("tensor %q differs from %q; goushi supports only an output "+
				"head tied to the token embedding", hfLMHead, hfName("wte.weight"))
		}
	}
	return params, nil
}

// forEachParamShape calls visit with the name and shape of every parameter
// of a model of cfg, in the order of Model.Params, and stops at the first
// error. It allocates no parameter. Because wte comes first, a visit that
// checks shapes against a file bounds Embd before any shape multiplies it.
func forEachParamShape(cfg Config, visit func(name string, shape ...int) error) error {
	V, T, C := cfg.VocabSize, cfg.ContextLen, cfg.Embd
	if err := visit("wte.weight", V, C); err != nil {
		return err
	}
	if err := visit("wpe.weight", T, C); err != nil {
		return err
	}
	for i := 0; i < cfg.Layers; i++ {
		block := []struct {
			name  string
			shape []int
		}{
			{"ln_1.weight", []int{C}}, {"ln_1.bias", []int{C}},
			{"attn.c_attn.weight", []int{3 * C, C}}, {"attn.c_attn.bias", []int{3 * C}},
			{"attn.c_proj.weight", []int{C, C}}, {"attn.c_proj.bias", []int{C}},
			{"ln_2.weight", []int{C}}, {"ln_2.bias", []int{C}},
			{"mlp.c_fc.weight", []int{4 * C, C}}, {"mlp.c_fc.bias", []int{4 * C}},
			{"mlp.c_proj.weight", []int{C, 4 * C}}, {"mlp.c_proj.bias", []int{C}},
		}
		for _, p := range block {
			if err := visit(fmt.Sprintf("h.%d.%s", i, p.name), p.shape...); err != nil {
				return err
			}
		}
	}
	if err := visit("ln_f.weight", C); err != nil {
		return err
	}
	return visit("ln_f.bias", C)
}

// hfShape returns the shape a goushi parameter has in the Hugging Face
// layout: Conv1D weights are (in, out), everything else is unchanged.
func hfShape(name string, shape []int) []int {
	if isConv1DWeight(name) {
		return []int{shape[1], shape[0]}
	}
	return slices.Clone(shape)
}

// isAttnMaskBuffer reports whether name is one of the causal-mask buffers
// that older transformers versions saved with each attention layer.
func isAttnMaskBuffer(name string) bool {
	if !strings.HasPrefix(name, "h.") {
		return false
	}
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
