//go:build !amd64 || purego

package tensor

// packRowsAsm reports that no assembly packing routine exists here.
func packRowsAsm(d, a []float32, lda, kb, mr int) bool { return false }
