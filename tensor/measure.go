package tensor

import (
	"fmt"
	"strings"
	"time"
)

// PeakGFLOPS measures the FMA throughput of one core, in GFLOP/s, with the
// named kernel path's widest FMA instruction on registers only, taking the
// best of repeated runs within about d. It returns 0 for the generic path
// and an error for a path this machine does not support.
func PeakGFLOPS(kernel string, d time.Duration) (float64, error) {
	ks, err := lookupKernels(kernel)
	if err != nil {
		return 0, err
	}
	if ks.peak == nil {
		return 0, nil
	}
	return bestRate(d, float64(ks.peakFlops), ks.peak), nil
}

// MicrokernelGFLOPS measures the GEMM microkernel of the named path on one
// core, in GFLOP/s, with packed panels of kc steps that stay in L1: the
// ceiling for the blocked product on one thread.
func MicrokernelGFLOPS(kernel string, d time.Duration) (float64, error) {
	ks, err := lookupKernels(kernel)
	if err != nil {
		return 0, err
	}
	a := make([]float32, ks.mr*ks.kc)
	b := make([]float32, ks.nr*ks.kc)
	c := make([]float32, ks.mr*ks.nr)
	for i := range a {
		a[i] = 1e-3
	}
	for i := range b {
		b[i] = 1e-3
	}
	flops := 2 * float64(ks.mr*ks.nr*ks.kc)
	return bestRate(d, flops, func(n int) {
		for range n {
			ks.micro(ks.kc, &a[0], &b[0], &c[0], ks.nr, 1, 1)
		}
	}), nil
}

// bestRate times run(n) for growing n, then repeats the largest run about 5
// times within d and returns flopsPerRound·n over the best time, in GFLOP/s.
func bestRate(d time.Duration, flopsPerRound float64, run func(n int)) float64 {
	n := 1
	for {
		start := time.Now()
		run(n)
		if time.Since(start) > d/50 || n > 1<<30 {
			break
		}
		n *= 2
	}
	best := time.Duration(1 << 62)
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		run(n)
		best = min(best, time.Since(start))
	}
	return flopsPerRound * float64(n) / best.Seconds() / 1e9
}

func lookupKernels(name string) (*kernelSet, error) {
	for _, s := range kernelSets {
		if s.name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("tensor: kernel path %q is not supported on this machine; use one of %s",
		name, strings.Join(Kernels(), ", "))
}
