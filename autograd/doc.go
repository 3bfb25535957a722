// Package autograd implements reverse-mode automatic differentiation over
// package tensor.
//
// A Tape records, for every operation, a closure that propagates the
// gradient of the operation's output back to its inputs. Backward seeds the
// gradient of a scalar loss and runs the closures in reverse order. Every op
// takes the tape as its first argument. A nil *Tape means no-grad mode, as
// inference wants: ops compute their outputs into fresh memory and record
// nothing. A tape with NoGrad set records nothing either, but draws the
// outputs from its arena, so repeated evaluation reuses its buffers.
//
// Parameters (leaves made with NewParam) own a gradient buffer that
// persists across steps, so several Backward calls accumulate into it until
// the optimizer clears it. A variable used twice, such as a token embedding
// tied to the output head, receives the sum of both gradients in that one
// buffer.
//
// Intermediate values and their gradients come from an arena owned by the
// tape. A gradient buffer returns to the arena as soon as the backward pass
// no longer needs it, so the backward pass mostly reuses a few buffers
// instead of doubling the memory of the forward pass. Reset returns every
// buffer to the arena without freeing it, and a training step
// that repeats the same sequence of ops gets back the same buffers, so a
// steady training loop allocates no large buffers after its first step.
// Ops must therefore not keep tape-owned values across a Reset.
//
// Ops that are not plain elementwise maps are fused: LayerNorm, causal
// self-attention and the softmax cross-entropy loss each run as one kernel
// forward and one backward.
package autograd
