//go:build !amd64 || purego

package gpt

// hasAVX512 and hasAVX2 are false where the assembly kernels are not
// built.
const (
	hasAVX512 = false
	hasAVX2   = false
	hasVNNI   = false
)

func detectLevel(string) kernelLevel { return levelGo }

func gemvF32AVX2(k, n int, x, w, out *float32)                  { panic("no assembly") }
func gemvF16AVX2(k, n int, x *float32, w *uint16, out *float32) { panic("no assembly") }
func quantI16AVX2(n int, x *float32, dst *int16) (maxAbs, sum float32) {
	panic("no assembly")
}
func gemvQ8I16AVX2(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32) {
	panic("no assembly")
}
func mixAVX2(n, hd int, p, v, y *float32)                        { panic("no assembly") }
func mixF16AVX2(n, hd int, p *float32, v *uint16, y *float32)    { panic("no assembly") }
func toHalfAVX2(n int, src *float32, dst *uint16)                { panic("no assembly") }
func expSumAVX2(n int, x *float32, shift, scale float32) float32 { panic("no assembly") }

func gemvF32AVX512(k, n int, x, w, out *float32)                  { panic("no assembly") }
func gemvF16AVX512(k, n int, x *float32, w *uint16, out *float32) { panic("no assembly") }
func mixAVX512(n, hd int, p, v, y *float32)                       { panic("no assembly") }
func toHalfAVX512(n int, src *float32, dst *uint16)               { panic("no assembly") }

func gemvQ8AVX512(k, n int, x *float32, w *int8, scale *float32, out *float32) {
	panic("no assembly")
}

func expSumAVX512(n int, x *float32, shift, scale float32) float32 { panic("no assembly") }

func mixF16AVX512(n, hd int, p *float32, v *uint16, y *float32) { panic("no assembly") }

func quantI16AVX512(n int, x *float32, dst *int16) (maxAbs, sum float32) { panic("no assembly") }

func gemvQ8I16AVX512(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32) {
	panic("no assembly")
}

func quantRowAVX512(k int, w *float32, q *int8) (maxAbs float32) { panic("no assembly") }

func quantRowAVX2(k int, w *float32, q *int8) (maxAbs float32) { panic("no assembly") }

func gemvQ8I16VNNI(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32) {
	panic("no assembly")
}
