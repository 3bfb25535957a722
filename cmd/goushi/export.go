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

// exportStdout receives the summary of `goushi export`. Tests replace it.
var exportStdout io.Writer = os.Stdout

const exportUsage = `usage: goushi export hf --checkpoint DIR --out DIR

Writes a checkpoint in the Hugging Face GPT-2 layout, so that PyTorch and
transformers can load it and training can continue on GPUs:
  model.safetensors       F32 weights under GPT2LMHeadModel names
  config.json             GPT2Config
  generation_config.json  sampling defaults and the end-of-text id
  tokenizer.json          the byte-level BPE (merges and specials)
  tokenizer_config.json   loads tokenizer.json as PreTrainedTokenizerFast
  CREDITS.md, README.md   the corpus credits and a model card
Other files in --out are left alone. 'goushi import hf' reads the folder
back.

Flags:`

func cmdExport(args []string) error {
	return runFormat("export", exportUsage, args, exportHF)
}

func exportHF(args []string) error {
	fs := flag.NewFlagSet("export hf", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), exportUsage)
		fs.PrintDefaults()
	}
	checkpoint := fs.String("checkpoint", "", "checkpoint directory to export (required)")
	out := fs.String("out", "", "output directory for the Hugging Face files (required)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; pass directories with --checkpoint and --out",
			fs.Arg(0))
	}
	if *checkpoint == "" || *out == "" {
		return errors.New("missing --checkpoint or --out; both directories are required")
	}

	ck, err := gpt.LoadCheckpoint(*checkpoint)
	if err != nil {
		return err
	}
	if err := gpt.ExportHF(*out, ck); err != nil {
		return err
	}
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("exported checkpoint",
		"checkpoint", *checkpoint, "out", *out,
		"params", ck.Model.NumParams())
	fmt.Fprintf(exportStdout, "Wrote the Hugging Face GPT-2 layout to %s. Load it with\n"+
		"  GPT2LMHeadModel.from_pretrained(%q)\n"+
		"  PreTrainedTokenizerFast.from_pretrained(%q)\n"+
		"and bring it back with 'goushi import hf --in %s --out DIR'.\n",
		*out, *out, *out, *out)
	return nil
}

// runFormat dispatches 'goushi VERB FORMAT [flags]' for export and import,
// whose only format is hf, the Hugging Face GPT-2 layout.
func runFormat(verb, usage string, args []string, hf func(args []string) error) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("missing format; use 'goushi %s hf'", verb)
	}
	switch args[0] {
	case "hf":
		return hf(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, usage)
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown %s format %q; use hf (the Hugging Face GPT-2 layout)",
		verb, args[0])
}
