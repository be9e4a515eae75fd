package main

import (
	"context"
	"strings"
	"testing"
)

func runWithStdin(t *testing.T, input string, args ...string) (string, string, int) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(input)
	defer func() { stdin = old }()
	var out, errOut strings.Builder
	code := runMain(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

const llama3 = "../../testdata/tokenizer/llama3/tokenizer.json.gz"
const qwen3 = "../../testdata/tokenizer/qwen3/tokenizer.json.gz"

func TestTokenizeEncodes(t *testing.T) {
	out, errOut, code := runWithStdin(t, "\"Hello World\"\n\"\"\n", "tokenize", "-t", llama3)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "[9906,4435]\n[]\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	// Special tokens written in the text are matched, none are added.
	out, _, _ = runWithStdin(t, `"a<|im_start|>b"`+"\n", "tokenize", "-t", qwen3)
	if want := "[64,151644,65]\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestTokenizeDecodes(t *testing.T) {
	out, errOut, code := runWithStdin(t, "[9906, 4435]\n[27, 29]\n", "tokenize", "--decode", "-t", llama3)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "\"Hello World\"\n\"<>\"\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestTokenizeErrors(t *testing.T) {
	if _, errOut, code := runWithStdin(t, "not json\n", "tokenize", "-t", llama3); code != 1 || !strings.Contains(errOut, "line 1") {
		t.Errorf("bad input: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runWithStdin(t, "", "tokenize"); code != 1 || !strings.Contains(errOut, "-t") {
		t.Errorf("missing -t: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runWithStdin(t, "", "tokenize", "-h"); code != 0 || !strings.Contains(errOut, "-decode") {
		t.Errorf("-h: exit %d, stderr %q", code, errOut)
	}
}
