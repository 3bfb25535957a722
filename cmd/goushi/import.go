package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/goushi/goushi/gpt"
)

// importStdout receives the summary of `goushi import`. Tests replace it.
var importStdout io.Writer = os.Stdout

const importUsage = `usage: goushi import hf --in DIR --out DIR [--force]

Reads a Hugging Face GPT-2 folder (config.json, tokenizer.json and
model.safetensors or a sharded model.safetensors.index.json, F32) and writes
a goushi checkpoint that 'goushi sample' and 'goushi serve' load. The model
must match goushi's architecture: GELU with the tanh approximation
(gelu_new), LayerNorm eps 1e-5, an MLP of width 4·n_embd, and an output head
tied to the token embedding. The tokenizer must be one that 'goushi export
hf' wrote. The checkpoint has no optimizer state.

Flags:`

func cmdImport(args []string) error {
	return runFormat("import", importUsage, args, importHF)
}

func importHF(args []string) error {
	fs := flag.NewFlagSet("import hf", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), importUsage)
		fs.PrintDefaults()
	}
	in := fs.String("in", "", "Hugging Face GPT-2 directory to import (required)")
	out := fs.String("out", "", "checkpoint directory to create (required)")
	force := fs.Bool("force", false, "replace --out when it already exists and is not empty")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; pass directories with --in and --out",
			fs.Arg(0))
	}
	if *in == "" || *out == "" {
		return errors.New("missing --in or --out; both directories are required")
	}
	// SaveCheckpoint replaces the whole directory, so an existing one is
	// kept unless the user asks for it to go. A file, or the input folder
	// itself, is never replaced.
	outInfo, err := os.Stat(*out)
	if err == nil && !outInfo.IsDir() {
		return fmt.Errorf("--out %s is a file, not a directory; choose a directory for the "+
			"checkpoint", *out)
	}
	if inInfo, inErr := os.Stat(*in); err == nil && inErr == nil && os.SameFile(inInfo, outInfo) {
		return fmt.Errorf("--out %s is the --in folder, which the checkpoint would replace; "+
			"choose another --out", *out)
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 && !*force {
		return fmt.Errorf("output directory %s already exists and is not empty; "+
			"choose a new --out or pass --force to replace it", *out)
	}

	ck, err := gpt.ImportHF(*in)
	if err != nil {
		return err
	}
	if err := gpt.SaveCheckpoint(*out, ck, nil); err != nil {
		return err
	}
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("imported checkpoint",
		"in", *in, "out", *out, "params", ck.Model.NumParams())
	fmt.Fprintf(importStdout, "Wrote checkpoint %s. Try\n"+
		"  goushi sample --checkpoint %s\n  goushi serve --checkpoint %s\n", *out, *out, *out)
	return nil
}
