// Command goushi trains a byte-level BPE tokenizer and a small GPT on Chinese
// text, samples from it, and serves it in a web page.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: run receives the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"data":      {"collect and inspect the text corpus (add, stats, credits)", cmdData},
	"tokenizer": {"train and use the byte-level BPE tokenizer", cmdTokenizer},
	"train":     {"train a GPT (the embedded corpus when no --corpus is given)", cmdTrain},
	"eval":      {"report loss and bits per byte of a checkpoint on text files", cmdEval},
	"sample":    {"generate text from a checkpoint", cmdSample},
	"serve":     {"serve the web UI and the OpenAI-compatible API", cmdServe},
	"bench":     {"measure matmul, training, generation and tokenizer speed", cmdBench},
	"export":    {"export a checkpoint to the Hugging Face GPT-2 layout", cmdExport},
	"import":    {"import a Hugging Face GPT-2 directory as a checkpoint", cmdImport},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	// "goushi help sample" is "goushi sample -h".
	if len(args) == 2 && args[0] == "help" {
		if _, ok := commands[args[1]]; ok {
			args = []string{args[1], "-h"}
		}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "goushi: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "goushi %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: goushi <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'goushi <command> -h' for the flags of one command.")
}
