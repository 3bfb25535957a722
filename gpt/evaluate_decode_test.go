package gpt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goushi/goushi/bpe"
)

// TestEvaluateDecodeMatchesStream scores the same tokens through the
// training forward pass and through single-token steps: in float32 the two
// differ only in summation order. A random model predicts nearly uniformly,
// so rounding its weights moves the loss (about log V) far less than it
// moves the logits. The bounds are 1e-4 of the loss for half precision and
// 1e-3 for 8 bits. A wrong row or cache offset would change the
// predictions outright.
func TestEvaluateDecodeMatchesStream(t *testing.T) {
	tok, err := bpe.Train([]string{"天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。"},
		bpe.TrainOptions{VocabSize: 270, Specials: TokenizerSpecials(nil)})
	if err != nil {
		t.Fatal(err)
	}
	// hd = 32, so the 8-bit path also rounds attention outputs to 16 bits.
	cfg := Config{VocabSize: tok.VocabSize(), ContextLen: 16, Layers: 2, Heads: 2, Embd: 64}
	m := New(cfg, 5)
	randomizeBiases(m, 6)

	rng := rand.New(rand.NewPCG(7, 8))
	eot, _ := tok.SpecialID(bpe.EndOfText)
	ids := []int{eot}
	for len(ids) < 45 { // windows of 16, 16 and 12 targets
		ids = append(ids, rng.IntN(256))
	}
	wantLoss, wantBPB := EvaluateStream(m, tok, IntStream(ids), 0, 2)
	for _, c := range []struct {
		p   Precision
		tol float64 // relative
	}{{PrecisionF32, 1e-6}, {PrecisionF16, 1e-4}, {PrecisionQ8, 1e-3}} {
		loss, bpb := EvaluateDecode(m, tok, IntStream(ids), 0, c.p)
		if math.Abs(loss-wantLoss) > c.tol*wantLoss || math.Abs(bpb-wantBPB) > c.tol*wantBPB {
			t.Errorf("%s: loss %.6f, bpb %.6f; the forward pass gives %.6f, %.6f",
				c.p, loss, bpb, wantLoss, wantBPB)
		}
	}
	// With a budget of two windows, both paths take the same spaced windows.
	wantLoss, _ = EvaluateStream(m, tok, IntStream(ids), 32, 2)
	if loss, _ := EvaluateDecode(m, tok, IntStream(ids), 32, PrecisionF32); math.Abs(loss-wantLoss) > 1e-6*wantLoss {
		t.Errorf("two spaced windows: loss %.6f; the forward pass gives %.6f", loss, wantLoss)
	}
}
