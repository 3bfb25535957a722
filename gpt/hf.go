package gpt

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file maps goushi's model onto the Hugging Face GPT-2 layout
// (transformers' GPT2Config and GPT2LMHeadModel state dict), which
// ExportHF writes and ImportHF reads. The architectures already agree:
// learned positions, pre-LayerNorm blocks with eps 1e-5, GELU with the tanh
// approximation, attention scaled by 1/√(head dim) and an output head tied
// to wte. Only names and the layout of the four projection weights differ.

// Files of a Hugging Face model directory.
const (
	HFWeightsFile         = "model.safetensors"
	HFWeightsIndexFile    = "model.safetensors.index.json"
	HFConfigFile          = "config.json"
	HFTokenizerFile       = "tokenizer.json"
	HFTokenizerConfigFile = "tokenizer_config.json"
	HFGenerationFile      = "generation_config.json"
	HFCreditsFile         = "CREDITS.md"
	HFModelCardFile       = "README.md"
)

// hfPrefix starts every tensor name of GPT2LMHeadModel except lm_head.
const hfPrefix = "transformer."

// hfLMHead is the output head of GPT2LMHeadModel. Tied models leave it out
// of model.safetensors because it is wte.weight.
const hfLMHead = "lm_head.weight"

// layerNormEps is the LayerNorm epsilon of every goushi LayerNorm, written
// as layer_norm_epsilon.
const layerNormEps = 1e-5

// hfConfig is the GPT2Config of transformers as stored in config.json.
// Pointer fields tell a missing key from a zero value on import, where a
// missing key takes GPT2Config's default (see hfDefaults).
type hfConfig struct {
	Architectures              []string `json:"architectures,omitempty"`
	ModelType                  string   `json:"model_type"`
	VocabSize                  *int     `json:"vocab_size"`
	NPositions                 *int     `json:"n_positions"`
	NEmbd                      *int     `json:"n_embd"`
	NLayer                     *int     `json:"n_layer"`
	NHead                      *int     `json:"n_head"`
	NInner                     *int     `json:"n_inner"` // null means 4·n_embd
	ActivationFunction         *string  `json:"activation_function"`
	ResidPdrop                 *float64 `json:"resid_pdrop"`
	EmbdPdrop                  *float64 `json:"embd_pdrop"`
	AttnPdrop                  *float64 `json:"attn_pdrop"`
	LayerNormEpsilon           *float64 `json:"layer_norm_epsilon"`
	InitializerRange           float64  `json:"initializer_range"`
	ScaleAttnWeights           *bool    `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx bool     `json:"scale_attn_by_inverse_layer_idx"`
	ReorderAndUpcastAttn       bool     `json:"reorder_and_upcast_attn"`
	AddCrossAttention          bool     `json:"add_cross_attention"`
	TieWordEmbeddings          *bool    `json:"tie_word_embeddings"`
	UseCache                   bool     `json:"use_cache"`
	BOSTokenID                 *int     `json:"bos_token_id"`
	EOSTokenID                 *int     `json:"eos_token_id"`
	TorchDtype                 string   `json:"torch_dtype,omitempty"`

	// GoushiStyles keeps Config.Styles. transformers stores unknown keys
	// as attributes and writes them back, so a round trip through
	// save_pretrained preserves it.
	GoushiStyles []string `json:"goushi_styles,omitempty"`
}

// hfActivations are the activation_function values that mean GELU with the
// tanh approximation, the only activation goushi implements. Both names
// select the same formula in transformers.
var hfActivations = []string{"gelu_new", "gelu_pytorch_tanh"}

// hfConfigFrom returns the GPT2Config of cfg. eos is the id of the
// end-of-text token, or -1 when the tokenizer has none.
func hfConfigFrom(cfg Config, eos int) hfConfig {
	p := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	yes := true
	act := hfActivations[0]
	h := hfConfig{
		Architectures:      []string{"GPT2LMHeadModel"},
		ModelType:          "gpt2",
		VocabSize:          p(cfg.VocabSize),
		NPositions:         p(cfg.ContextLen),
		NEmbd:              p(cfg.Embd),
		NLayer:             p(cfg.Layers),
		NHead:              p(cfg.Heads),
		ActivationFunction: &act,
		ResidPdrop:         f(float32ToFloat64(cfg.Dropout)),
		EmbdPdrop:          f(float32ToFloat64(cfg.Dropout)),
		AttnPdrop:          f(float32ToFloat64(cfg.Dropout)),
		LayerNormEpsilon:   f(layerNormEps),
		InitializerRange:   0.02,
		ScaleAttnWeights:   &yes,
		TieWordEmbeddings:  &yes,
		UseCache:           true,
		TorchDtype:         "float32",
		GoushiStyles:       cfg.Styles,
	}
	if eos >= 0 {
		h.BOSTokenID = p(eos)
		h.EOSTokenID = p(eos)
	}
	return h
}

// float32ToFloat64 returns the float64 nearest to the shortest decimal of
// x, so float32(0.1) becomes 0.1 rather than 0.10000000149011612.
func float32ToFloat64(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}

// hfDefaults fills the keys that config.json leaves out with the defaults
// of transformers' GPT2Config (the 124M GPT-2), as from_pretrained does.
func (h *hfConfig) hfDefaults() {
	setInt := func(p **int, v int) {
		if *p == nil {
			*p = &v
		}
	}
	setFloat := func(p **float64, v float64) {
		if *p == nil {
			*p = &v
		}
	}

	setInt(&h.VocabSize, 50257)
	setInt(&h.NPositions, 1024)
	setInt(&h.NEmbd, 768)
	setInt(&h.NLayer, 12)
	setInt(&h.NHead, 12)

	setFloat(&h.ResidPdrop, 0.1)
	setFloat(&h.EmbdPdrop, 0.1)
	setFloat(&h.AttnPdrop, 0.1)
	setFloat(&h.LayerNormEpsilon, 1e-5)

	if h.ActivationFunction == nil {
		act := "gelu_new"
		h.ActivationFunction = &act
	}
	yes := true
	if h.ScaleAttnWeights == nil {
		h.ScaleAttnWeights = &yes
	}
	if h.TieWordEmbeddings == nil {
		h.TieWordEmbeddings = &yes
	}
}

// goushiConfig checks that h describes a model goushi can run and returns
// its Config. Each error names the config.json key and the supported value.
func (h hfConfig) goushiConfig() (Config, error) {
	h.hfDefaults()
	if h.ModelType != "" && h.ModelType != "gpt2" {
		return Config{}, fmt.Errorf("model_type %q is not supported; goushi imports only "+
			"\"gpt2\"", h.ModelType)
	}
	act := *h.ActivationFunction
	if !slices.Contains(hfActivations, act) {
		return Config{}, fmt.Errorf("activation_function %q is not supported; goushi "+
			"implements GELU with the tanh approximation (%s)", act,
			strings.Join(hfActivations, " or "))
	}
	if eps := *h.LayerNormEpsilon; math.Abs(eps-layerNormEps) > 1e-12 {
		return Config{}, fmt.Errorf("layer_norm_epsilon %g is not supported; goushi's "+
			"LayerNorm uses %g", eps, layerNormEps)
	}
	if h.NInner != nil && *h.NInner != 4**h.NEmbd {
		return Config{}, fmt.Errorf("n_inner %d is not supported; goushi's MLP width is "+
			"4·n_embd = %d (set n_inner to null)", *h.NInner, 4**h.NEmbd)
	}
	if !*h.ScaleAttnWeights {
		return Config{}, fmt.Errorf("scale_attn_weights false is not supported; goushi " +
			"always scales attention scores by 1/√(head dim)")
	}
	if h.ScaleAttnByInverseLayerIdx {
		return Config{}, fmt.Errorf("scale_attn_by_inverse_layer_idx true is not supported; " +
			"goushi scales attention scores only by 1/√(head dim)")
	}
	if h.AddCrossAttention {
		return Config{}, fmt.Errorf("add_cross_attention true is not supported; goushi is a " +
			"decoder-only model")
	}
	// reorder_and_upcast_attn only changes the precision of the attention
	// product in half-precision runs, so either value gives the same model.

	if err := h.checkSizes(); err != nil {
		return Config{}, err
	}
	resid, embd, attn := *h.ResidPdrop, *h.EmbdPdrop, *h.AttnPdrop
	if resid != embd || resid != attn {
		return Config{}, fmt.Errorf("resid_pdrop %g, embd_pdrop %g and attn_pdrop %g differ; "+
			"goushi has one dropout rate, so set all three to the same value", resid, embd, attn)
	}
	if !(resid >= 0 && resid < 1) {
		return Config{}, fmt.Errorf("resid_pdrop %g is outside [0, 1); set the three dropout "+
			"rates to a probability below 1", resid)
	}
	cfg := Config{
		VocabSize:  *h.VocabSize,
		ContextLen: *h.NPositions,
		Layers:     *h.NLayer,
		Heads:      *h.NHead,
		Embd:       *h.NEmbd,
		Dropout:    float32(resid),
		Styles:     h.GoushiStyles,
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// checkSizes returns an error naming the first size key of h that is not
// positive, or n_embd when it does not split into n_head whole heads. It
// runs before Config.Validate so that the error uses config.json's keys.
func (h hfConfig) checkSizes() error {
	sizes := []struct {
		key   string
		value int
	}{
		{"vocab_size", *h.VocabSize}, {"n_positions", *h.NPositions}, {"n_embd", *h.NEmbd},
		{"n_layer", *h.NLayer}, {"n_head", *h.NHead},
	}
	for _, s := range sizes {
		if s.value <= 0 {
			return fmt.Errorf("%s %d is invalid; it must be positive", s.key, s.value)
		}
	}
	if *h.NEmbd%*h.NHead != 0 {
		return fmt.Errorf("n_embd %d is not divisible by n_head %d; each head needs the same "+
			"head dim", *h.NEmbd, *h.NHead)
	}
	return nil
}

// hfName returns the GPT2LMHeadModel state-dict name of a goushi parameter.
func hfName(name string) string { return hfPrefix + name }

// isConv1DWeight reports whether the goushi parameter name is the weight of
// one of GPT-2's Conv1D projections (attn.c_attn, attn.c_proj, mlp.c_fc,
// mlp.c_proj). goushi stores them (out, in) like nn.Linear; Conv1D stores
// (in, out), so they are transposed on the way out and back in.
func isConv1DWeight(name string) bool {
	if !strings.HasPrefix(name, "h.") || !strings.HasSuffix(name, ".weight") {
		return false
	}
	return strings.Contains(name, ".attn.") || strings.Contains(name, ".mlp.")
}

// transpose returns the (cols, rows) transpose of the row-major (rows,
// cols) matrix src.
func transpose(src []float32, rows, cols int) []float32 {
	if len(src) != rows*cols {
		panic(fmt.Sprintf("gpt: transpose of %d values as (%d, %d)", len(src), rows, cols))
	}
	dst := make([]float32, len(src))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
	return dst
}
