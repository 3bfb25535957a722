package gpt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyInferConfig is small enough that a full recompute per step is cheap,
// with a context short enough that the tests run past it.
var tinyInferConfig = Config{VocabSize: 97, ContextLen: 12, Layers: 2, Heads: 2, Embd: 32}

// randomizeBiases gives every bias and LayerNorm parameter random values, so
// that a test would catch a bias or gain applied to the wrong rows (New sets
// them to 0 and 1).
func randomizeBiases(m *Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		if len(p.Value.Shape) == 1 {
			for i := range p.Value.Data {
				p.Value.Data[i] += float32(rng.NormFloat64() * 0.1)
			}
		}
	}
}

// recomputeLast returns the logits (V) after the last token of seq from a
// full forward pass without a cache.
func recomputeLast(m *Model, seq []int) []float32 {
	V := m.Config.VocabSize
	out := m.Forward(nil, seq, 1, len(seq)).Value.Data
	return append([]float32(nil), out[(len(seq)-1)*V:]...)
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestInfererMatchesRecompute checks the cached logits of every step, for
// three rows with different tokens, against a full recompute of each row's
// window, and rebuilds the cache from a slid window whenever the context is
// full.
func TestInfererMatchesRecompute(t *testing.T) {
	cfg := tinyInferConfig
	m := New(cfg, 7)
	randomizeBiases(m, 8)
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, prompt, steps = 3, 5, 30
	T, V := cfg.ContextLen, cfg.VocabSize

	seqs := make([][]int, rows) // every row's whole history
	start := 0                  // where every row's window starts; the rows have equal lengths
	ids := make([]int, 0, rows*T)
	for r := range seqs {
		for i := 0; i < prompt; i++ {
			seqs[r] = append(seqs[r], rng.IntN(V))
		}
		ids = append(ids, seqs[r]...)
	}
	s := newInferer(m, rows, PrecisionF32)
	s.reset(rows)
	logits := s.forward(ids, prompt)

	for step := 0; ; step++ {
		for r := range seqs {
			want := recomputeLast(m, seqs[r][start:])
			got := logits[r*V : (r+1)*V]
			if d := maxAbsDiff(got, want); d > 1e-5 {
				t.Fatalf("step %d row %d (pos %d): cached logits differ from recompute by %g",
					step, r, s.pos, d)
			}
		}
		if step == steps {
			break
		}
		for r := range seqs {
			seqs[r] = append(seqs[r], rng.IntN(V))
		}
		if s.pos < T {
			ids = ids[:0]
			for r := range seqs {
				ids = append(ids, seqs[r][len(seqs[r])-1])
			}
			logits = s.forward(ids, 1)
			continue
		}
		// The context is full: keep the last T-3 tokens of every row.
		keep := T - 3
		start = len(seqs[0]) - keep
		ids = ids[:0]
		for r := range seqs {
			ids = append(ids, seqs[r][start:]...)
		}
		s.reset(rows)
		logits = s.forward(ids, keep)
	}
	if s.pos > T {
		t.Fatalf("position %d passed the context length %d", s.pos, T)
	}
}

// TestInfererCopyRow checks that a prompt prefilled once and copied to
// other rows decodes like a prompt prefilled in every row.
func TestInfererCopyRow(t *testing.T) {
	cfg := tinyInferConfig
	m := New(cfg, 11)
	randomizeBiases(m, 12)
	V := cfg.VocabSize
	prompt := []int{5, 9, 1, 40, 96}
	next := []int{3, 17, 60}

	s := newInferer(m, 3, PrecisionF32)
	s.reset(1)
	s.forward(prompt, len(prompt))
	s.rows = 3
	s.copyRow(1, 0)
	s.copyRow(2, 0)
	got := s.forward(next, 1)
	for r, id := range next {
		want := recomputeLast(m, append(append([]int(nil), prompt...), id))
		if d := maxAbsDiff(got[r*V:(r+1)*V], want); d > 1e-5 {
			t.Errorf("row %d: logits after copied prompt differ by %g", r, d)
		}
	}
}

// TestInfererRejectsOverflow checks that no position can pass T-1.
func TestInfererRejectsOverflow(t *testing.T) {
	cfg := tinyInferConfig
	s := newInferer(New(cfg, 1), 1, PrecisionF32)
	s.reset(1)
	s.forward(make([]int, cfg.ContextLen), cfg.ContextLen)
	defer func() {
		if recover() == nil {
			t.Fatal("forward past the context length did not panic")
		}
	}()
	s.forward([]int{0}, 1)
}

// TestInfererHalfCloseToFloat checks single-token steps that read
// half-precision weights against a float32 recompute. Rounding a weight to
// half precision changes it by at most 2^-11 of its size, so the logits
// may move by about that fraction of their scale; 1% of the largest logit
// leaves room for the sums while catching a wrong row or offset.
func TestInfererHalfCloseToFloat(t *testing.T) {
	checkPrecisionClose(t, PrecisionF16, 0.01)
}

// TestInfererQ8CloseToFloat does the same for 8-bit weights, which move by
// up to 1/254 of their row's largest weight: 5% of the largest logit.
func TestInfererQ8CloseToFloat(t *testing.T) {
	checkPrecisionClose(t, PrecisionQ8, 0.05)
}

func checkPrecisionClose(t *testing.T, p Precision, tol float64) {
	cfg := tinyInferConfig
	m := New(cfg, 31)
	randomizeBiases(m, 32)
	V := cfg.VocabSize
	rng := rand.New(rand.NewPCG(33, 34))
	const rows = 2
	seqs := [][]int{{1, 2, 3}, {4, 5, 6}}
	s := newInferer(m, rows, p)
	defer s.close()
	s.reset(rows)
	s.forward(append(append([]int(nil), seqs[0]...), seqs[1]...), 3)
	for s.pos < cfg.ContextLen {
		ids := []int{rng.IntN(V), rng.IntN(V)}
		got := s.forward(ids, 1)
		for r := range seqs {
			seqs[r] = append(seqs[r], ids[r])
			want := recomputeLast(m, seqs[r])
			var scale float64
			for _, v := range want {
				scale = max(scale, math.Abs(float64(v)))
			}
			if d := maxAbsDiff(got[r*V:(r+1)*V], want); d > tol*scale {
				t.Fatalf("%s: pos %d row %d: logits differ by %g (scale %g)",
					p, s.pos, r, d, scale)
			}
		}
	}
}

// TestInfererCopyRowHalf checks that copying a prefilled row also copies
// the half-precision cache: the copied rows decode exactly like rows that
// were prefilled themselves.
func TestInfererCopyRowHalf(t *testing.T) {
	cfg := tinyInferConfig
	m := New(cfg, 41)
	randomizeBiases(m, 42)
	V := cfg.VocabSize
	prompt := []int{7, 8, 9, 10}
	next := []int{11, 12, 13}

	copied := newInferer(m, 3, PrecisionF16)
	defer copied.close()
	copied.reset(1)
	copied.forward(prompt, len(prompt))
	copied.broadcast(3)
	got := append([]float32(nil), copied.forward(next, 1)...)

	direct := newInferer(m, 3, PrecisionF16)
	defer direct.close()
	direct.reset(3)
	direct.forward(append(append(append([]int(nil), prompt...), prompt...), prompt...),
		len(prompt))
	want := direct.forward(next, 1)
	for r := range next {
		if d := maxAbsDiff(got[r*V:(r+1)*V], want[r*V:(r+1)*V]); d > 1e-6 {
			t.Errorf("row %d: copied and prefilled rows differ by %g", r, d)
		}
	}
}
