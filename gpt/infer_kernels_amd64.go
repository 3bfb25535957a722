//go:build amd64 && !purego

package gpt

import "github.com/klauspost/cpuid/v2"

// hasAVX512 and hasAVX2 report whether the CPU runs the AVX-512 and the
// AVX2 decode kernels.
var (
	hasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW,
		cpuid.AVX2, cpuid.FMA3, cpuid.F16C)
	hasAVX2 = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C)
	hasVNNI = hasAVX512 && cpuid.CPU.Supports(cpuid.AVX512VNNI)
)

// detectLevel returns the decode kernels for the tensor package's kernels
// named tensorKernels: AVX-512 or AVX2 where the CPU has them, else Go.
func detectLevel(tensorKernels string) kernelLevel {
	switch {
	case tensorKernels == "avx512" && hasAVX512:
		return levelAVX512
	case (tensorKernels == "avx512" || tensorKernels == "avx2") && hasAVX2:
		return levelAVX2
	}
	return levelGo
}

//go:noescape
func gemvF32AVX512(k, n int, x, w, out *float32)

//go:noescape
func gemvF16AVX512(k, n int, x *float32, w *uint16, out *float32)

//go:noescape
func mixAVX512(n, hd int, p, v, y *float32)

//go:noescape
func toHalfAVX512(n int, src *float32, dst *uint16)

//go:noescape
func gemvQ8AVX512(k, n int, x *float32, w *int8, scale *float32, out *float32)

//go:noescape
func expSumAVX512(n int, x *float32, shift, scale float32) float32

//go:noescape
func mixF16AVX512(n, hd int, p *float32, v *uint16, y *float32)

//go:noescape
func quantI16AVX512(n int, x *float32, dst *int16) (maxAbs, sum float32)

//go:noescape
func gemvQ8I16AVX512(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)

//go:noescape
func quantRowAVX512(k int, w *float32, q *int8) (maxAbs float32)

//go:noescape
func gemvF32AVX2(k, n int, x, w, out *float32)

//go:noescape
func gemvF16AVX2(k, n int, x *float32, w *uint16, out *float32)

//go:noescape
func gemvQ8I16AVX2(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)

//go:noescape
func quantI16AVX2(n int, x *float32, dst *int16) (maxAbs, sum float32)

//go:noescape
func mixAVX2(n, hd int, p, v, y *float32)

//go:noescape
func mixF16AVX2(n, hd int, p *float32, v *uint16, y *float32)

//go:noescape
func toHalfAVX2(n int, src *float32, dst *uint16)

//go:noescape
func expSumAVX2(n int, x *float32, shift, scale float32) float32

//go:noescape
func quantRowAVX2(k int, w *float32, q *int8) (maxAbs float32)

//go:noescape
func gemvQ8I16VNNI(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)
