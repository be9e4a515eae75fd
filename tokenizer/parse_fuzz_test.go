package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary tokenizer.json documents to the loader: it
// must return an error or a tokenizer that can encode and decode without
// panicking.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "demo", "testmodel", "tokenizer.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},"decoder":{"type":"ByteLevel"},"added_tokens":[{"id":3,"content":"<s>","special":true}]}`))
	f.Add([]byte(`{"model":{"type":"WordPiece"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse(data)
		if err != nil {
			return
		}
		ids := tok.Encode("ab <s> héllo 123")
		_ = tok.Decode(ids)
		_ = tok.Decode([]int{-1, 0, 1 << 30})
	})
}

// FuzzParseConfig feeds arbitrary tokenizer_config.json documents.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"eos_token":"<|endoftext|>","pad_token":{"content":"<pad>"},"chat_template":"{{ x }}"}`))
	f.Add([]byte(`{"chat_template":[{"name":"default","template":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseConfig(data)
	})
}
