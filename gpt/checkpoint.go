package gpt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

// Files of a checkpoint directory.
const (
	ModelFile     = "model.safetensors"     // every parameter under its name, F32
	ConfigFile    = "config.json"           // the Config
	TokenizerFile = "tokenizer.bpe"         // the tokenizer, as bpe.Save writes it
	OptimizerFile = "optimizer.safetensors" // AdamW moments m.<name> and v.<name>
	StateFile     = "state.json"            // the TrainState
	CreditsFile   = "CREDITS.md"            // the corpus credits
	LossCurveFile = "loss.svg"              // the loss curve
)

// LossPoint is one entry of the loss history. Loss is the mean
// cross-entropy in nats per token; BPB is set for validation points only.
type LossPoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	BPB  float64 `json:"bpb,omitempty"`
}

// LossHistory holds the training loss of each logged step and the
// validation loss of each evaluation.
type LossHistory struct {
	Train []LossPoint `json:"train"`
	Val   []LossPoint `json:"val"`
}

// TrainState is everything besides weights and moments that a run needs to
// continue bit for bit, plus its figures for reports.
type TrainState struct {
	Step       int `json:"step"`        // optimizer steps done
	TotalSteps int `json:"total_steps"` // steps the schedule was laid out for

	// SamplerState is the data sampler's PCG state and WindowsDrawn the
	// number of windows it has drawn: together the data position.
	SamplerState []byte `json:"sampler_state"`
	WindowsDrawn int64  `json:"windows_drawn"`

	TokensSeen     int64   `json:"tokens_seen"`
	ElapsedSeconds float64 `json:"elapsed_seconds"` // training time over all sessions

	ValLoss     float64 `json:"val_loss,omitempty"` // latest validation loss
	ValBPB      float64 `json:"val_bpb,omitempty"`  // latest validation bits per byte
	BestValLoss float64 `json:"best_val_loss,omitempty"`
	BestStep    int     `json:"best_step,omitempty"`

	LossHistory LossHistory `json:"loss_history"`

	// Flags are the run's settings. A resumed run takes them over, whatever
	// its own flags say, so that it trains the same way.
	Flags RunFlags `json:"flags"`
}

// RunFlags are the settings of a training run that state.json records.
type RunFlags struct {
	Corpus      string   `json:"corpus"` // "" for the embedded corpus
	Seed        uint64   `json:"seed"`
	Batch       int      `json:"batch"`
	Accum       int      `json:"accum"`
	Micro       int      `json:"micro,omitempty"` // sequences per pass; 0 is automatic
	LR          float64  `json:"lr"`
	MinLR       float64  `json:"min_lr"`
	Warmup      int      `json:"warmup"`
	WeightDecay float64  `json:"weight_decay"`
	Clip        float64  `json:"clip"`
	StyleMix    StyleMix `json:"style_mix"`
}

// Checkpoint is a trained model with its tokenizer, training state and data
// credits, as stored in a checkpoint directory.
type Checkpoint struct {
	Dir       string
	Model     *Model
	Tokenizer *bpe.Tokenizer
	State     TrainState // includes Step, BestValLoss, ValBPB, LossHistory
	Credits   string     // Markdown
}

// SaveCheckpoint writes ck to dir: the weights, config, tokenizer, state,
// credits and loss curve, and the optimizer moments when opt is not nil.
// Each file is synced. The files are written into a temporary directory
// beside dir that then replaces dir, so dir is never left half-written.
func SaveCheckpoint(dir string, ck *Checkpoint, opt *layers.AdamW) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		os.RemoveAll(tmp)
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeCheckpointFiles(tmp, ck, opt); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}

	// Swap the directories: move an old dir aside, move the new one in,
	// then delete the old one.
	old := ""
	if _, err := os.Lstat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("save checkpoint %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	syncDir(parent)
	if old != "" {
		os.RemoveAll(old)
	}
	ck.Dir = dir
	return nil
}

func writeCheckpointFiles(dir string, ck *Checkpoint, opt *layers.AdamW) error {
	m := ck.Model
	names := make([]string, 0, len(m.Params()))
	weights := make(map[string]*tensor.Tensor, len(m.Params()))
	for _, p := range m.Params() {
		names = append(names, p.Name)
		weights[p.Name] = p.Value
	}
	meta := map[string]string{"format": "goushi", "step": strconv.Itoa(ck.State.Step)}
	if err := WriteSafetensors(filepath.Join(dir, ModelFile), names, weights, meta); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ConfigFile), m.Config); err != nil {
		return err
	}
	if ck.Tokenizer != nil {
		if err := ck.Tokenizer.Save(filepath.Join(dir, TokenizerFile)); err != nil {
			return err
		}
	}
	if opt != nil {
		if err := writeOptimizer(filepath.Join(dir, OptimizerFile), m, opt); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, StateFile), ck.State); err != nil {
		return err
	}
	if err := writeText(filepath.Join(dir, CreditsFile), ck.Credits); err != nil {
		return err
	}
	return writeText(filepath.Join(dir, LossCurveFile), LossCurveSVG(ck.State.LossHistory))
}

func writeOptimizer(path string, m *Model, opt *layers.AdamW) error {
	var names []string
	moments := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		mm, vv := opt.Moments(p.Name)
		if mm == nil {
			return fmt.Errorf("optimizer has no moments for %q", p.Name)
		}
		names = append(names, "m."+p.Name, "v."+p.Name)
		moments["m."+p.Name] = tensor.FromSlice(mm, p.Value.Shape...)
		moments["v."+p.Name] = tensor.FromSlice(vv, p.Value.Shape...)
	}
	meta := map[string]string{"step": strconv.Itoa(opt.StepCount())}
	return WriteSafetensors(path, names, moments, meta)
}

// LoadCheckpoint reads the checkpoint in dir. config.json, model.safetensors
// and tokenizer.bpe are required; state.json and CREDITS.md are optional.
// Errors name the file, and the tensor where one is at fault: a missing or
// corrupt file, a tokenizer whose vocabulary differs from the model's, or a
// tensor that is missing, unknown or of the wrong shape.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	switch st, err := os.Stat(dir); {
	case errNotExist(err):
		return nil, fmt.Errorf("load checkpoint: %s does not exist; pass a checkpoint "+
			"folder such as runs/NAME/best: %w", dir, err)
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("load checkpoint: %s is a file; pass the folder that contains "+
			"it, %s", dir, filepath.Dir(dir))
	}
	var cfg Config
	if err := readJSON(filepath.Join(dir, ConfigFile), &cfg); err != nil {
		if errNotExist(err) {
			return nil, fmt.Errorf("load checkpoint: %w", notCheckpoint(dir, err))
		}
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if err := notHFFolder(dir); err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	tokPath := filepath.Join(dir, TokenizerFile)
	tok, err := bpe.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if tok.VocabSize() != cfg.VocabSize {
		return nil, fmt.Errorf("load checkpoint %s: the tokenizer has %d ids but the model's "+
			"vocab_size in %s is %d; the two files come from different runs",
			tokPath, tok.VocabSize(), ConfigFile, cfg.VocabSize)
	}

	m := New(cfg, 0)
	if err := loadWeights(filepath.Join(dir, ModelFile), m); err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}

	ck := &Checkpoint{Dir: dir, Model: m, Tokenizer: tok}
	statePath := filepath.Join(dir, StateFile)
	if err := readJSON(statePath, &ck.State); err != nil && !errNotExist(err) {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	credits, err := os.ReadFile(filepath.Join(dir, CreditsFile))
	if err != nil && !errNotExist(err) {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	ck.Credits = string(credits)
	return ck, nil
}

// notCheckpoint explains a dir without config.json: a run directory of
// 'goushi train' gets the checkpoints inside it named, anything else err.
func notCheckpoint(dir string, err error) error {
	var inside []string
	for _, name := range []string{"best", "latest"} {
		inner := filepath.Join(dir, name)
		if _, statErr := os.Stat(filepath.Join(inner, ConfigFile)); statErr == nil {
			inside = append(inside, inner)
		}
	}
	if len(inside) > 0 {
		return fmt.Errorf("%s is a training run directory, not a checkpoint; pass a "+
			"checkpoint inside it: %s", dir, strings.Join(inside, " or "))
	}
	what := "not found"
	if _, statErr := os.Stat(dir); statErr == nil {
		what = "missing"
	}
	msg := fmt.Sprintf("%s is not a goushi checkpoint: %s %s; pass a best/ or "+
		"step-NNNNNN/ folder that 'goushi train' wrote", dir, filepath.Join(dir, ConfigFile), what)
	return &wrappedError{msg: msg, err: err}
}

// wrappedError is an error whose message replaces that of the error it
// wraps, so that errors.Is still matches the cause.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// notHFFolder returns an error when dir holds a Hugging Face model rather
// than a goushi checkpoint: its config.json has a model_type and no
// tokenizer.bpe sits beside it. Such a folder shares the file names
// config.json and model.safetensors, so without this check it would fail
// later on a missing context_len.
func notHFFolder(dir string) error {
	path := filepath.Join(dir, ConfigFile)
	var probe struct {
		ModelType *string `json:"model_type"`
	}
	if err := readJSON(path, &probe); err != nil || probe.ModelType == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err == nil {
		return nil
	}
	return fmt.Errorf("%s is a Hugging Face model folder (model_type %q in %s), not a goushi "+
		"checkpoint; convert it first with 'goushi import hf --in %s --out NEWDIR'",
		dir, *probe.ModelType, ConfigFile, dir)
}

// loadWeights copies every parameter of m from the safetensors file.
func loadWeights(path string, m *Model) error {
	_, tensors, _, err := ReadSafetensors(path)
	if err != nil {
		return err
	}
	for _, p := range m.Params() {
		t, ok := tensors[p.Name]
		if !ok {
			return fmt.Errorf("%s: tensor %q is missing", path, p.Name)
		}
		if !tensor.SameShape(t, p.Value) {
			return fmt.Errorf("%s: tensor %q has shape %v but the config needs %v",
				path, p.Name, t.Shape, p.Value.Shape)
		}
		copy(p.Value.Data, t.Data)
		delete(tensors, p.Name)
	}
	for name := range tensors {
		return fmt.Errorf("%s: tensor %q is not a parameter of this model", path, name)
	}
	return nil
}

// LoadOptimizer restores the AdamW moments and step count that
// SaveCheckpoint wrote to dir into opt, whose parameters are those of m.
func LoadOptimizer(dir string, m *Model, opt *layers.AdamW) error {
	path := filepath.Join(dir, OptimizerFile)
	_, tensors, meta, err := ReadSafetensors(path)
	if err != nil {
		return fmt.Errorf("load optimizer: %w", err)
	}
	for _, p := range m.Params() {
		mm, vv := opt.Moments(p.Name)
		for _, part := range []struct {
			name string
			dst  []float32
		}{{"m." + p.Name, mm}, {"v." + p.Name, vv}} {
			t, ok := tensors[part.name]
			if !ok {
				return fmt.Errorf("load optimizer %s: tensor %q is missing", path, part.name)
			}
			if len(t.Data) != len(part.dst) {
				return fmt.Errorf("load optimizer %s: tensor %q has %d values, want %d",
					path, part.name, len(t.Data), len(part.dst))
			}
			copy(part.dst, t.Data)
		}
	}
	step, err := strconv.Atoi(meta["step"])
	if err != nil || step < 0 {
		return fmt.Errorf("load optimizer %s: invalid step %q in the metadata", path, meta["step"])
	}
	opt.SetStepCount(step)
	return nil
}

func writeJSON(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeText(path, string(append(js, '\n')))
}

func writeText(path, s string) error {
	return writeFileAtomic(path, func(f *os.File) error {
		_, err := f.WriteString(s)
		return err
	})
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// syncDir makes renames inside dir durable where the file system allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
