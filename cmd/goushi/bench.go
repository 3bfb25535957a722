package main

import "fmt"

// benchmarks maps each 'goushi bench' target to its runner.
var benchmarks = map[string]func(args []string) error{
	"matmul":    benchMatmul,
	"train":     benchTrain,
	"generate":  benchGenerate,
	"tokenizer": benchTokenizer,
}

func cmdBench(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing target; use one of: matmul, train, generate, tokenizer")
	}
	run, ok := benchmarks[args[0]]
	if !ok {
		return fmt.Errorf("unknown target %q; use one of: matmul, train, generate, tokenizer", args[0])
	}
	return run(args[1:])
}
