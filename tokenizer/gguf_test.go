package tokenizer

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmv/glmv/gguf"
)

// ggufHeader writes v (with the given special ids) as GGUF metadata and
// parses it back.
func ggufHeader(t testing.TB, v *GGUFVocab, template string) *gguf.Header {
	t.Helper()
	var buf bytes.Buffer
	w := gguf.NewWriter(&buf)
	for _, kv := range []struct {
		k string
		v any
	}{{KeyModel, "gpt2"}, {KeyPre, v.Pre}, {KeyTokens, v.Tokens}, {KeyTokenType, v.TokenType}, {KeyMerges, v.Merges},
		{"tokenizer.ggml.eos_token_id", uint32(1)}, {KeyChatTemplate, template}} {
		if err := w.SetAny(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := gguf.ParseHeader(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sameEncoding(t *testing.T, a, b *Tokenizer, texts []string) {
	t.Helper()
	bad := 0
	for i, s := range texts {
		x, y := a.Encode(s), b.Encode(s)
		if !slices.Equal(x, y) {
			if bad++; bad <= 5 {
				t.Errorf("text %d %q:\n tokenizer.json %v\n          GGUF %v", i, s, x, y)
			}
		}
		if d := b.Decode(y); d != a.Decode(x) {
			t.Errorf("text %d decodes to %q, tokenizer.json path %q", i, d, a.Decode(x))
		}
	}
	t.Logf("%d/%d texts tokenize identically", len(texts)-bad, len(texts))
}

var demoTexts = []string{
	"", "Hello, world!", "[gMASK]<sop><|user|>\nWhat is in <|begin_of_image|><|image|><|end_of_image|>?<|assistant|>\n<think>",
	"  spaces\tand\nnewlines\r\n", "numbers 1234567 and 'll 're", "ünïcödé 漢字 🙂", "<|endoftext|>",
}

// TestGGUFMatchesTokenizerJSON: the demo tokenizer read from a llama.cpp
// GGUF's metadata gives the ids of its tokenizer.json, and the
// tokenizer.json written as GGUF metadata and read back does too.
func TestGGUFMatchesTokenizerJSON(t *testing.T) {
	ref, err := Load("../demo/testmodel/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "reference", "models", "dense_a", "gguf", "dense_a-Q8_0.gguf")
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile, err := FromGGUF(f.Header)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("llama.cpp file", func(t *testing.T) {
		sameEncoding(t, ref, fromFile, demoTexts)
		if fromFile.VocabSize() != ref.VocabSize() {
			t.Errorf("vocab %d, tokenizer.json %d", fromFile.VocabSize(), ref.VocabSize())
		}
		if fromFile.Config == nil || fromFile.Config.EOS != "<|endoftext|>" || len(fromFile.Config.ChatTemplate) == 0 {
			t.Errorf("config %+v", fromFile.Config)
		}
		for _, a := range ref.AddedTokens() {
			if !fromFile.IsSpecial(a.ID) {
				t.Errorf("added token %q is not special from GGUF", a.Content)
			}
		}
	})
	t.Run("written by glmv", func(t *testing.T) {
		v, err := ref.GGUF(ref.VocabSize() + 3)
		if err != nil {
			t.Fatal(err)
		}
		if v.Pre != "glm4" || v.Tokens[ref.VocabSize()+1] != "[PAD301]" || v.TokenType[ref.VocabSize()] != TokenUnused {
			t.Errorf("pre %q, tail %v %v", v.Pre, v.Tokens[ref.VocabSize():], v.TokenType[ref.VocabSize():])
		}
		back, err := FromGGUF(ggufHeader(t, v, "x"))
		if err != nil {
			t.Fatal(err)
		}
		sameEncoding(t, ref, back, demoTexts)
		// The same vocabulary as llama.cpp's converter writes it.
		want, _ := f.Get(KeyTokens)
		wt, _ := want.Strings()
		if !slices.Equal(v.Tokens[:len(wt)], wt) {
			t.Error("tokens differ from the llama.cpp file's")
		}
		wantTypes, _ := f.Get(KeyTokenType)
		wty, _ := wantTypes.Ints()
		for i := range wty {
			if int64(v.TokenType[i]) != wty[i] {
				t.Errorf("token %d type %d, llama.cpp file %d", i, v.TokenType[i], wty[i])
				break
			}
		}
	})
}

// TestGGUFRoundTripWithMerges writes a real BPE tokenizer with merges
// (Llama 3's, the GLM-4 split regex with ignore_merges) as GGUF metadata,
// reads it back, and compares ids on the golden corpus.
func TestGGUFRoundTripWithMerges(t *testing.T) {
	ref := goldenTokenizer(t, "llama3")
	v, err := ref.GGUF(ref.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	if v.Pre != "llama-bpe" || len(v.Merges) < 100000 {
		t.Fatalf("pre %q, %d merges", v.Pre, len(v.Merges))
	}
	back, err := FromGGUF(ggufHeader(t, v, ""))
	if err != nil {
		t.Fatal(err)
	}
	var corpus []string
	readGzipJSON(t, filepath.Join(goldenDir, "corpus.json.gz"), &corpus)
	sameEncoding(t, ref, back, corpus)
}

func TestFromGGUFErrors(t *testing.T) {
	v := &GGUFVocab{Pre: "glm4", Tokens: []string{"a", "b"}, TokenType: []int32{1, 1}}
	for name, edit := range map[string]func(v *GGUFVocab){
		"unknown pre":        func(v *GGUFVocab) { v.Pre = "mystery" },
		"bad token type":     func(v *GGUFVocab) { v.TokenType[1] = 9 },
		"type count":         func(v *GGUFVocab) { v.TokenType = v.TokenType[:1] },
		"merge of no tokens": func(v *GGUFVocab) { v.Merges = []string{"x y"} },
	} {
		c := *v
		c.TokenType = slices.Clone(v.TokenType)
		edit(&c)
		if _, err := FromGGUF(ggufHeader(t, &c, "")); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkFromGGUF builds Llama 3's tokenizer (128k tokens, 280k merges)
// from GGUF metadata, as loading a GGUF model does.
func BenchmarkFromGGUF(b *testing.B) {
	ref := goldenTokenizer(b, "llama3")
	v, err := ref.GGUF(ref.VocabSize())
	if err != nil {
		b.Fatal(err)
	}
	h := ggufHeader(b, v, "")
	for b.Loop() {
		if _, err := FromGGUF(h); err != nil {
			b.Fatal(err)
		}
	}
}
