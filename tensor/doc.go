// Package tensor holds goushi's float32 tensors and the numeric kernels that
// the rest of the project runs on: matrix multiply, elementwise and row
// operations, LayerNorm, GELU, softmax, embedding lookups and the AdamW
// update. Kernels work on plain slices so callers control allocation; shape
// mismatches are programmer errors and panic.
package tensor
