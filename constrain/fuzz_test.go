package constrain

import (
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

// FuzzCompileSchema compiles arbitrary schemas: the compiler must refuse
// or succeed without panicking, and every document a random walk through
// a compiled grammar completes must parse and validate.
func FuzzCompileSchema(f *testing.F) {
	for _, s := range testSchemas {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}`,
		`{"anyOf":[{"type":"null"},{"$ref":"#/$defs/loop"}],"$defs":{"loop":{"type":"array","items":{"$ref":"#/$defs/loop"},"minItems":1}}}`,
		`{"$ref":"#/definitions/a","definitions":{"a":{"type":"array","items":{"$ref":"#"},"maxItems":2}}}`,
		`{"const":{"a":[1,"<think>",null,{"b":false}]}}`,
		`{"type":["object","null"],"properties":{"x":{"enum":[1.5,"a",true]}},"required":["x"],"additionalProperties":false}`,
	} {
		f.Add([]byte(s))
	}
	v, _ := demoVocab(f)
	f.Fuzz(func(t *testing.T, schema []byte) {
		if len(schema) > 4096 {
			return
		}
		g, err := CompileSchema(schema, Options{Avoid: markers, MaxWhitespace: 2})
		if err != nil {
			return
		}
		root, err := parseJSON(schema)
		if err != nil {
			t.Fatalf("compiled a schema that does not parse: %v", err)
		}
		h := fnv.New64a()
		h.Write(schema)
		rng := rand.New(rand.NewPCG(h.Sum64(), 1))
		for range 3 {
			out, ok := randomRun(t, g, v, rng, 200)
			if ok {
				checkDoc(t, root, out)
			}
		}
	})
}

// FuzzMatcherBytes feeds arbitrary text to a matcher: whatever it
// accepts and calls complete must be valid JSON.
func FuzzMatcherBytes(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c\u00e9"}]}`))
	f.Add([]byte(`{"a":"<think"}`))
	f.Add([]byte("{\"\xe2\x82\xac\":-0.5e+10}"))
	g, err := JSONObject(Options{Avoid: markers})
	if err != nil {
		f.Fatal(err)
	}
	v, _ := demoVocab(f)
	root, _ := parseJSON([]byte(`{"type":"object"}`))
	f.Fuzz(func(t *testing.T, text []byte) {
		m := NewMatcher(g, v)
		if m.AcceptBytes(text) != nil || !m.CanEnd() {
			return
		}
		checkDoc(t, root, string(text))
	})
}
