package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
)

// benchText is a long mixed text: the golden corpus joined (English,
// Chinese, Japanese, code, emoji, numbers, whitespace runs, special tokens).
func benchText(b *testing.B) string {
	var corpus []string
	readGzipJSON(b, filepath.Join(goldenDir, "corpus.json.gz"), &corpus)
	return strings.Join(corpus, "\n")
}

func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	for _, name := range goldenTokenizers {
		b.Run(name, func(b *testing.B) {
			tok := goldenTokenizer(b, name)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text)
			}
		})
	}
}

// BenchmarkEncodeUncached measures encoding with an empty BPE word cache,
// the cost of text never seen before.
func BenchmarkEncodeUncached(b *testing.B) {
	text := benchText(b)
	tok := goldenTokenizer(b, "qwen3")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.model.mu.Lock()
		clear(tok.model.cache)
		tok.model.mu.Unlock()
		tok.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	text := benchText(b)
	tok := goldenTokenizer(b, "qwen3")
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids)
	}
}
