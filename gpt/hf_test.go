package gpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/tensor"
)

// hfSample mixes Chinese, English, digits, full-width punctuation and
// spaces, so the merges of every pre-tokenizer rule are exercised.
const hfSample = "我们今天去吃火锅吧！The quick brown fox jumps over the lazy dog. " +
	"家人们谁懂啊，这个 GPT 模型的 loss 从 3.14 降到了 2.71……绝绝子。\n" +
	"I'm telling you: 这不是演习， it's 2026 and we've got 128 tokens/s!\n"

// hfTrainTexts is the corpus of the test tokenizer: the sample and some
// variations, so that merges span Han runs, English words and numbers.
var hfTrainTexts = []string{
	hfSample, hfSample, "我们今天去吃火锅，明天也去吃火锅。", "the lazy dog and the quick fox",
	"模型的 loss 降到了 1.41 以下，家人们。", "It's the tokens we've got, they're fine.",
}

// newHFTestTokenizer trains a small tokenizer with the end-of-text token
// and one style tag.
func newHFTestTokenizer(t *testing.T) *bpe.Tokenizer {
	t.Helper()
	tok, err := bpe.Train(hfTrainTexts, bpe.TrainOptions{
		VocabSize: 400,
		Specials:  []string{bpe.EndOfText, "<|style:抽象|>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newHFTestModel returns a small model whose every parameter, biases and
// LayerNorm gains included, holds distinct random values, so that a
// misplaced or mistransposed tensor changes the logits.
func newHFTestModel(vocab int, styles []string) *Model {
	m := New(Config{VocabSize: vocab, ContextLen: 16, Layers: 2, Heads: 2, Embd: 32,
		Dropout: 0.1, Styles: styles}, 7)
	rng := rand.New(rand.NewPCG(11, 13))
	for _, p := range m.Params() {
		mean := 0.0
		if strings.Contains(p.Name, "ln_") && strings.HasSuffix(p.Name, ".weight") {
			mean = 1
		}
		for i := range p.Value.Data {
			p.Value.Data[i] = float32(mean + 0.2*rng.NormFloat64())
		}
	}
	return m
}

func TestByteToUnicodeIsBijection(t *testing.T) {
	alphabet := bpe.ByteToUnicode()
	back := make(map[rune]int, 256)
	for b, r := range alphabet {
		if prev, dup := back[r]; dup {
			t.Fatalf("bytes %#x and %#x both map to %q", prev, b, r)
		}
		back[r] = b
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			t.Errorf("byte %#x maps to %U, which is not a visible character", b, r)
		}
	}
	if len(back) != 256 {
		t.Fatalf("alphabet has %d distinct characters, want 256", len(back))
	}
	// GPT-2's rule: the 188 printable Latin-1 bytes map to themselves and
	// the other 68, in byte order, to U+0100 onwards.
	for b := 0; b < 256; b++ {
		printable := (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE
		if printable && alphabet[b] != rune(b) {
			t.Errorf("printable byte %#x maps to %U, want itself", b, alphabet[b])
		}
	}
	if got := alphabet[' ']; got != 'Ġ' {
		t.Errorf("space maps to %q, want 'Ġ' (U+0120)", got)
	}
}

func TestByteToUnicodeChineseCharacter(t *testing.T) {
	alphabet := bpe.ByteToUnicode()
	utf8 := []byte("中")
	if !bytes.Equal(utf8, []byte{0xE4, 0xB8, 0xAD}) {
		t.Fatalf("中 is % X in UTF-8, want E4 B8 AD", utf8)
	}
	// E4 and B8 are printable Latin-1 (ä, ¸). AD, the soft hyphen, is the
	// 68th non-printable byte (33 below '!', 34 from DEL to NBSP, then AD),
	// so it maps to U+0100 + 67 = U+0143 (Ń).
	var name []rune
	for _, b := range utf8 {
		name = append(name, alphabet[b])
	}
	if want := "ä¸Ń"; string(name) != want {
		t.Fatalf("中 maps to %q, want %q", string(name), want)
	}

	inverse := make(map[rune]byte, 256)
	for b, r := range alphabet {
		inverse[r] = byte(b)
	}
	var decoded []byte
	for _, r := range "ä¸Ń" {
		decoded = append(decoded, inverse[r])
	}
	if string(decoded) != "中" {
		t.Fatalf("ä¸Ń maps back to % X, want E4 B8 AD", decoded)
	}
}

// hfMergeEncoder is a BPE encoder written from tokenizer.json alone, apart
// from goushi's tokenizer: it splits a piece into alphabet characters and
// repeatedly merges every occurrence of the adjacent pair with the lowest
// merge rank, the algorithm of GPT-2's encoder.py.
type hfMergeEncoder struct {
	vocab    map[string]int
	ranks    map[[2]string]int
	alphabet [256]rune
}

func newHFMergeEncoder(t *testing.T, tokenizerJSON []byte) *hfMergeEncoder {
	t.Helper()
	var f struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		t.Fatal(err)
	}
	e := &hfMergeEncoder{vocab: f.Model.Vocab, ranks: map[[2]string]int{},
		alphabet: bpe.ByteToUnicode()}
	for i, m := range f.Model.Merges {
		left, right, ok := strings.Cut(m, " ")
		if !ok {
			t.Fatalf("merge %d %q has no space", i, m)
		}
		e.ranks[[2]string{left, right}] = i
	}
	return e
}

func (e *hfMergeEncoder) encodePiece(t *testing.T, piece string) []int {
	var syms []string
	for _, b := range []byte(piece) {
		syms = append(syms, string(e.alphabet[b]))
	}
	for len(syms) > 1 {
		best, bestRank := [2]string{}, math.MaxInt
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := e.ranks[[2]string{syms[i], syms[i+1]}]; ok && r < bestRank {
				best, bestRank = [2]string{syms[i], syms[i+1]}, r
			}
		}
		if bestRank == math.MaxInt {
			break
		}
		var merged []string
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
				merged = append(merged, best[0]+best[1])
				i++
			} else {
				merged = append(merged, syms[i])
			}
		}
		syms = merged
	}
	ids := make([]int, len(syms))
	for i, s := range syms {
		id, ok := e.vocab[s]
		if !ok {
			t.Fatalf("piece %q: symbol %q is not in the vocab", piece, s)
		}
		ids[i] = id
	}
	return ids
}

func TestHFMergesReproduceEncoding(t *testing.T) {
	tok := newHFTestTokenizer(t)
	var js bytes.Buffer
	if err := tok.WriteHFJSON(&js); err != nil {
		t.Fatal(err)
	}
	enc := newHFMergeEncoder(t, js.Bytes())

	// The pieces come from goushi's pre-tokenizer, which tokenizer.json
	// states as its Split regex; what this test checks is the merges.
	var got []int
	for _, piece := range bpe.PreTokenize(hfSample) {
		got = append(got, enc.encodePiece(t, piece)...)
	}
	want := tok.Encode(hfSample)
	if !slices.Equal(got, want) {
		t.Fatalf("merges of tokenizer.json give\n%v\ngoushi encodes\n%v", got, want)
	}
	if len(want) >= len([]byte(hfSample))/2 {
		t.Fatalf("%d tokens for %d bytes: the merges barely apply, so the test proves little",
			len(want), len(hfSample))
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	tok := newHFTestTokenizer(t)
	m := newHFTestModel(tok.VocabSize(), []string{"抽象"})
	dir := t.TempDir()
	const credits = "# Credits\n\n- 测试语料 (CC0-1.0)\n"
	if err := ExportHF(dir, &Checkpoint{Model: m, Tokenizer: tok, Credits: credits}); err != nil {
		t.Fatal(err)
	}

	ck, err := ImportHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, gotTok, gotCredits := ck.Model, ck.Tokenizer, ck.Credits
	if !configsEqual(got.Config, m.Config) {
		t.Errorf("config %+v, want %+v", got.Config, m.Config)
	}
	assertSameWeights(t, got, m)
	if !slices.Equal(gotTok.Merges(), tok.Merges()) {
		t.Errorf("imported tokenizer has %d merges that differ from the %d exported",
			len(gotTok.Merges()), len(tok.Merges()))
	}
	if !slices.Equal(gotTok.Specials(), tok.Specials()) {
		t.Errorf("specials %q, want %q", gotTok.Specials(), tok.Specials())
	}
	if a, b := gotTok.Encode(hfSample), tok.Encode(hfSample); !slices.Equal(a, b) {
		t.Errorf("imported tokenizer encodes the sample as %v, want %v", a, b)
	}
	if gotCredits != credits {
		t.Errorf("credits %q, want %q", gotCredits, credits)
	}
}

func configsEqual(a, b Config) bool {
	return a.VocabSize == b.VocabSize && a.ContextLen == b.ContextLen &&
		a.Layers == b.Layers && a.Heads == b.Heads && a.Embd == b.Embd &&
		a.Dropout == b.Dropout && slices.Equal(a.Styles, b.Styles)
}

func assertSameWeights(t *testing.T, got, want *Model) {
	t.Helper()
	for _, p := range want.Params() {
		q := got.Param(p.Name)
		if q == nil {
			t.Errorf("imported model has no %s", p.Name)
			continue
		}
		if !slices.Equal(q.Value.Shape, p.Value.Shape) {
			t.Errorf("%s has shape %v, want %v", p.Name, q.Value.Shape, p.Value.Shape)
			continue
		}
		if !sameBits(q.Value.Data, p.Value.Data) {
			t.Errorf("%s differs after export and import", p.Name)
		}
	}
}

func TestExportWritesHFLayout(t *testing.T) {
	tok := newHFTestTokenizer(t)
	m := newHFTestModel(tok.VocabSize(), []string{"抽象"})
	dir := t.TempDir()
	if err := ExportHF(dir, &Checkpoint{Model: m, Tokenizer: tok, Credits: "credits\n"}); err != nil {
		t.Fatal(err)
	}
	names, tensors, meta, err := ReadSafetensors(filepath.Join(dir, HFWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v, want format pt", meta)
	}
	if len(names) != len(m.Params()) {
		t.Errorf("%d tensors, want %d (lm_head left out)", len(names), len(m.Params()))
	}
	if _, ok := tensors[hfLMHead]; ok {
		t.Errorf("%s is written, but a tied head must be left out", hfLMHead)
	}

	// Conv1D stores (in, out): element [i][j] is goushi's [j][i].
	cAttn := tensors["transformer.h.1.attn.c_attn.weight"]
	if cAttn == nil {
		t.Fatal("transformer.h.1.attn.c_attn.weight missing")
	}
	if want := []int{32, 96}; !slices.Equal(cAttn.Shape, want) {
		t.Fatalf("c_attn.weight shape %v, want %v (in, out)", cAttn.Shape, want)
	}
	src := m.Param("h.1.attn.c_attn.weight").Value // (96, 32)
	for _, ij := range [][2]int{{0, 0}, {3, 70}, {31, 95}, {17, 40}} {
		i, j := ij[0], ij[1]
		if cAttn.Data[i*96+j] != src.Data[j*32+i] {
			t.Errorf("c_attn.weight[%d][%d] = %g, want goushi's [%d][%d] = %g",
				i, j, cAttn.Data[i*96+j], j, i, src.Data[j*32+i])
		}
	}
	fc := tensors["transformer.h.0.mlp.c_fc.weight"]
	if want := []int{32, 128}; fc == nil || !slices.Equal(fc.Shape, want) {
		t.Errorf("mlp.c_fc.weight %v, want shape %v", fc, want)
	}
	wte := tensors["transformer.wte.weight"]
	if want := []int{tok.VocabSize(), 32}; wte == nil || !slices.Equal(wte.Shape, want) {
		t.Errorf("wte.weight %v, want shape %v", wte, want)
	}

	var cfg map[string]any
	readJSONFile(t, filepath.Join(dir, HFConfigFile), &cfg)
	eos, _ := tok.SpecialID(bpe.EndOfText)
	wantCfg := map[string]any{
		"model_type": "gpt2", "vocab_size": float64(tok.VocabSize()), "n_positions": 16.0,
		"n_embd": 32.0, "n_layer": 2.0, "n_head": 2.0, "n_inner": nil,
		"activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
		"resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
		"tie_word_embeddings": true, "scale_attn_weights": true,
		"eos_token_id": float64(eos), "bos_token_id": float64(eos),
	}
	for k, want := range wantCfg {
		if got, ok := cfg[k]; !ok || got != want {
			t.Errorf("config.json %s = %v, want %v", k, got, want)
		}
	}
	if arch, _ := cfg["architectures"].([]any); len(arch) != 1 || arch[0] != "GPT2LMHeadModel" {
		t.Errorf("config.json architectures = %v, want [GPT2LMHeadModel]", cfg["architectures"])
	}

	var gen map[string]any
	readJSONFile(t, filepath.Join(dir, HFGenerationFile), &gen)
	d := DefaultSampleOptions()
	wantGen := map[string]any{
		"eos_token_id": float64(eos), "do_sample": true, "max_length": 16.0,
		"top_k": float64(d.TopK), "temperature": float32ToFloat64(d.Temperature),
	}
	for k, want := range wantGen {
		if got, ok := gen[k]; !ok || got != want {
			t.Errorf("generation_config.json %s = %v, want %v", k, got, want)
		}
	}
	if _, ok := gen["max_new_tokens"]; ok {
		t.Error("generation_config.json sets max_new_tokens, which overrides max_length")
	}
	var tokCfg map[string]any
	readJSONFile(t, filepath.Join(dir, HFTokenizerConfigFile), &tokCfg)
	if tokCfg["eos_token"] != bpe.EndOfText {
		t.Errorf("tokenizer_config.json eos_token = %v, want %s", tokCfg["eos_token"],
			bpe.EndOfText)
	}
	card, err := os.ReadFile(filepath.Join(dir, HFModelCardFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(card, []byte("credits")) {
		t.Errorf("README.md does not repeat the credits:\n%s", card)
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestImportHFMatchesPyTorch imports a GPT-2 written by PyTorch in the
// Hugging Face layout (testdata/hf_gpt2_tiny, made by
// `scripts/hf_compare.py fixture`) and compares goushi's logits with the
// float64 PyTorch logits stored beside it. $GOUSHI_HF_IMPORT names another
// such folder, such as one `hf_compare.py finetune` wrote.
func TestImportHFMatchesPyTorch(t *testing.T) {
	dir := os.Getenv("GOUSHI_HF_IMPORT")
	fixture := dir == ""
	if fixture {
		dir = filepath.Join("testdata", "hf_gpt2_tiny")
	} else {
		requireAbsEnvPath(t, "GOUSHI_HF_IMPORT", dir)
	}
	ck, err := ImportHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, tok := ck.Model, ck.Tokenizer
	_, ref, _, err := ReadSafetensors(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	B, T := ref["ids"].Shape[0], ref["ids"].Shape[1]
	ids := make([]int, B*T)
	for i, x := range ref["ids"].Data {
		ids[i] = int(x)
	}
	logits := m.Forward(nil, ids, B, T).Value
	want := ref["logits"]
	if !slices.Equal(logits.Shape, want.Shape) {
		t.Fatalf("logits shape %v, want %v", logits.Shape, want.Shape)
	}
	// float32 against float64 over two blocks, logits up to 7: the largest
	// difference measured with each kernel set (avx512, avx2, generic) was
	// 3.8e-6, so 1e-4 leaves a 25x margin for other summation orders.
	d := hfMaxAbsDiff(logits.Data, want.Data)
	t.Logf("goushi vs PyTorch float64: max |Δlogit| %.3g over %d×%d logits",
		d, want.Shape[0], want.Shape[1])
	if d > 1e-4 {
		t.Errorf("logits differ from PyTorch by up to %g, want at most 1e-4", d)
	}

	if !fixture {
		return
	}
	// The fixture's merges are " t", "he", " the" and the first two bytes
	// of 中, with <|endoftext|> after them.
	if got, want := tok.Encode(" the 中"), []int{258, 0x20, 259, 0xAD}; !slices.Equal(got, want) {
		t.Errorf("fixture tokenizer encodes \" the 中\" as %v, want %v", got, want)
	}
}

// requireAbsEnvPath stops the test when the environment variable env holds
// a relative path, which would resolve against the package folder that go
// test runs in rather than the folder the user ran it from.
func requireAbsEnvPath(t *testing.T, env, path string) {
	t.Helper()
	if !filepath.IsAbs(path) {
		t.Fatalf("%s=%s is relative, but go test runs in the package folder gpt; "+
			"pass an absolute path such as $PWD/%s", env, path, path)
	}
}

func hfMaxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// exportForImport writes a small model in the Hugging Face layout and
// returns the folder, the model and the tensors of model.safetensors.
func exportForImport(t *testing.T) (string, *Model, []string, map[string]*tensor.Tensor) {
	t.Helper()
	tok := newHFTestTokenizer(t)
	m := newHFTestModel(tok.VocabSize(), []string{"抽象"})
	dir := t.TempDir()
	if err := ExportHF(dir, &Checkpoint{Model: m, Tokenizer: tok}); err != nil {
		t.Fatal(err)
	}
	names, tensors, _, err := ReadSafetensors(filepath.Join(dir, HFWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, m, names, tensors
}

func writeHFWeights(t *testing.T, dir string, names []string, tensors map[string]*tensor.Tensor) {
	t.Helper()
	if err := WriteSafetensors(filepath.Join(dir, HFWeightsFile), names, tensors,
		map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

func editHFConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, HFConfigFile)
	var cfg map[string]any
	readJSONFile(t, path, &cfg)
	edit(cfg)
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportHFRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor)
		want []string // substrings of the error
	}{
		{"erf gelu", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["activation_function"] = "gelu" })
		}, []string{`activation_function "gelu"`, "gelu_new"}},
		{"layer norm eps", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["layer_norm_epsilon"] = 1e-6 })
		}, []string{"layer_norm_epsilon 1e-06"}},
		{"mlp width", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_inner"] = 100 })
		}, []string{"n_inner 100"}},
		{"dropouts differ", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["attn_pdrop"] = 0.0 })
		}, []string{"attn_pdrop 0", "same value"}},
		{"other model type", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["model_type"] = "llama" })
		}, []string{`model_type "llama"`}},
		{"missing tensor", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			const drop = "transformer.h.1.mlp.c_fc.bias"
			writeHFWeights(t, dir, slices.DeleteFunc(slices.Clone(names),
				func(n string) bool { return n == drop }), ts)
		}, []string{`missing tensor "transformer.h.1.mlp.c_fc.bias"`}},
		{"untransposed weight", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			w := ts["transformer.h.0.attn.c_attn.weight"]
			ts["transformer.h.0.attn.c_attn.weight"] = tensor.FromSlice(w.Data, 96, 32)
			writeHFWeights(t, dir, names, ts)
		}, []string{`"transformer.h.0.attn.c_attn.weight" has shape [96 32]`, "want [32 96]"}},
		{"extra tensor", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			ts["transformer.h.0.attn.rotary.inv_freq"] = tensor.New(8)
			writeHFWeights(t, dir, append(slices.Clone(names), "transformer.h.0.attn.rotary.inv_freq"), ts)
		}, []string{`unexpected tensor "transformer.h.0.attn.rotary.inv_freq"`}},
		{"untied head", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			wte := ts["transformer.wte.weight"]
			head := tensor.FromSlice(slices.Clone(wte.Data), wte.Shape...)
			head.Data[5] += 1
			ts[hfLMHead] = head
			writeHFWeights(t, dir, append(slices.Clone(names), hfLMHead), ts)
			editHFConfig(t, dir, func(c map[string]any) { c["tie_word_embeddings"] = false })
		}, []string{`"lm_head.weight" differs`, "tied"}},
		{"untied without head", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["tie_word_embeddings"] = false })
		}, []string{`"lm_head.weight" is missing`, "tie_word_embeddings false"}},
		{"half precision", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			writeF16Safetensors(t, filepath.Join(dir, HFWeightsFile), "transformer.wte.weight")
		}, []string{`tensor "transformer.wte.weight" has dtype "F16"`, "model.float()"}},
		{"pytorch bin only", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			if err := os.Rename(filepath.Join(dir, HFWeightsFile),
				filepath.Join(dir, "pytorch_model.bin")); err != nil {
				t.Fatal(err)
			}
		}, []string{"neither model.safetensors", "safe_serialization=True"}},
		{"tokenizer too large", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["vocab_size"] = 300 })
		}, []string{"tokenizer has", "vocab_size is 300", "resize_token_embeddings("}},
		{"style without token", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["goushi_styles"] = []string{"猎奇"} })
		}, []string{`goushi_styles lists "猎奇"`}},
		{"no heads", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_head"] = 0 })
		}, []string{"n_head 0 is invalid"}},
		{"partial heads", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_head"] = 3 })
		}, []string{"n_embd 32 is not divisible by n_head 3"}},
		{"dropout of 1", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) {
				c["resid_pdrop"], c["embd_pdrop"], c["attn_pdrop"] = 1.0, 1.0, 1.0
			})
		}, []string{"resid_pdrop 1 is outside [0, 1)"}},
		// The file's 32-wide wte rejects these sizes before New would
		// allocate (or overflow on) a model of them.
		{"embd beyond the file", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_embd"] = 1 << 40; c["n_head"] = 1 })
		}, []string{`"transformer.wte.weight" has shape [400 32]`, "want [400 1099511627776]"}},
		{"positions beyond the file", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_positions"] = 1 << 40 })
		}, []string{`"transformer.wpe.weight" has shape [16 32]`}},
		{"layers beyond the file", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) { c["n_layer"] = 1_000_000_000 })
		}, []string{`missing tensor "transformer.h.2.ln_1.weight"`}},
		{"header length beyond the file", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b, math.MaxUint64)
				return b
			})
		}, []string{"model.safetensors: header length 18446744073709551615 exceeds"}},
		{"header length past the end", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b, uint64(len(b)))
				return b
			})
		}, []string{"model.safetensors: header length", "truncated"}},
		{"corrupt header", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte {
				b[8] = '['
				return b
			})
		}, []string{"model.safetensors: malformed header"}},
		{"truncated header", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte { return b[:40] })
		}, []string{"model.safetensors: header length", "truncated"}},
		{"truncated data", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte { return b[:len(b)-6] })
		}, []string{"model.safetensors", `tensor "transformer.ln_f.bias"`, "truncated"}},
		{"empty weights file", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFWeightsFile(t, dir, func(b []byte) []byte { return nil })
		}, []string{"model.safetensors: file is too short"}},
		{"missing tokenizer", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			if err := os.Remove(filepath.Join(dir, HFTokenizerFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{"tokenizer.json is missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, names, tensors := exportForImport(t)
			tc.edit(t, dir, names, tensors)
			_, err := ImportHF(dir)
			if err == nil {
				t.Fatal("import succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// editHFWeightsFile replaces model.safetensors in dir with edit of its bytes.
func editHFWeightsFile(t *testing.T, dir string, edit func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, HFWeightsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParamShapesMatchNew holds the shapes that import checks before it
// allocates a model equal to the parameters New makes.
func TestParamShapesMatchNew(t *testing.T) {
	var got []string
	err := forEachParamShape(testConfig, func(name string, shape ...int) error {
		got = append(got, fmt.Sprintf("%s %v", name, shape))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range New(testConfig, 1).Params() {
		want = append(want, fmt.Sprintf("%s %v", p.Name, p.Value.Shape))
	}
	if !slices.Equal(got, want) {
		t.Errorf("forEachParamShape lists\n%s\nNew makes\n%s", strings.Join(got, "\n"),
			strings.Join(want, "\n"))
	}
}

// writeF16Safetensors writes a one-tensor F16 safetensors file by hand,
// because WriteSafetensors writes only F32.
func writeF16Safetensors(t *testing.T, path, name string) {
	t.Helper()
	header := []byte(`{"` + name + `":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`)
	var buf bytes.Buffer
	buf.Write([]byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0})
	buf.Write(header)
	buf.Write([]byte{0x00, 0x3C, 0x00, 0x40}) // 1.0 and 2.0 in float16
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportHFAccepts(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor)
	}{
		{"names without prefix", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			short := make([]string, len(names))
			moved := make(map[string]*tensor.Tensor, len(ts))
			for i, n := range names {
				short[i] = strings.TrimPrefix(n, hfPrefix)
				moved[short[i]] = ts[n]
			}
			writeHFWeights(t, dir, short, moved)
		}},
		{"tied head written out", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			ts[hfLMHead] = ts["transformer.wte.weight"]
			writeHFWeights(t, dir, append(slices.Clone(names), hfLMHead), ts)
		}},
		{"attention mask buffers", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			ts["transformer.h.0.attn.bias"] = tensor.New(1, 1, 16, 16)
			ts["transformer.h.0.attn.masked_bias"] = tensor.New()
			writeHFWeights(t, dir, append(slices.Clone(names), "transformer.h.0.attn.bias",
				"transformer.h.0.attn.masked_bias"), ts)
		}},
		{"sharded", func(t *testing.T, dir string, names []string, ts map[string]*tensor.Tensor) {
			if err := os.Remove(filepath.Join(dir, HFWeightsFile)); err != nil {
				t.Fatal(err)
			}
			half := len(names) / 2
			shards := map[string][]string{
				"model-00001-of-00002.safetensors": names[:half],
				"model-00002-of-00002.safetensors": names[half:],
			}
			weightMap := map[string]string{}
			for file, part := range shards {
				if err := WriteSafetensors(filepath.Join(dir, file), part, ts, nil); err != nil {
					t.Fatal(err)
				}
				for _, n := range part {
					weightMap[n] = file
				}
			}
			index, _ := json.Marshal(map[string]any{"weight_map": weightMap})
			if err := os.WriteFile(filepath.Join(dir, HFWeightsIndexFile), index, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"gelu_pytorch_tanh and defaults", func(t *testing.T, dir string, _ []string, _ map[string]*tensor.Tensor) {
			editHFConfig(t, dir, func(c map[string]any) {
				c["activation_function"] = "gelu_pytorch_tanh"
				delete(c, "layer_norm_epsilon")
				delete(c, "tie_word_embeddings")
				delete(c, "goushi_styles") // styles come back from the tokenizer's specials
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, m, names, tensors := exportForImport(t)
			tc.edit(t, dir, names, tensors)
			ck, err := ImportHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := ck.Model
			if !configsEqual(got.Config, m.Config) {
				t.Errorf("config %+v, want %+v", got.Config, m.Config)
			}
			assertSameWeights(t, got, m)
		})
	}
}

func TestFloat32ToFloat64KeepsDecimal(t *testing.T) {
	cases := []struct {
		in   float32
		want float64
	}{{0.1, 0.1}, {0.8, 0.8}, {0.95, 0.95}, {1e-5, 1e-5}, {0, 0}, {1, 1}}
	for _, c := range cases {
		if got := float32ToFloat64(c.in); got != c.want {
			t.Errorf("float32ToFloat64(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestExportRejectsCheckpointDirectory(t *testing.T) {
	tok := newHFTestTokenizer(t)
	ck := &Checkpoint{Model: newHFTestModel(tok.VocabSize(), nil), Tokenizer: tok}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, ck, nil); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	err = ExportHF(dir, ck)
	if err == nil || !strings.Contains(err.Error(), "is a goushi checkpoint") {
		t.Fatalf("export into a checkpoint returned %v, want an error", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("export changed the checkpoint's model.safetensors")
	}
}
