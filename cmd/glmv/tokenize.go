package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/glmv/glmv/tokenizer"
)

func tokenizeCommand() command {
	return command{name: "tokenize", summary: "turn JSON strings into token ids (or ids into strings with --decode), one per line", run: runTokenize}
}

// stdin is where tokenize reads its input; tests replace it.
var stdin io.Reader = os.Stdin

func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var tokPath string
	fs.StringVar(&tokPath, "t", "", "tokenizer.json file, a checkpoint folder holding one, or a GGUF model file (required)")
	fs.StringVar(&tokPath, "tokenizer", "", "same as -t")
	decode := fs.Bool("decode", false, "read JSON arrays of ids and print JSON strings instead")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv tokenize -t TOKENIZER.json [--decode] < lines")
		fmt.Fprintln(stderr, "\nReads one JSON string per line on stdin and prints one JSON array of token ids per")
		fmt.Fprintln(stderr, "line (no special tokens are added; special tokens written in the text are matched).")
		fmt.Fprintln(stderr, "With --decode, reads JSON arrays of ids and prints JSON strings.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if tokPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("need -t TOKENIZER.json and no other arguments")
	}
	if st, err := os.Stat(tokPath); err == nil && st.IsDir() {
		tokPath = filepath.Join(tokPath, "tokenizer.json")
	}
	tok, isGGUF, err := ggufTokenizer(tokPath)
	if !isGGUF {
		tok, err = tokenizer.Load(tokPath)
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 256<<20)
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text := strings.TrimSpace(sc.Text())
		if *decode {
			var ids []int
			if err := json.Unmarshal([]byte(text), &ids); err != nil {
				return fmt.Errorf("stdin line %d: want a JSON array of ids: %w", line, err)
			}
			if err := enc.Encode(tok.Decode(ids)); err != nil {
				return err
			}
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			return fmt.Errorf("stdin line %d: want a JSON string: %w", line, err)
		}
		ids := tok.Encode(s)
		if ids == nil {
			ids = []int{}
		}
		if err := enc.Encode(ids); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return w.Flush()
}
