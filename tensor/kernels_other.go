//go:build !amd64 || purego

package tensor

func supportedKernels() []*kernelSet { return []*kernelSet{genericKernels} }
