package constrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/glmv/glmv/tokenizer"
)

var markers = []string{"<think>", "</think>", "<|begin_of_box|>", "<|end_of_box|>", "<tool_call>", "</tool_call>", "<answer>", "</answer>"}

var (
	qwenOnce  sync.Once
	qwenVocab *Vocab
	qwenTok   *tokenizer.Tokenizer
	qwenErr   error
)

// qwen3 loads the 151k-token Qwen3 tokenizer from the project's testdata.
func qwen3(tb testing.TB) (*Vocab, *tokenizer.Tokenizer) {
	tb.Helper()
	qwenOnce.Do(func() {
		qwenTok, qwenErr = tokenizer.Load(filepath.Join("..", "testdata", "tokenizer", "qwen3", "tokenizer.json.gz"))
		if qwenErr != nil {
			return
		}
		eos, _ := qwenTok.TokenID("<|im_end|>")
		qwenVocab, qwenErr = FromTokenizer(qwenTok, []int{eos})
	})
	if qwenErr != nil {
		tb.Fatal(qwenErr)
	}
	return qwenVocab, qwenTok
}

// demoVocab is the demo checkpoint's toy vocabulary (printable ASCII
// bytes and newline, plus GLM's special tokens).
func demoVocab(tb testing.TB) (*Vocab, *tokenizer.Tokenizer) {
	tb.Helper()
	t, err := tokenizer.Load(filepath.Join("..", "demo", "testmodel", "tokenizer.json"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := FromTokenizer(t, []int{256, 263, 265}, ToolCallTokens()...)
	if err != nil {
		tb.Fatal(err)
	}
	return v, t
}

// randomRun drives a matcher with uniformly random allowed tokens until
// an end-of-sequence token is drawn (its probability is raised so runs
// finish) or maxSteps pass; it returns the text and whether it ended.
func randomRun(tb testing.TB, g *Grammar, v *Vocab, rng *rand.Rand, maxSteps int) (string, bool) {
	tb.Helper()
	m := NewMatcher(g, v)
	var out []byte
	mask := make([]uint64, m.MaskWords())
	var allowed []int
	for step := 0; step < maxSteps; step++ {
		mask = m.Mask(mask)
		allowed = setBits(allowed[:0], mask)
		if len(allowed) == 0 {
			tb.Fatalf("empty mask after %q", out)
		}
		var id int
		if m.CanEnd() && rng.IntN(4) == 0 {
			id = v.EOS()[0]
		} else {
			// Prefer short tokens now and then so structure gets closed.
			id = allowed[rng.IntN(len(allowed))]
			if rng.IntN(3) == 0 {
				for range 8 {
					c := allowed[rng.IntN(len(allowed))]
					if len(v.TokenBytes(c)) < len(v.TokenBytes(id)) || v.TokenBytes(id) == nil {
						id = c
					}
				}
			}
		}
		if !m.Allowed(id) {
			tb.Fatalf("mask allows token %d (%q) that Allowed refuses after %q", id, v.TokenBytes(id), out)
		}
		if err := m.Accept(id); err != nil {
			tb.Fatalf("accept %d after %q: %v", id, out, err)
		}
		if m.Done() {
			return string(out), true
		}
		out = append(out, v.TokenBytes(id)...)
	}
	return string(out), false
}

// checkMaskExact compares the mask with a token-by-token check.
func checkMaskExact(tb testing.TB, m *Matcher, v *Vocab) {
	tb.Helper()
	mask := m.Mask(nil)
	for i := 0; i < v.Size(); i++ {
		got := mask[i>>6]&(1<<(uint(i)&63)) != 0
		if want := m.Allowed(i); got != want {
			tb.Fatalf("token %d (%q): mask says %v, direct check %v", i, v.TokenBytes(i), got, want)
		}
	}
}

var testSchemas = []string{
	`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["name","age"],"additionalProperties":false}`,
	`{"type":"object","properties":{"kind":{"enum":["cat","dog",3,null,true]},"score":{"type":"number"},"ok":{"type":"boolean"},"none":{"type":"null"}},"required":["kind","score","ok","none"]}`,
	`{"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"object","properties":{"x":{"const":"y<z"}},"required":["x"]}]},"minItems":2,"maxItems":4}`,
	`{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v","kids"],"additionalProperties":false}},"$ref":"#/$defs/node"}`,
	`{"type":"object","additionalProperties":{"type":["integer","null"]}}`,
	`{"type":"object"}`,
	`true`,
	`{"type":["string","array"],"items":{"type":"boolean"}}`,
	`{"title":"t","description":"d","type":"object","properties":{"a b/c":{"type":"string","description":"x"},"opt":{"type":"integer"}},"required":["a b/c"]}`,
	`{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"day":{"format":"date"},"at":{"type":"string","format":"time"},"id":{"type":"string","format":"uuid"},"code":{"type":"string","minLength":2,"maxLength":4},"long":{"type":"string","minLength":3},"n":{"type":"integer","minimum":-12,"exclusiveMaximum":1000},"p":{"type":"number","minimum":0,"maximum":1},"q":{"type":"number","exclusiveMinimum":-2.5,"exclusiveMaximum":3},"r":{"allOf":[{"$ref":"#/$defs/r"}]}},"required":["when","day","at","id","code","long","n","p","q","r"],"$defs":{"r":{"type":"integer","maximum":-7}}}`,
}

func TestRandomWalksValidate(t *testing.T) {
	for _, vocab := range []string{"demo", "qwen3"} {
		t.Run(vocab, func(t *testing.T) {
			var v *Vocab
			if vocab == "demo" {
				v, _ = demoVocab(t)
			} else {
				if testing.Short() {
					t.Skip("151k vocabulary in -short mode")
				}
				v, _ = qwen3(t)
			}
			for si, src := range testSchemas {
				t.Run(fmt.Sprint(si), func(t *testing.T) {
					g, err := CompileSchema([]byte(src), Options{Avoid: markers, MaxWhitespace: 4})
					if err != nil {
						t.Fatal(err)
					}
					schema, err := parseJSON([]byte(src))
					if err != nil {
						t.Fatal(err)
					}
					rng := rand.New(rand.NewPCG(uint64(si), 7))
					ended := 0
					runs := 20
					if vocab == "qwen3" {
						runs = 8
					}
					for run := 0; run < runs; run++ {
						out, ok := randomRun(t, g, v, rng, 400)
						if !ok {
							continue
						}
						ended++
						checkDoc(t, schema, out)
					}
					if ended == 0 {
						t.Fatalf("no random run finished")
					}
				})
			}
		})
	}
}

// checkDoc parses out and validates it against schema (the test's own
// validator for the supported subset), and checks it is valid UTF-8
// without reply markers.
func checkDoc(t *testing.T, schema *jval, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output is not UTF-8: %q", out)
	}
	for _, mk := range markers {
		if strings.Contains(out, mk) {
			t.Fatalf("output contains marker %s: %q", mk, out)
		}
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("output does not parse: %q", out)
	}
	doc, err := parseJSONLoose([]byte(out))
	if err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if err := validate(schema, schema, doc, "#"); err != nil {
		t.Fatalf("output %q does not validate: %v", out, err)
	}
}

// parseJSONLoose parses a document that may repeat keys (the last wins,
// as JSON parsers do).
func parseJSONLoose(data []byte) (*jval, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	var conv func(any) *jval
	conv = func(x any) *jval {
		switch x := x.(type) {
		case map[string]any:
			v := &jval{kind: 'o'}
			for k, e := range x {
				v.obj = append(v.obj, member{k, conv(e)})
			}
			return v
		case []any:
			v := &jval{kind: 'a'}
			for _, e := range x {
				v.arr = append(v.arr, conv(e))
			}
			return v
		case string:
			return &jval{kind: 's', str: x}
		case json.Number:
			return &jval{kind: 'n', num: x}
		case bool:
			return &jval{kind: 'b', b: x}
		}
		return &jval{kind: 'z'}
	}
	return conv(x), nil
}

func jsonEqual(a, b *jval) bool {
	var x, y bytes.Buffer
	a.encode(&x)
	b.encode(&y)
	if a.kind == 'n' && b.kind == 'n' {
		fa, _ := a.num.Float64()
		fb, _ := b.num.Float64()
		return fa == fb
	}
	if a.kind == 'o' && b.kind == 'o' {
		if len(a.obj) != len(b.obj) {
			return false
		}
		for _, m := range a.obj {
			o := b.get(m.key)
			if o == nil || !jsonEqual(m.val, o) {
				return false
			}
		}
		return true
	}
	if a.kind == 'a' && b.kind == 'a' {
		if len(a.arr) != len(b.arr) {
			return false
		}
		for i := range a.arr {
			if !jsonEqual(a.arr[i], b.arr[i]) {
				return false
			}
		}
		return true
	}
	return x.String() == y.String()
}

// validate is a small JSON Schema validator for the supported subset,
// written independently of the compiler.
func validate(root, s, doc *jval, path string) error {
	if s.kind == 'b' {
		if !s.b {
			return errors.New("false schema")
		}
		return nil
	}
	if r := s.get("$ref"); r != nil {
		sc := &schemaCompiler{root: root}
		target, err := sc.resolve(r.str)
		if err != nil {
			return err
		}
		return validate(root, target, doc, r.str)
	}
	if a := s.get("anyOf"); a != nil {
		for _, sub := range a.arr {
			if validate(root, sub, doc, path) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: no anyOf branch matches", path)
	}
	if ts := s.get("type"); ts != nil {
		var names []string
		if ts.kind == 's' {
			names = []string{ts.str}
		}
		for _, e := range ts.arr {
			names = append(names, e.str)
		}
		dt := doc.jsonType()
		ok := false
		for _, n := range names {
			if n == dt || (n == "number" && dt == "integer") {
				ok = true
			}
		}
		if dt == "integer" && strings.ContainsAny(doc.num.String(), ".eE") && !ok {
			ok = false
		}
		if !ok {
			return fmt.Errorf("%s: type %s not in %v", path, dt, names)
		}
	}
	if c := s.get("const"); c != nil && !jsonEqual(c, doc) {
		return fmt.Errorf("%s: not the const", path)
	}
	if e := s.get("enum"); e != nil {
		ok := false
		for _, x := range e.arr {
			if jsonEqual(x, doc) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%s: not in enum", path)
		}
	}
	if a := s.get("allOf"); a != nil {
		for _, sub := range a.arr {
			if err := validate(root, sub, doc, path); err != nil {
				return err
			}
		}
	}
	if doc.kind == 's' {
		n := int64(utf8.RuneCountInString(doc.str))
		if m := s.get("minLength"); m != nil {
			if k, _ := m.num.Int64(); n < k {
				return fmt.Errorf("%s: %d characters < minLength", path, n)
			}
		}
		if m := s.get("maxLength"); m != nil {
			if k, _ := m.num.Int64(); n > k {
				return fmt.Errorf("%s: %d characters > maxLength", path, n)
			}
		}
		if f := s.get("format"); f != nil {
			var err error
			switch f.str {
			case "date":
				_, err = time.Parse("2006-01-02", doc.str)
			case "time":
				_, err = time.Parse("15:04:05.999999999Z07:00", doc.str)
			case "date-time":
				_, err = time.Parse(time.RFC3339Nano, doc.str)
			case "uuid":
				if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(doc.str) {
					err = errors.New("not a uuid")
				}
			}
			if err != nil {
				return fmt.Errorf("%s: format %s: %v", path, f.str, err)
			}
		}
	}
	if doc.kind == 'n' {
		x, _ := doc.num.Float64()
		for _, kw := range numberKeywords {
			b := s.get(kw)
			if b == nil {
				continue
			}
			y, _ := b.num.Float64()
			if (kw == "minimum" && x < y) || (kw == "maximum" && x > y) || (kw == "exclusiveMinimum" && x <= y) || (kw == "exclusiveMaximum" && x >= y) {
				return fmt.Errorf("%s: %v breaks %s %v", path, x, kw, y)
			}
		}
	}
	if doc.kind == 'o' {
		props := s.get("properties")
		if r := s.get("required"); r != nil {
			for _, k := range r.arr {
				if doc.get(k.str) == nil {
					return fmt.Errorf("%s: missing required %q", path, k.str)
				}
			}
		}
		for _, m := range doc.obj {
			if p := props.get(m.key); p != nil {
				if err := validate(root, p, m.val, path+"/"+m.key); err != nil {
					return err
				}
				continue
			}
			if a := s.get("additionalProperties"); a != nil {
				if err := validate(root, a, m.val, path+"/"+m.key); err != nil {
					return fmt.Errorf("additional property %q: %w", m.key, err)
				}
			}
		}
	}
	if doc.kind == 'a' {
		if it := s.get("items"); it != nil {
			for i, e := range doc.arr {
				if err := validate(root, it, e, fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
		}
		if n := s.get("minItems"); n != nil {
			if k, _ := n.num.Int64(); int64(len(doc.arr)) < k {
				return fmt.Errorf("%s: %d items < minItems", path, len(doc.arr))
			}
		}
		if n := s.get("maxItems"); n != nil {
			if k, _ := n.num.Int64(); int64(len(doc.arr)) > k {
				return fmt.Errorf("%s: %d items > maxItems", path, len(doc.arr))
			}
		}
	}
	return nil
}

func TestMaskExact(t *testing.T) {
	v, _ := demoVocab(t)
	for si, src := range testSchemas {
		g, err := CompileSchema([]byte(src), Options{Avoid: markers})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(si), 9))
		m := NewMatcher(g, v)
		for step := 0; step < 60 && !m.Done(); step++ {
			checkMaskExact(t, m, v)
			mask := m.Mask(nil)
			var allowed []int
			for i := 0; i < v.Size(); i++ {
				if mask[i>>6]&(1<<(uint(i)&63)) != 0 {
					allowed = append(allowed, i)
				}
			}
			if err := m.Accept(allowed[rng.IntN(len(allowed))]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestMaskExactQwen(t *testing.T) {
	if testing.Short() {
		t.Skip("151k vocabulary in -short mode")
	}
	v, tok := qwen3(t)
	for _, c := range []struct{ schema, doc string }{
		{testSchemas[0], `{"name": "Ada <b>Lovelace</b> 数学", "age": 36, "tags": ["x", "y\n"]}`},
		{testSchemas[9], `{"when": "2024-02-28T10:00:00Z", "day": "2024-01-01", "at": "23:59:59.5+01:00", "id": "123e4567-e89b-12d3-a456-426614174000", "code": "数学ab", "long": "Lovelace\u003c wrote notes", "n": 999, "p": 0.25, "q": 2.75, "r": -8}`},
	} {
		g, err := CompileSchema([]byte(c.schema), Options{Avoid: markers})
		if err != nil {
			t.Fatal(err)
		}
		m := NewMatcher(g, v)
		// Follow a real tokenization of a valid document, checking the
		// mask against the direct check at every step.
		for _, id := range tok.Encode(c.doc) {
			checkMaskExact(t, m, v)
			if err := m.Accept(id); err != nil {
				t.Fatalf("%q: %v", v.TokenBytes(id), err)
			}
		}
		if !m.CanEnd() {
			t.Fatal("complete document cannot end")
		}
	}
}

// setBits appends the indices of the set bits of mask to dst.
func setBits(dst []int, mask []uint64) []int {
	for w, x := range mask {
		for x != 0 {
			dst = append(dst, w*64+bits.TrailingZeros64(x))
			x &= x - 1
		}
	}
	return dst
}

// Matchers of one grammar may run in parallel (they share its tables).
func TestConcurrentMatchers(t *testing.T) {
	v, _ := demoVocab(t)
	g, err := CompileSchema([]byte(testSchemas[3]), Options{Avoid: markers})
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := parseJSON([]byte(testSchemas[3]))
	var wg sync.WaitGroup
	outs := make([][]string, 4)
	for w := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range 10 {
				if out, ok := randomRun(t, g, v, rng, 300); ok {
					outs[w] = append(outs[w], out)
				}
			}
		}()
	}
	wg.Wait()
	for _, o := range outs {
		for _, out := range o {
			checkDoc(t, schema, out)
		}
	}
}
