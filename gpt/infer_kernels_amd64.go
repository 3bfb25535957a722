//go:build amd64 && !purego

package gpt

import "github.com/klauspost/cpuid/v2"

// hasAVX512 reports whether the decode kernels can use the AVX-512
// assembly, which also needs F16C-style conversions (part of AVX-512F).
var hasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX2, cpuid.FMA3,
	cpuid.F16C)

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
