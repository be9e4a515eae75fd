package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// toyJSON builds a small byte-level BPE tokenizer.json: ids 0–255 are the
// single bytes (in byte order), then the given merges, in order, each
// adding the merged token. Fields of extra are added to the top level.
func toyJSON(t *testing.T, merges [][2]string, pairSpelling bool, extra map[string]any) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	var ms []any
	for _, m := range merges {
		vocab[m[0]+m[1]] = len(vocab)
		if pairSpelling {
			ms = append(ms, []string{m[0], m[1]})
		} else {
			ms = append(ms, m[0]+" "+m[1])
		}
	}
	doc := map[string]any{
		"normalizer": nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern3Digits}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		}},
		"decoder":      map[string]any{"type": "ByteLevel"},
		"added_tokens": []any{},
		"model":        map[string]any{"type": "BPE", "vocab": vocab, "merges": ms},
	}
	for k, v := range extra {
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var toyMerges = [][2]string{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"Ġw", "o"}}

func mustParse(t *testing.T, data []byte) *Tokenizer {
	t.Helper()
	tok, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMergesAppliedByRank(t *testing.T) {
	for _, pairs := range []bool{false, true} {
		tok := mustParse(t, toyJSON(t, toyMerges, pairs, nil))
		// "hello" merges fully; " wo" → "Ġwo"; "rld" has no merges.
		got := tok.Encode("hello world")
		want := []int{259, 261, 'r', 'l', 'd'}
		if !cmp.Equal(got, want) {
			t.Errorf("pair spelling %v: Encode = %v, want %v", pairs, got, want)
		}
		if s := tok.Decode(got); s != "hello world" {
			t.Errorf("Decode = %q", s)
		}
	}
}

func TestAddedTokens(t *testing.T) {
	added := []any{
		map[string]any{"id": 300, "content": "<|user|>", "special": true},
		map[string]any{"id": 301, "content": "<|user|>x", "special": true}, // longer match wins
		map[string]any{"id": 302, "content": "<L>", "lstrip": true},
		map[string]any{"id": 303, "content": "<R>", "rstrip": true},
		map[string]any{"id": 304, "content": "cat", "single_word": true},
	}
	tok := mustParse(t, toyJSON(t, toyMerges, false, map[string]any{"added_tokens": added}))
	tests := []struct {
		text string
		want []int
	}{
		{"hello<|user|>hello", []int{259, 300, 259}},
		{"<|user|>x<|user|>", []int{301, 300}},
		{"a  <L>b", []int{'a', 302, 'b'}},                                   // lstrip eats the spaces before
		{"a<R>  b", []int{'a', 303, 'b'}},                                   // rstrip eats the spaces after
		{"cat catalog", []int{304, ' ', 'c', 'a', 't', 'a', 'l', 'o', 'g'}}, // not inside a word
		{"<|user", []int{'<', '|', 'u', 's', 'e', 'r'}},
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text)
		// Byte-level ids: ' ' is byte 0x20 = id 32 in the toy vocabulary.
		if !cmp.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
	if id, ok := tok.TokenID("<|user|>"); !ok || id != 300 {
		t.Errorf("TokenID(<|user|>) = %d, %v", id, ok)
	}
	if !tok.IsSpecial(300) || tok.IsSpecial(302) || tok.IsSpecial(259) {
		t.Error("IsSpecial disagrees with the special flags")
	}
	if s := tok.Decode([]int{259, 300, 302}); s != "hello<|user|><L>" {
		t.Errorf("Decode keeps added tokens: got %q", s)
	}
}

func TestSplitBehaviors(t *testing.T) {
	s := "a1b22c"
	tests := map[string][]string{
		"Removed":            {"a", "b", "c"},
		"Isolated":           {"a", "1", "b", "22", "c"},
		"MergedWithPrevious": {"a1", "b22", "c"},
		"MergedWithNext":     {"a", "1b", "22c"},
		"Contiguous":         {"a", "1", "b", "22", "c"},
	}
	for name, want := range tests {
		b, err := parseBehavior(name)
		if err != nil {
			t.Fatal(err)
		}
		st := &splitStep{m: digitMatcher{}, behavior: b}
		var got []string
		st.split(s, func(p string) { got = append(got, p) })
		if !cmp.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// Contiguous joins neighbouring matches; invert swaps matches and gaps.
	st := &splitStep{m: literalMatcher("-"), behavior: contiguous}
	var got []string
	st.split("a--b", func(p string) { got = append(got, p) })
	if want := []string{"a", "--", "b"}; !cmp.Equal(got, want) {
		t.Errorf("Contiguous: %q, want %q", got, want)
	}
	st = &splitStep{m: literalMatcher("-"), behavior: removed, invert: true}
	got = nil
	st.split("a-b", func(p string) { got = append(got, p) })
	if want := []string{"-"}; !cmp.Equal(got, want) {
		t.Errorf("Removed+invert: %q, want %q", got, want)
	}
}

func TestUnsupportedComponentsAreNamed(t *testing.T) {
	tests := []struct {
		field string
		value any
		want  string
	}{
		{"normalizer", map[string]any{"type": "Precompiled"}, `normalizer: unsupported type "Precompiled"`},
		{"pre_tokenizer", map[string]any{"type": "Metaspace"}, `pre_tokenizer: unsupported type "Metaspace"`},
		{"pre_tokenizer", map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "\\p{L}+"}, "behavior": "Isolated"}, "no ByteLevel"},
		{"decoder", map[string]any{"type": "WordPiece"}, `decoder: unsupported type "WordPiece"`},
		{"model", map[string]any{"type": "Unigram", "vocab": map[string]int{"a": 0}}, `model: unsupported type "Unigram"`},
	}
	for _, tc := range tests {
		_, err := Parse(toyJSON(t, nil, false, map[string]any{tc.field: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want one containing %q", tc.field, tc.value, err, tc.want)
		}
	}
	bad := toyJSON(t, [][2]string{{"h", "e"}}, false, nil)
	bad = []byte(strings.Replace(string(bad), `"h e"`, `"h zz"`, 1))
	if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "model.merges[0]") {
		t.Errorf("merge of unknown tokens: %v", err)
	}
}

func TestInvalidUTF8RoundTrips(t *testing.T) {
	tok := mustParse(t, toyJSON(t, toyMerges, false, nil))
	for _, s := range []string{"\xff", "hello\xc3", "\xe2\x82 hello \xf0\x9f\x98"} {
		ids := tok.Encode(s)
		if got := string(tok.DecodeBytes(ids)); got != s {
			t.Errorf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
	}
	// Decode replaces each maximal ill-formed part with one U+FFFD.
	tests := map[string]string{
		"a\xffb":           "a\ufffdb",
		"\xe2\x82":         "\ufffd", // truncated 3-byte sequence: one replacement
		"\xe2\x82x":        "\ufffdx",
		"\xed\xa0\x80":     "\ufffd\ufffd\ufffd", // surrogate: every byte is its own part
		"\xf0\x9f\x98\x80": "😀",
	}
	for in, want := range tests {
		var ids []int
		for i := 0; i < len(in); i++ {
			ids = append(ids, int(in[i])) // toy ids are the bytes
		}
		if got := tok.Decode(ids); got != want {
			t.Errorf("Decode(% x) = %q, want %q", in, got, want)
		}
	}
}

func TestStreamDecoderNeverSplitsCharacters(t *testing.T) {
	tok := mustParse(t, toyJSON(t, toyMerges, false, nil))
	d := tok.NewStreamDecoder()
	text := "hé😀"
	var outs []string
	for i := 0; i < len(text); i++ {
		outs = append(outs, d.Add(int(text[i])))
	}
	outs = append(outs, d.Flush())
	want := []string{"h", "", "é", "", "", "", "😀", ""}
	if !cmp.Equal(outs, want) {
		t.Errorf("stream pieces %q, want %q", outs, want)
	}
	// A broken sequence is not held back forever, and Flush releases a
	// trailing partial character as U+FFFD.
	d = tok.NewStreamDecoder()
	if got := d.Add(0xe2) + d.Add('x'); got != "\ufffdx" {
		t.Errorf("broken sequence streamed as %q", got)
	}
	if got := d.Add(0xf0) + d.Flush(); got != "\ufffd" {
		t.Errorf("trailing partial character flushed as %q", got)
	}
	if got := d.Add(-1) + d.Add(1<<30); got != "" {
		t.Errorf("unknown ids gave %q", got)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), toyJSON(t, toyMerges, true, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"bos_token": null, "eos_token": {"content": "<|endoftext|>"}, "pad_token": "<|pad|>", "chat_template": "{{ x }}"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tok.Config
	if c == nil || c.BOS != "" || c.EOS != "<|endoftext|>" || c.PAD != "<|pad|>" || string(c.ChatTemplate) != `"{{ x }}"` {
		t.Errorf("Config = %+v", c)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "tokenizer") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"model": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "bad.json")); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("truncated file: %v", err)
	}
}
