package constrain

import (
	"math/rand/v2"
	"testing"
)

// benchDoc is a typical structured answer: short keys, numbers, a long
// string with mixed scripts, a nested array.
const benchDoc = `{
  "name": "Ada Lovelace",
  "age": 36,
  "tags": ["mathematician", "writer", "analyst"],
  "bio": "Augusta Ada King, Countess of Lovelace, was an English mathematician and writer, chiefly known for her work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine. 她被认为是第一位程序员。"
}`

const benchSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},"bio":{"type":"string"}},"required":["name","age","tags","bio"],"additionalProperties":false}`

// benchBounded is benchSchema with length and range bounds.
const benchBounded = `{"type":"object","properties":{"name":{"type":"string","maxLength":100},"age":{"type":"integer","minimum":0,"maximum":150},"tags":{"type":"array","items":{"type":"string","minLength":1,"maxLength":40},"maxItems":10},"bio":{"type":"string","maxLength":1000}},"required":["name","age","tags","bio"],"additionalProperties":false}`

// BenchmarkMask measures the mask and the step for each token of a
// real tokenization of benchDoc on the 151k Qwen3 vocabulary, with the
// per-grammar analysis already done (ns/op is per token).
func BenchmarkMask(b *testing.B) {
	for _, bc := range []struct {
		name, schema string
		uncached     bool
	}{{"schema", benchSchema, false}, {"json_object", "", false}, {"schema/uncached", benchSchema, true}, {"bounded", benchBounded, false}} {
		uncached := bc.uncached
		b.Run(bc.name, func(b *testing.B) {
			v, tok := qwen3(b)
			var g *Grammar
			var err error
			if bc.schema == "" {
				g, err = JSONObject(Options{Avoid: markers})
			} else {
				g, err = CompileSchema([]byte(bc.schema), Options{Avoid: markers})
			}
			if err != nil {
				b.Fatal(err)
			}
			ids := tok.Encode(benchDoc)
			run := func() {
				m := NewMatcher(g, v)
				mask := make([]uint64, m.MaskWords())
				for _, id := range ids {
					if uncached {
						m.cacheID = -1
					}
					mask = m.Mask(mask)
					if mask[id>>6]&(1<<(uint(id)&63)) == 0 {
						b.Fatalf("token %q masked", v.TokenBytes(id))
					}
					if err := m.Accept(id); err != nil {
						b.Fatal(err)
					}
				}
			}
			run() // the per-node analysis
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/token")
		})
	}
}

// BenchmarkColdStart measures compiling a schema and generating the
// first document from scratch (the per-grammar analysis included).
func BenchmarkColdStart(b *testing.B) {
	v, tok := qwen3(b)
	ids := tok.Encode(benchDoc)
	for b.Loop() {
		g, err := CompileSchema([]byte(benchSchema), Options{Avoid: markers})
		if err != nil {
			b.Fatal(err)
		}
		m := NewMatcher(g, v)
		mask := make([]uint64, m.MaskWords())
		for _, id := range ids {
			mask = m.Mask(mask)
			if err := m.Accept(id); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkVocab measures building the 151k-token vocabulary trie.
func BenchmarkVocab(b *testing.B) {
	_, tok := qwen3(b)
	for b.Loop() {
		if _, err := FromTokenizer(tok, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMaskRandom replays random walks (uniformly drawn allowed
// tokens, so odd states and long tokens) through the json_object grammar
// on the 151k vocabulary, without reusing the previous mask: ns/token is
// the mask plus the step.
func BenchmarkMaskRandom(b *testing.B) {
	v, _ := qwen3(b)
	g, err := JSONObject(Options{Avoid: markers})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var runs [][]int
	total := 0
	for range 20 {
		m := NewMatcher(g, v)
		var ids []int
		for step := 0; step < 100; step++ {
			mask := m.Mask(nil)
			var allowed []int
			for i := 0; i < v.Size(); i++ {
				if hasBit(mask, int32(i)) {
					allowed = append(allowed, i)
				}
			}
			id := allowed[rng.IntN(len(allowed))]
			if m.CanEnd() {
				break
			}
			if err := m.Accept(id); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		runs = append(runs, ids)
		total += len(ids)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, ids := range runs {
			m := NewMatcher(g, v)
			mask := make([]uint64, m.MaskWords())
			for _, id := range ids {
				m.cacheID = -1
				mask = m.Mask(mask)
				if err := m.Accept(id); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/token")
}
