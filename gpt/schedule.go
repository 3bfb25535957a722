package gpt

import (
	"fmt"
	"math"
)

// Schedule is a learning rate that warms up linearly and then decays along
// a cosine to a floor, as GPT-2 style training runs use.
//
// Steps count from 0. During warmup, step s (0 ≤ s < Warmup) gets
// Max·(s+1)/Warmup, so the first step already moves the weights and step
// Warmup-1 reaches Max. From Warmup to Total the rate follows
// Min + (Max−Min)·(1+cos(π·p))/2 with p = (s−Warmup)/(Total−Warmup), and
// every step at or past Total gets Min.
type Schedule struct {
	Max    float64 // peak rate, reached at the last warmup step
	Min    float64 // floor at the end of the decay
	Warmup int     // number of warmup steps; 0 starts the decay at once
	Total  int     // step at which the decay reaches Min
}

// LR returns the learning rate of the given step.
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Max * float64(step+1) / float64(s.Warmup)
	}
	if step >= s.Total {
		return s.Min
	}
	p := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + (s.Max-s.Min)*(1+math.Cos(math.Pi*p))/2
}

// AutoWarmup returns the warmup steps of a run of total steps when the
// user sets none: 5% of the run, at most 100, and at least 10 steps. On a
// short run 5% is a step or two, too quick a climb to the peak rate for
// AdamW's early moment estimates, so the loss can spike. The floor is
// capped at a quarter of the run so that most of it still decays.
//
// NOTE: the floor of 10 is a judgment, not a measured optimum.
func AutoWarmup(total int) int {
	return max(min(100, total/20), min(10, total/4))
}

// Validate returns an error naming the first invalid field.
func (s Schedule) Validate() error {
	switch {
	case !(s.Max > 0) || math.IsInf(s.Max, 0):
		return fmt.Errorf("learning rate %g must be positive", s.Max)
	case !(s.Min >= 0) || s.Min > s.Max:
		return fmt.Errorf("minimum learning rate %g must lie in [0, %g]", s.Min, s.Max)
	case s.Warmup < 0:
		return fmt.Errorf("warmup of %d steps must not be negative", s.Warmup)
	case s.Total < s.Warmup:
		return fmt.Errorf("total of %d steps is shorter than the %d warmup steps",
			s.Total, s.Warmup)
	}
	return nil
}
