package constrain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestSchemaRefusals(t *testing.T) {
	for _, c := range []struct{ schema, keyword, path string }{
		{`{"type":"string","pattern":"a"}`, "pattern", "#"},
		{`{"type":"string","format":"email"}`, "format", "#"},
		{`{"type":"string","format":"date","maxLength":3}`, "format", "#"},
		{`{"type":"string","minLength":5000}`, "minLength", "#"},
		{`{"type":"string","minLength":3,"maxLength":2}`, "maxLength", "#"},
		{`{"type":"integer","minimum":3,"exclusiveMaximum":3}`, "minimum", "#"},
		{`{"type":"integer","minimum":true}`, "minimum", "#"},
		{`{"type":"number","exclusiveMinimum":0.5,"maximum":0.5}`, "minimum", "#"},
		{`{"minLength":1,"minimum":2}`, "type", "#"},
		{`{"allOf":[{"type":"string"},{"type":"null"}]}`, "allOf", "#"},
		{`{"oneOf":[{"type":"string"}]}`, "oneOf", "#"},
		{`{"not":{}}`, "not", "#"},
		{`{"type":"object","properties":{"a":{"type":"array","prefixItems":[]}}}`, "prefixItems", "#/properties/a"},
		{`{"type":"object","patternProperties":{}}`, "patternProperties", "#"},
		{`{"type":"object","properties":{"a/b":{"type":"number","multipleOf":2}}}`, "multipleOf", "#/properties/a~1b"},
		{`{"type":"object","required":["x"]}`, "required", "#"},
		{`{"type":"decimal"}`, "type", "#"},
		{`{"enum":[]}`, "enum", "#"},
		{`{"type":"string","enum":[1,2]}`, "enum", "#"},
		{`{"$ref":"http://example.com/s"}`, "$ref", "#"},
		{`{"$ref":"#/$defs/missing"}`, "$ref", "#"},
		{`{"$ref":"#","type":"object"}`, "$ref", "#"},
		{`{"anyOf":[{"type":"string"}],"type":"string"}`, "anyOf", "#"},
		{`{"type":"array","items":[{"type":"string"}]}`, "items", "#"},
		{`{"type":"array","minItems":3,"maxItems":2}`, "maxItems", "#"},
		{`{"type":"array","maxItems":100000}`, "maxItems", "#"},
		{`{"type":"array","minItems":-1}`, "minItems", "#"},
		{`{"type":"object","properties":{"a":false},"required":["a"]}`, "false", "#/properties/a"},
	} {
		_, err := CompileSchema([]byte(c.schema), Options{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Keyword != c.keyword || ue.Path != c.path {
			t.Errorf("%s: error %v; want keyword %q at %s", c.schema, err, c.keyword, c.path)
			continue
		}
		if !strings.Contains(err.Error(), `"`+c.keyword+`"`) {
			t.Errorf("%s: message %q does not name the keyword", c.schema, err)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":1,"a":2}`, `[1]`, `"x"`, `{} {}`, `{"$ref":"#"}`, `{"anyOf":[{"$ref":"#"},{"type":"null"}]}`} {
		if _, err := CompileSchema([]byte(bad), Options{}); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
	if _, err := CompileSchema([]byte(`{}`), Options{Avoid: []string{"a\"b"}}); err == nil {
		t.Error("Avoid string with a quote accepted")
	}
}

// A hostile schema hits the grammar size limit instead of exhausting memory.
func TestSchemaTooLarge(t *testing.T) {
	s := `{"type":"array","items":{"type":"array","items":{"type":"array","items":{"enum":["` + strings.Repeat("x", 100) + `"]},"minItems":4000},"minItems":4000},"minItems":4000}`
	if _, err := CompileSchema([]byte(s), Options{}); err != nil {
		t.Logf("refused: %v", err)
	}
	var sb strings.Builder
	sb.WriteString(`{"enum":[`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + strings.Repeat("y", 100) + strconv.Itoa(i) + `"`)
	}
	sb.WriteString(`]}`)
	if _, err := CompileSchema([]byte(sb.String()), Options{}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("300k-byte enum: %v", err)
	}
}

// runText feeds text byte by byte and reports whether it is accepted and
// complete.
func runText(g *Grammar, v *Vocab, text string) (accepted, complete bool) {
	m := NewMatcher(g, v)
	if err := m.AcceptBytes([]byte(text)); err != nil {
		return false, false
	}
	return true, m.CanEnd()
}

func TestLanguage(t *testing.T) {
	v, _ := demoVocab(t)
	obj, err := JSONObject(Options{Avoid: markers, MaxWhitespace: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text               string
		accepted, complete bool
	}{
		{`{}`, true, true},
		{`   {}   `, true, true},
		{`    {}`, false, false}, // 4 spaces > MaxWhitespace
		{`{"a":[1,2.5e10,-0,true,null,"x\u00e9\n"]}`, true, true},
		{`{"a":1`, true, false},
		{`{"a":01}`, false, false},
		{`{"a":1.}`, false, false},
		{`{"a":"<think"}`, true, true},
		{`{"a":"<think>"}`, false, false},
		{`{"a":"x</tool_call"}`, true, true},
		{`{"a":"x</tool_call>`, false, false},
		{`{"a":"\u003ctool_call>"}`, true, true},
		{`{"a":"tab	"}`, false, false}, // raw control character
		{"{\"a\":\"\xff\"}", false, false},
		{"{\"a\":\"\xe2\x82\xac\"}", true, true},
		{"{\"a\":\"\xed\xa0\x80\"}", false, false}, // UTF-16 surrogate in UTF-8
		{`[]`, false, false},
		{`{"a":12345678901234567}`, false, false}, // 17 digits
		{`{"a":1234567890123456}`, true, true},
		{`{"a":1,}`, false, false},
		{`{,}`, false, false},
	} {
		acc, comp := runText(obj, v, c.text)
		if acc != c.accepted || comp != c.complete {
			t.Errorf("%q: accepted %v complete %v, want %v %v", c.text, acc, comp, c.accepted, c.complete)
		}
	}
	deep := strings.Repeat("[", MaxAnyDepth) + strings.Repeat("]", MaxAnyDepth)
	if acc, _ := runText(obj, v, `{"a":`+deep+`}`); acc {
		t.Errorf("nesting deeper than MaxAnyDepth accepted")
	}
	if acc, comp := runText(obj, v, `{"a":`+deep[1:len(deep)-1]+`}`); !acc || !comp {
		t.Errorf("nesting within MaxAnyDepth refused")
	}
	// Optional properties keep their order and commas stay right.
	g, err := CompileSchema([]byte(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"required":["b"]}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		`{"b":1}`: true, `{"a":1,"b":2}`: true, `{"a":1,"b":2,"c":3}`: true, `{"b":2,"c":3}`: true,
		`{}`: false, `{"a":1}`: false, `{"b":1,"a":2}`: false, `{"a":1,"c":3}`: false, `{,"b":1}`: false, `{"b":1,}`: false,
	} {
		if acc, comp := runText(g, v, text); (acc && comp) != want {
			t.Errorf("%s: accepted %v complete %v, want %v", text, acc, comp, want)
		}
	}
}

func TestEOSOnlyWhenComplete(t *testing.T) {
	v, tok := demoVocab(t)
	g, err := CompileSchema([]byte(`{"type":"array","items":{"type":"integer"}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(g, v)
	eos := v.EOS()[0]
	for _, id := range tok.Encode("[1,2") {
		if hasBit(m.Mask(nil), int32(eos)) || m.Allowed(eos) {
			t.Fatal("end allowed inside the array")
		}
		if err := m.Accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Accept(eos); err == nil {
		t.Fatal("accepted the end inside the array")
	}
	must(t, m.Accept(tok.Encode("]")[0]))
	mask := m.Mask(nil)
	for _, e := range v.EOS() {
		if !hasBit(mask, int32(e)) {
			t.Fatal("end not allowed after the array")
		}
	}
	must(t, m.Accept(eos))
	if !m.Done() || CountBits(m.Mask(nil)) != 0 || m.Accept(tok.Encode(" ")[0]) == nil {
		t.Fatal("tokens allowed after the end")
	}
}

func TestEither(t *testing.T) {
	v, _ := demoVocab(t)
	a, _ := CompileSchema([]byte(`{"const":"a"}`), Options{})
	b, _ := CompileSchema([]byte(`{"type":"integer"}`), Options{})
	g := Either(a, b)
	for text, want := range map[string]bool{`"a"`: true, `12`: true, `"b"`: false, `"a"1`: false} {
		if acc, comp := runText(g, v, text); (acc && comp) != want {
			t.Errorf("%s: %v %v", text, acc, comp)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Branches without a finite document are cut, and a schema with none at
// all is refused, so a matcher can always finish.
func TestUnproductive(t *testing.T) {
	if _, err := CompileSchema([]byte(`{"type":"array","items":{"$ref":"#"},"minItems":1}`), Options{}); err == nil {
		t.Fatal("schema without a finite document compiled")
	}
	v, _ := demoVocab(t)
	g, err := CompileSchema([]byte(`{"anyOf":[{"type":"null"},{"$ref":"#/$defs/loop"}],"$defs":{"loop":{"type":"array","items":{"$ref":"#/$defs/loop"},"minItems":1}}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if acc, _ := runText(g, v, `[`); acc {
		t.Fatal("entered a branch that cannot finish")
	}
	if acc, comp := runText(g, v, `null`); !acc || !comp {
		t.Fatal("null refused")
	}
}

// Integer ranges accept exactly the integers in them.
func TestIntRange(t *testing.T) {
	v, _ := demoVocab(t)
	for _, c := range [][2]int64{{0, 0}, {-5, 5}, {7, 123}, {-123, -7}, {-1000, 999}, {10, 10}, {99, 101}, {-1, 0}} {
		g, err := CompileSchema([]byte(fmt.Sprintf(`{"type":"integer","minimum":%d,"maximum":%d}`, c[0], c[1])), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for x := int64(-1100); x <= 1100; x++ {
			_, comp := runText(g, v, strconv.FormatInt(x, 10))
			if want := x >= c[0] && x <= c[1]; comp != want {
				t.Fatalf("[%d, %d]: %d accepted %v", c[0], c[1], x, comp)
			}
		}
		for _, bad := range []string{"-0", "007", "+1", "1.0", "1e2"} {
			if acc, comp := runText(g, v, bad); acc && comp {
				t.Fatalf("[%d, %d]: %q accepted", c[0], c[1], bad)
			}
		}
	}
	g, err := CompileSchema([]byte(`{"type":"integer","exclusiveMinimum":-0.5}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{"0": true, "-1": false, "9999999999999999": true, "12345": true} {
		if _, comp := runText(g, v, text); comp != want {
			t.Errorf("> -0.5: %s accepted %v", text, comp)
		}
	}
}
