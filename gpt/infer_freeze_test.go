package gpt

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/goushi/goushi/bpe"
)

// events runs Generate and returns every event it sent.
func events(t *testing.T, m *Model, prompt string, o SampleOptions) []Event {
	t.Helper()
	_, tok := memorized(t)
	out, err := generateAll(m, tok, prompt, o)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return out
}

func generateAll(m *Model, tok *bpe.Tokenizer, prompt string, o SampleOptions) ([]Event, error) {
	var out []Event
	for ev, err := range m.Generate(context.Background(), tok, prompt, o) {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// TestFreezeSameOutput checks that a frozen model sends exactly the
// events of the same model unfrozen, in every precision, and that
// Unfreeze ends the sharing.
func TestFreezeSameOutput(t *testing.T) {
	memo, _ := memorized(t)
	m := New(memo.Config, 11) // random weights: varied, close logits
	randomizeBiases(m, 12)
	o := DefaultSampleOptions()
	o.Temperature, o.TopK, o.TopP, o.MinP = 1.3, 0, 1, 0
	o.NumSamples, o.MaxNewTokens, o.TopAlternatives, o.Seed = 3, 40, 4, 7
	for _, p := range []Precision{PrecisionAuto, PrecisionF32, PrecisionF16, PrecisionQ8} {
		o.Weights = p
		want := events(t, m, "白菜", o)
		Freeze(m)
		if !Frozen(m) {
			t.Fatalf("%q: Frozen is false after Freeze", p)
		}
		got := events(t, m, "白菜", o)
		again := events(t, m, "白菜", o) // reads the kept copy
		Unfreeze(m)
		if Frozen(m) {
			t.Fatalf("%q: Frozen is true after Unfreeze", p)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(again, want) {
			t.Errorf("%q: frozen events differ from unfrozen ones", p)
		}
	}
}

// TestFreezeSharesOneCopy checks that inferers made at the same time on a
// frozen model read one set of weight copies per precision, that an
// unfrozen model gets a set per inferer, and that concurrent Generate
// calls on a frozen model agree.
func TestFreezeSharesOneCopy(t *testing.T) {
	memo, _ := memorized(t)
	m := New(memo.Config, 13)
	Freeze(m)
	defer Unfreeze(m)

	const n = 8
	decs := make([]*decodeWeights, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := newInferer(m, 2, PrecisionQ8)
			defer s.close()
			decs[i] = s.dec
		})
	}
	wg.Wait()
	for i, d := range decs {
		if d != decs[0] {
			t.Fatalf("inferer %d has its own copy of a frozen model's weights", i)
		}
	}
	if d := newInferer(m, 1, PrecisionF16); d.dec == decs[0] {
		t.Errorf("f16 and q8 inferers share one copy")
	} else {
		d.close()
	}

	free := New(memo.Config, 13)
	a, b := newInferer(free, 1, PrecisionQ8), newInferer(free, 1, PrecisionQ8)
	defer a.close()
	defer b.close()
	if a.dec == b.dec {
		t.Errorf("inferers of an unfrozen model share one copy")
	}

	o := greedy(20)
	o.Weights = PrecisionQ8
	want := events(t, m, "我", o)
	_, tok := memorized(t)
	got := make([][]Event, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], errs[i] = generateAll(m, tok, "我", o) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("concurrent call %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("concurrent call %d sent other events", i)
		}
	}
}
