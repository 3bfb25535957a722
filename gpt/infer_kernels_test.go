package gpt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// withGo runs f with the assembly kernels turned off.
func withGo(f func()) {
	saved := level
	level = levelGo
	defer func() { level = saved }()
	f()
}

// forEachLevel runs f once per set of assembly kernels that this CPU runs,
// with level set to it, and skips t where none does.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	levels := map[kernelLevel]string{}
	if hasAVX2 {
		levels[levelAVX2] = "avx2"
	}
	if hasAVX512 {
		levels[levelAVX512] = "avx512"
	}
	if len(levels) == 0 {
		t.Skip("no assembly kernels run here: only the Go ones")
	}
	for _, l := range []kernelLevel{levelAVX2, levelAVX512} {
		name, ok := levels[l]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			saved := level
			level = l
			defer func() { level = saved }()
			f(t)
		})
	}
}

func TestGemvKernelsMatchGo(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, shape := range [][2]int{{16, 4}, {48, 7}, {256, 13}, {1536, 8}, {20, 5}} {
			k, n := shape[0], shape[1]
			x, w := randSlice(rng, k), randSlice(rng, n*k)
			hw := make([]uint16, n*k)
			withGo(func() { toHalf(hw, w) })
			got, want := make([]float32, n), make([]float32, n)
			gotH, wantH := make([]float32, n), make([]float32, n)
			gemvF32(x, w, got, n, k)
			gemvF16(x, hw, gotH, n, k)
			withGo(func() {
				gemvF32(x, w, want, n, k)
				gemvF16(x, hw, wantH, n, k)
			})
			// The two sum in different orders: allow rounding of k terms.
			tol := 1e-5 * float64(k)
			if d := maxAbsDiff(got, want); d > tol {
				t.Errorf("gemvF32 k=%d n=%d: assembly and Go differ by %g", k, n, d)
			}
			if d := maxAbsDiff(gotH, wantH); d > tol {
				t.Errorf("gemvF16 k=%d n=%d: assembly and Go differ by %g", k, n, d)
			}
		}
	})
}

func TestMixKernelMatchesGo(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, shape := range [][2]int{{1, 16}, {3, 64}, {7, 32}, {130, 64}, {5, 48}, {9, 128}} {
			n, hd := shape[0], shape[1]
			p, v := randSlice(rng, n), randSlice(rng, n*hd)
			got, want := randSlice(rng, hd), randSlice(rng, hd)
			mix(p, v, got, n, hd)
			withGo(func() { mix(p, v, want, n, hd) })
			if d := maxAbsDiff(got, want); d > 1e-5*float64(n) {
				t.Errorf("mix n=%d hd=%d: assembly and Go differ by %g", n, hd, d)
			}
			hv := make([]uint16, len(v))
			toHalf(hv, v)
			mixF16(p, hv, got, n, hd)
			withGo(func() { mixF16(p, hv, want, n, hd) })
			if d := maxAbsDiff(got, want); d > 1e-5*float64(n) {
				t.Errorf("mixF16 n=%d hd=%d: assembly and Go differ by %g", n, hd, d)
			}
		}
	})
}

// TestHalfConversion checks the Go conversions on values with known
// encodings, and the assembly rounding against the Go one.
func TestHalfConversion(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff}, // largest finite half
		{65520, 0x7c00}, // rounds up to +Inf
		{float32(math.Inf(-1)), 0xfc00},
		{6.103515625e-05, 0x0400},        // smallest normal, 2^-14
		{5.960464477539063e-08, 0x0001},  // smallest subnormal, 2^-24
		{2.9802322387695312e-08, 0x0000}, // 2^-25: a tie, to even (0)
		{8.940696716308594e-08, 0x0002},  // 1.5·2^-24: a tie, to even (2)
		{1.0009765625, 0x3c01},           // 1 + 2^-10
		{1.00048828125, 0x3c00},          // 1 + 2^-11: a tie, to even
		{1.00146484375, 0x3c02},          // 1 + 3·2^-11: a tie, to even
		{0.1, 0x2e66},
	}
	for _, c := range cases {
		if got := floatToHalf(c.f); got != c.h {
			t.Errorf("floatToHalf(%g) = %#04x; want %#04x", c.f, got, c.h)
		}
		if c.h&0x7c00 != 0x7c00 || c.h&0x3ff == 0 {
			back := halfToFloat(c.h)
			if floatToHalf(back) != c.h {
				t.Errorf("halfToFloat(%#04x) = %g does not convert back", c.h, back)
			}
		}
	}
	if got := halfToFloat(0x3555); math.Abs(float64(got)-0.333251953125) > 0 {
		t.Errorf("halfToFloat(0x3555) = %g; want 0.333251953125", got)
	}

	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		src := make([]float32, 4096)
		for i := range src {
			// Magnitudes from 2^-30 to 2^20 cover zero, subnormal, normal
			// and overflowing halves.
			src[i] = float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(50)-30)))
		}
		got, want := make([]uint16, len(src)), make([]uint16, len(src))
		toHalf(got, src)
		withGo(func() { toHalf(want, src) })
		for i := range src {
			if got[i] != want[i] {
				t.Fatalf("toHalf(%g): assembly %#04x, Go %#04x", src[i], got[i], want[i])
			}
		}
	})
}

func TestGemvQ8MatchesGo(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, shape := range [][2]int{{16, 4}, {48, 7}, {256, 13}, {1536, 8}, {20, 5}} {
			k, n := shape[0], shape[1]
			x, w := randSlice(rng, k), randSlice(rng, n*k)
			q, scale := make([]int8, n*k), make([]float32, n)
			quantizeRows(q, scale, w, n, k)
			got, want := make([]float32, n), make([]float32, n)
			gemvQ8(x, q, scale, got, n, k)
			withGo(func() { gemvQ8(x, q, scale, want, n, k) })
			if d := maxAbsDiff(got, want); d > 1e-5*float64(k) {
				t.Errorf("gemvQ8 k=%d n=%d: assembly and Go differ by %g", k, n, d)
			}
		}
	})
}

func TestQuantizeVec(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		x := make([]float32, 64)
		x[0], x[1], x[2], x[3], x[63] = 2, -1, 0.5, 1.0/32767, -2
		q := make([]int16, 64)
		s, ok := quantizeVec(q, x)
		// The scale is 2/32767: 2 maps to 32767, -1 to -16383.5, which rounds
		// to even, and 1/32767 to 0.5, also to even.
		if !ok || s != 2.0/32767 {
			t.Fatalf("scale %g, %t; want %g, true", s, ok, 2.0/32767)
		}
		want := map[int]int16{0: 32767, 1: -16384, 2: 8192, 3: 0, 63: -32767}
		for i, v := range q {
			if w := want[i]; v != w {
				t.Errorf("q[%d] = %d; want %d", i, v, w)
			}
		}

		// Vectors that stay in float32.
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)),
			float32(math.Inf(-1))} {
			x[5] = bad
			if _, ok := quantizeVec(q, x); ok {
				t.Errorf("quantizeVec took a vector containing %g", bad)
			}
		}
		x[5] = 0
		if _, ok := quantizeVec(q, make([]float32, 64)); ok {
			t.Error("quantizeVec took an all-zero vector")
		}
		if _, ok := quantizeVec(q[:40], x[:40]); ok {
			t.Error("quantizeVec took 40 elements, not a multiple of 16")
		}
		long := make([]float32, maxQuantLen+16)
		long[0] = 1
		if _, ok := quantizeVec(make([]int16, len(long)), long); ok {
			t.Errorf("quantizeVec took %d elements, more than %d", len(long), maxQuantLen)
		}

		// 48 elements: the AVX-512 kernel's single-vector steps.
		x48 := append([]float32(nil), x[:48]...)
		x48[47] = -4
		s, ok = quantizeVec(q[:48], x48)
		if !ok || s != 4.0/32767 {
			t.Fatalf("48 elements: scale %g, %t; want %g, true", s, ok, 4.0/32767)
		}
		if q[1] != -8192 {
			t.Errorf("48 elements: q[1] = %d; want -8192", q[1])
		}
		if q[47] != -32767 {
			t.Errorf("48 elements: q[47] = %d; want -32767", q[47])
		}
	})
}

func TestGemvQ8I16WithinRoundingOfFloat(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, shape := range [][2]int{{32, 4}, {64, 7}, {256, 13}, {1536, 8}, {96, 1},
			{16, 4}, {48, 5}, {80, 8}, {336, 6}} {
			k, n := shape[0], shape[1]
			x, w := randSlice(rng, k), randSlice(rng, n*k)
			q, scale := make([]int8, n*k), make([]float32, n)
			quantizeRows(q, scale, w, n, k)
			xq := make([]int16, k)
			xs, ok := quantizeVec(xq, x)
			if !ok {
				t.Fatalf("k=%d: quantizeVec refused a finite vector", k)
			}
			got, want := make([]float32, n), make([]float32, n)
			gemvQ8I16(xq, xs, q, scale, got, n, k)
			withGo(func() { gemvQ8(x, q, scale, want, n, k) })
			for j := range n {
				// Each x[p] moves by at most xs/2 when rounded, so row j's sum
				// moves by at most xs/2 times the sum of |w| over the row;
				// float32 rounding of the reference adds about k·2^-24 of the
				// sum of |x·w|.
				var absW, absXW float64
				for p := range k {
					wp := float64(q[j*k+p]) * float64(scale[j])
					absW += math.Abs(wp)
					absXW += math.Abs(wp * float64(x[p]))
				}
				tol := float64(xs)/2*absW + float64(k)*6e-8*absXW + 1e-6
				if d := math.Abs(float64(got[j] - want[j])); d > tol {
					t.Errorf("k=%d n=%d row %d: %g, float32 input %g: differ by %g > %g",
						k, n, j, got[j], want[j], d, tol)
				}
			}
			// The integer sums are exact: the assembly and its Go tail agree.
			tail := make([]float32, n)
			for j := range n {
				gemvQ8I16(xq, xs, q[j*k:(j+1)*k], scale[j:j+1], tail[j:j+1], 1, k)
			}
			if !slices.Equal(got, tail) {
				t.Errorf("k=%d n=%d: rows of 4 %v, single rows %v", k, n, got, tail)
			}
		}
	})
}

// TestGemvQ8I16VNNIMatchesBW checks the VPDPWSSD kernel against the
// VPMADDWD one: both sum the same products exactly in the same int32
// lanes and reduce the lanes alike, so they agree bit for bit.
func TestGemvQ8I16VNNIMatchesBW(t *testing.T) {
	if !hasVNNI || level != levelAVX512 {
		t.Skip("no AVX512-VNNI here")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, shape := range [][2]int{{16, 4}, {48, 8}, {256, 12}, {1536, 4}} {
		k, n := shape[0], shape[1]
		x, w := randSlice(rng, k), randSlice(rng, n*k)
		q, scale := make([]int8, n*k), make([]float32, n)
		quantizeRows(q, scale, w, n, k)
		xq := make([]int16, k)
		xs, _ := quantizeVec(xq, x)
		got, want := make([]float32, n), make([]float32, n)
		gemvQ8I16(xq, xs, q, scale, got, n, k)
		useVNNI = false
		gemvQ8I16(xq, xs, q, scale, want, n, k)
		useVNNI = true
		if !slices.Equal(got, want) {
			t.Errorf("k=%d n=%d: VPDPWSSD %v, VPMADDWD %v", k, n, got, want)
		}
	}
}

func TestColumnBlocks(t *testing.T) {
	// w (2, 6) split into blocks of 2 columns.
	w := []float32{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}
	want := []float32{0, 1, 10, 11, 2, 3, 12, 13, 4, 5, 14, 15}
	if got := columnBlocks(w, 2, 6, 2); !slices.Equal(got, want) {
		t.Errorf("columnBlocks = %v; want %v", got, want)
	}
}

func TestMLPParts(t *testing.T) {
	for _, c := range []struct{ hidden, workers, want int }{
		{1024, 2, 4},   // 256 wide
		{1536, 2, 4},   // 384 wide
		{1024, 1, 2},   // 512 wide
		{1536, 16, 24}, // 64 wide; 32 slices of 48 would not be a multiple of 32
		{192, 8, 6},    // 32 wide, not 12 slices of 16
		{48, 2, 3},     // no multiple of 32 divides it: 16 wide
		{40, 2, 4},     // no width suits it: 10 wide
		{7, 2, 1},
	} {
		if got := mlpParts(c.hidden, c.workers); got != c.want {
			t.Errorf("mlpParts(%d, %d) = %d; want %d", c.hidden, c.workers, got, c.want)
		}
	}
}

// TestQuantizeRowsAssembly checks the assembly against hand values at
// the ties, which round away from zero, and against the Go loop on
// random rows.
func TestQuantizeRowsAssembly(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		// With max 127 the scale is 1, so each weight is its own q.
		row := make([]float32, 16)
		copy(row, []float32{127, 63.5, -63.5, 0.5, -0.5, 2.5, -2.5, 0.49, -126.6})
		want := []int8{127, 64, -64, 1, -1, 3, -3, 0, -127, 0, 0, 0, 0, 0, 0, 0}
		q, scale := make([]int8, 16), make([]float32, 1)
		quantizeRows(q, scale, row, 1, 16)
		if !slices.Equal(q, want) || scale[0] != 1 {
			t.Errorf("quantized %v, scale %g; want %v, 1", q, scale[0], want)
		}

		rng := rand.New(rand.NewPCG(13, 14))
		const rows, k = 9, 48
		w := randSlice(rng, rows*k)
		clear(w[2*k : 3*k]) // an all-zero row
		got, gotS := make([]int8, rows*k), make([]float32, rows)
		wantQ, wantS := make([]int8, rows*k), make([]float32, rows)
		for i := range got {
			got[i] = 99 // the zero row must be cleared
		}
		quantizeRows(got, gotS, w, rows, k)
		withGo(func() { quantizeRows(wantQ, wantS, w, rows, k) })
		if !slices.Equal(got, wantQ) || !slices.Equal(gotS, wantS) {
			t.Errorf("assembly and Go differ:\n%v %v\n%v %v", got, gotS, wantQ, wantS)
		}
	})
}

func TestQuantizeRows(t *testing.T) {
	w := []float32{0.5, -1, 0.25, 0.0039, 0, 0, 0, 0, 2, 1, -0.01, 0}
	q, scale := make([]int8, len(w)), make([]float32, 3)
	quantizeRows(q, scale, w, 3, 4)
	// Row 0: scale 1/127; 0.5·127 = 63.5 rounds away from 0 to 64, 0.25·127 =
	// 31.75 to 32, 0.0039·127 = 0.495 to 0. Row 1 is zero. Row 2: scale
	// 2/127; 1·63.5 to 64 and -0.01·63.5 = -0.635 to -1.
	wantQ := []int8{64, -127, 32, 0, 0, 0, 0, 0, 127, 64, -1, 0}
	wantS := []float32{1.0 / 127, 0, 2.0 / 127}
	if !slices.Equal(q, wantQ) {
		t.Errorf("quantized %v; want %v", q, wantQ)
	}
	for i := range wantS {
		if math.Abs(float64(scale[i]-wantS[i])) > 1e-9 {
			t.Errorf("scale %d = %g; want %g", i, scale[i], wantS[i])
		}
	}
}

func TestExpSumMatchesGo(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		x := make([]float32, 83)
		for i := range x {
			x[i] = float32(-rng.ExpFloat64() * 30)
		}
		x[3], x[20], x[40] = float32(math.Inf(-1)), -1e30, 0
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		sumGot := expSum(got, -2, 1.5)
		var sumWant float32
		withGo(func() { sumWant = expSum(want, -2, 1.5) })
		for i := range x {
			// Both evaluate the same series and differ in rounding, and in
			// that Go flushes results below 2^-126 to 0.
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*float64(want[i])+1e-38 {
				t.Errorf("exp of %g: assembly %g, Go %g", x[i], got[i], want[i])
			}
			// Rounding the float32 argument costs about 6e-8 of it, relative,
			// in the result.
			arg := (float64(x[i]) + 2) * 1.5
			ref := math.Exp(arg)
			if d := math.Abs(float64(got[i]) - ref); d > (1e-6+1e-7*math.Abs(arg))*ref+1e-38 {
				t.Errorf("exp of %g: assembly %g, math.Exp %g", x[i], got[i], ref)
			}
		}
		if d := math.Abs(float64(sumGot - sumWant)); d > 1e-5*float64(sumWant) {
			t.Errorf("sum: assembly %g, Go %g", sumGot, sumWant)
		}

		// The ends of the range, one full vector: e^100 overflows float32,
		// e^-90 is below 2^-126 (the AVX-512 kernel keeps it as a subnormal,
		// the others flush it to 0), e^50 and e^-84 are normal.
		args := []float64{100, 50, -90, -84}
		ends := make([]float32, 16)
		for i, a := range args {
			ends[i] = float32(a)
		}
		expSum(ends, 0, 1)
		if !math.IsInf(float64(ends[0]), 1) || ends[2] < 0 || ends[2] >= 0x1p-126 {
			t.Errorf("e^100 = %g, e^-90 = %g; want +Inf and below 2^-126", ends[0], ends[2])
		}
		for _, i := range []int{1, 3} {
			ref := math.Exp(args[i])
			if d := math.Abs(float64(ends[i]) - ref); d > (1e-6+1e-7*math.Abs(args[i]))*ref {
				t.Errorf("e^%g = %g; want %g", args[i], ends[i], ref)
			}
		}
	})
}
