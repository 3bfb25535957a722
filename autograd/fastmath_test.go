package autograd

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := -90.0; x <= 89; x += 0.001 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		if want < 1e-37 || want > 3e38 {
			continue
		}
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("largest relative error %.3g, want below 3e-7", worst)
	}
	for _, x := range []float32{float32(math.Inf(-1)), -200, 0, 100} {
		if got, want := expf(x), float32(math.Exp(float64(x))); got != want {
			t.Errorf("expf(%g) = %g, want %g", x, got, want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
}

func TestSoftmaxRowMatchesFloat64(t *testing.T) {
	row := []float32{3, -1, 0.5, 3, -40, 12}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - 12)
	}
	want := make([]float64, len(row))
	for j, x := range row {
		want[j] = math.Exp(float64(x)-12) / s
	}
	if m, sum := softmaxRow(row); m != 12 || math.Abs(float64(sum)-s) > 1e-6*s {
		t.Errorf("max %g and sum %g, want 12 and %g", m, sum, s)
	}
	for j := range row {
		if math.Abs(float64(row[j])-want[j]) > 1e-6*want[j]+1e-30 {
			t.Errorf("softmax[%d] = %g, want %g", j, row[j], want[j])
		}
	}
}
