package gpt

import (
	"math"
	"testing"
)

func TestScheduleValuesByHand(t *testing.T) {
	s := Schedule{Max: 1e-3, Min: 1e-4, Warmup: 4, Total: 12}
	cases := []struct {
		step int
		want float64
	}{
		{0, 2.5e-4},     // first warmup step: 1e-3 · 1/4, not zero
		{1, 5e-4},       // 1e-3 · 2/4
		{3, 1e-3},       // last warmup step reaches the peak
		{4, 1e-3},       // decay starts at p = 0, cos 0 = 1
		{6, 8.6820e-4},  // p = 1/4: 1e-4 + 9e-4 · (1 + cos(π/4))/2 = 1e-4 + 9e-4 · 0.853553
		{8, 5.5e-4},     // p = 1/2: 1e-4 + 9e-4 · 0.5
		{10, 2.3180e-4}, // p = 3/4: 1e-4 + 9e-4 · (1 − 0.707107)/2 = 1e-4 + 9e-4 · 0.146447
		{12, 1e-4},      // end of the decay
		{50, 1e-4},      // past the end stays at the floor
	}
	for _, c := range cases {
		got := s.LR(c.step)
		if math.Abs(got-c.want) > 1e-8 {
			t.Errorf("LR(%d) = %.8g, want %.8g", c.step, got, c.want)
		}
	}
}

func TestAutoWarmupByHand(t *testing.T) {
	cases := []struct{ total, want int }{
		{0, 0},
		{3, 0},       // a quarter of 3 rounds down to 0
		{20, 5},      // the floor of 10 is capped at a quarter: 20/4
		{40, 10},     // 5% would be 2; the floor is 10 and 40/4 allows it
		{200, 10},    // 5% is exactly the floor
		{1000, 50},   // 5%
		{2000, 100},  // 5% reaches the cap
		{10000, 100}, // the cap holds
	}
	for _, c := range cases {
		if got := AutoWarmup(c.total); got != c.want {
			t.Errorf("AutoWarmup(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}

func TestScheduleWithoutWarmup(t *testing.T) {
	s := Schedule{Max: 2, Min: 0, Warmup: 0, Total: 2}
	if got := s.LR(0); got != 2 {
		t.Errorf("LR(0) = %g, want 2", got)
	}
	if got := s.LR(1); math.Abs(got-1) > 1e-12 {
		t.Errorf("LR(1) = %g, want 1", got)
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []Schedule{
		{Max: 0, Total: 1},
		{Max: 1, Min: 2, Total: 1},
		{Max: 1, Warmup: -1, Total: 1},
		{Max: 1, Warmup: 5, Total: 4},
		{Max: math.NaN(), Total: 1},
	}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", s)
		}
	}
	if err := (Schedule{Max: 1e-3, Min: 1e-4, Warmup: 2, Total: 10}).Validate(); err != nil {
		t.Errorf("Validate of a valid schedule: %v", err)
	}
}
