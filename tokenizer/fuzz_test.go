package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

var fuzzSeeds = []string{
	"", "Hello, world!", "  leading and trailing  ", "I'm you'RE 'll", "你好，世界", "👨‍👩‍👧‍👦 🏳️‍🌈",
	"func main() {\n\tfmt.Println(42)\n}\n", "   \n\n \r\n\t x", "12345678901", "<|endoftext|>a<|im_start|>",
	"e\u0301 \u212b \ufb01", "\xff\xfe invalid \xc3", "\xe4\xbd", "a\u00a0b\u3000c\u2028d\u0085",
}

// Encoding never fails and decoding gives the text back, byte for byte, for
// any input (Llama 3's tokenizer has no normalizer). Streaming the ids
// gives the same text as Decode.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	tok := goldenTokenizer(f, "llama3")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := string(tok.DecodeBytes(ids)); got != s {
			t.Fatalf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) {
			if got := tok.Decode(ids); got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
		checkStream(t, tok, ids)
	})
}

// Any id sequence, valid or not, decodes without panicking, and streaming
// agrees with Decode.
func FuzzDecodeIDs(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x10, 0x00, 0x00, 0x00})
	tok := goldenTokenizer(f, "qwen3")
	f.Fuzz(func(t *testing.T, b []byte) {
		var ids []int
		for i := 0; i+2 < len(b); i += 3 {
			// Spread over the vocabulary and a little beyond; some negative.
			ids = append(ids, (int(b[i])<<16|int(b[i+1])<<8|int(b[i+2]))%(tok.VocabSize()+100)-50)
		}
		checkStream(t, tok, ids)
	})
}

func checkStream(t *testing.T, tok *Tokenizer, ids []int) {
	t.Helper()
	want := tok.Decode(ids)
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		piece := d.Add(id)
		if !utf8.ValidString(piece) {
			t.Fatalf("stream emitted invalid UTF-8 %q", piece)
		}
		sb.WriteString(piece)
	}
	sb.WriteString(d.Flush())
	if sb.String() != want {
		t.Fatalf("streamed %q, Decode %q (ids %v)", sb.String(), want, ids)
	}
}

// The hand-written matcher finds exactly the matches regexp2 finds.
func FuzzFastSplit(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	type pair struct {
		fast matcher
		re   *regexp2.Regexp
	}
	var pairs []pair
	for _, p := range []string{pattern3Digits, pattern1Digit} {
		pairs = append(pairs, pair{fastMatcherFor(p), regexp2.MustCompile(p, regexp2.Unicode)})
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // Encode never passes invalid UTF-8 to the pre-tokenizer
		}
		for _, p := range pairs {
			got := collectMatches(p.fast, s)
			want := collectMatches(regexMatcher{p.re}, s)
			if !equalInts(got, want) {
				t.Fatalf("%q: fast matches %v, regexp2 %v", s, got, want)
			}
		}
	})
}

func collectMatches(m matcher, s string) []int {
	var out []int
	m.matches(s, func(a, b int) { out = append(out, a, b) })
	return out
}
