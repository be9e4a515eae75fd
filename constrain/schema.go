package constrain

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// UnsupportedError reports a JSON Schema keyword or construct outside
// the supported subset. Servers answer it as a client error naming
// Keyword.
type UnsupportedError struct {
	// Keyword is the schema keyword, e.g. "pattern".
	Keyword string
	// Path is the JSON pointer of the schema using it, e.g.
	// "#/properties/zip".
	Path string
	// Reason says what is wrong when it is not simply unsupported.
	Reason string
}

func (e *UnsupportedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("json schema %s: %q: %s", e.Path, e.Keyword, e.Reason)
	}
	return fmt.Sprintf("json schema %s: keyword %q is not supported (supported: %s)", e.Path, e.Keyword, strings.Join(supportedKeywords, ", "))
}

var supportedKeywords = []string{
	"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
	"enum", "const", "anyOf", "allOf", "$ref", "$defs", "definitions",
	"minLength", "maxLength", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
}

var (
	stringKeywords = []string{"minLength", "maxLength", "format"}
	numberKeywords = []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
)

func hasAny(s *jval, kws []string) bool {
	for _, k := range kws {
		if s.get(k) != nil {
			return true
		}
	}
	return false
}

// annotations are keywords that do not constrain values.
var annotations = []string{
	"title", "description", "$schema", "$id", "$comment", "examples", "default",
	"deprecated", "readOnly", "writeOnly",
}

// MaxItemsBound is the largest minItems/maxItems the compiler unrolls.
const MaxItemsBound = 4096

// CompileSchema compiles a JSON Schema into a grammar whose texts are
// JSON documents valid against it (with optional whitespace around the
// value). See the package documentation for the subset supported;
// anything else is refused with an *UnsupportedError.
func CompileSchema(schema []byte, opts Options) (*Grammar, error) {
	root, err := parseJSON(schema)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return compileTop(opts, func(b *jsonBuilder) (frag, error) {
		sc := &schemaCompiler{b: b, root: root}
		f := sc.value(root, "#")
		return f, sc.err
	})
}

type schemaCompiler struct {
	b    *jsonBuilder
	root *jval
	ns   string // prefix of rule keys, unique per schema sharing a builder
	err  error
}

func (sc *schemaCompiler) fail(err error) frag {
	if sc.err == nil {
		sc.err = err
	}
	return sc.b.empty()
}

func unsupported(path, kw, reason string, args ...any) error {
	return &UnsupportedError{Keyword: kw, Path: path, Reason: fmt.Sprintf(reason, args...)}
}

// value compiles schema s found at path.
func (sc *schemaCompiler) value(s *jval, path string) frag {
	b := sc.b
	if sc.err != nil {
		return b.empty()
	}
	switch s.kind {
	case 'b':
		if s.b {
			return b.anyValue(0)
		}
		return sc.fail(unsupported(path, "false", "the schema false matches nothing"))
	case 'o':
	default:
		return sc.fail(fmt.Errorf("json schema %s: a schema must be an object or a boolean", path))
	}
	var constraints []string
	for _, m := range s.obj {
		switch {
		case slices.Contains(annotations, m.key), m.key == "$defs", m.key == "definitions":
		case slices.Contains(supportedKeywords, m.key):
			constraints = append(constraints, m.key)
		default:
			return sc.fail(&UnsupportedError{Keyword: m.key, Path: path})
		}
	}
	only := func(kw string) bool {
		for _, c := range constraints {
			if c != kw {
				return false
			}
		}
		return true
	}
	if r := s.get("$ref"); r != nil {
		if !only("$ref") {
			return sc.fail(unsupported(path, "$ref", "other keywords next to $ref are not supported"))
		}
		return sc.ref(r, path)
	}
	if a := s.get("anyOf"); a != nil {
		if !only("anyOf") {
			return sc.fail(unsupported(path, "anyOf", "other keywords next to anyOf are not supported; move them into each branch"))
		}
		if a.kind != 'a' || len(a.arr) == 0 {
			return sc.fail(unsupported(path, "anyOf", "must be a non-empty array"))
		}
		var alts []frag
		for i, sub := range a.arr {
			alts = append(alts, sc.value(sub, path+"/anyOf/"+strconv.Itoa(i)))
		}
		return b.alt(alts...)
	}
	if a := s.get("allOf"); a != nil {
		if !only("allOf") || a.kind != 'a' || len(a.arr) != 1 {
			return sc.fail(unsupported(path, "allOf", "only a single subschema without other keywords is supported"))
		}
		return sc.value(a.arr[0], path+"/allOf/0")
	}
	types, err := schemaTypes(s, path)
	if err != nil {
		return sc.fail(err)
	}
	if c := s.get("const"); c != nil {
		return sc.literals(path, "const", []*jval{c}, types)
	}
	if e := s.get("enum"); e != nil {
		if e.kind != 'a' || len(e.arr) == 0 {
			return sc.fail(unsupported(path, "enum", "must be a non-empty array"))
		}
		return sc.literals(path, "enum", e.arr, types)
	}
	if types == nil {
		objectKw := s.get("properties") != nil || s.get("required") != nil || s.get("additionalProperties") != nil
		arrayKw := s.get("items") != nil || s.get("minItems") != nil || s.get("maxItems") != nil
		stringKw, numberKw := hasAny(s, stringKeywords), hasAny(s, numberKeywords)
		kinds := 0
		for _, k := range []bool{objectKw, arrayKw, stringKw, numberKw} {
			if k {
				kinds++
			}
		}
		switch {
		case kinds > 1:
			return sc.fail(unsupported(path, "type", "a schema with keywords of several types needs a type"))
		case objectKw:
			types = []string{"object"}
		case arrayKw:
			types = []string{"array"}
		case stringKw:
			types = []string{"string"}
		case numberKw:
			types = []string{"number"}
		default:
			return b.anyValue(0)
		}
	}
	var alts []frag
	for _, t := range types {
		switch t {
		case "string":
			alts = append(alts, sc.stringValue(s, path))
		case "number", "integer":
			alts = append(alts, sc.numberValue(s, path, t == "integer"))
		case "boolean":
			alts = append(alts, b.boolean())
		case "null":
			alts = append(alts, b.lit("null"))
		case "object":
			alts = append(alts, b.rule(sc.ns+"object:"+path, func() frag { return sc.object(s, path) }))
		case "array":
			alts = append(alts, b.rule(sc.ns+"array:"+path, func() frag { return sc.array(s, path) }))
		}
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return b.alt(alts...)
}

// schemaTypes reads "type" (nil when absent).
func schemaTypes(s *jval, path string) ([]string, error) {
	t := s.get("type")
	if t == nil {
		return nil, nil
	}
	var names []string
	switch t.kind {
	case 's':
		names = []string{t.str}
	case 'a':
		for _, e := range t.arr {
			if e.kind != 's' {
				return nil, unsupported(path, "type", "must be a string or an array of strings")
			}
			if !slices.Contains(names, e.str) {
				names = append(names, e.str)
			}
		}
	default:
		return nil, unsupported(path, "type", "must be a string or an array of strings")
	}
	if len(names) == 0 {
		return nil, unsupported(path, "type", "must not be empty")
	}
	for _, n := range names {
		switch n {
		case "string", "number", "integer", "boolean", "null", "object", "array":
		default:
			return nil, unsupported(path, "type", "unknown type %q", n)
		}
	}
	return names, nil
}

// literals matches one of the given values, written as compact JSON;
// with types, values of other types are dropped.
func (sc *schemaCompiler) literals(path, kw string, vals []*jval, types []string) frag {
	b := sc.b
	var alts []frag
	seen := map[string]bool{}
	for _, v := range vals {
		t := v.jsonType()
		if types != nil && !slices.Contains(types, t) && (t != "integer" || !slices.Contains(types, "number")) {
			continue
		}
		var buf bytes.Buffer
		v.encode(&buf)
		if seen[buf.String()] {
			continue
		}
		seen[buf.String()] = true
		alts = append(alts, b.jsonLit(buf.String()))
	}
	if len(alts) == 0 {
		return sc.fail(unsupported(path, kw, "no value has the schema's type"))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return b.alt(alts...)
}

// ref compiles a $ref to the root or to an entry of $defs/definitions.
func (sc *schemaCompiler) ref(r *jval, path string) frag {
	if r.kind != 's' {
		return sc.fail(unsupported(path, "$ref", "must be a string"))
	}
	target, err := sc.resolve(r.str)
	if err != nil {
		return sc.fail(unsupported(path, "$ref", "%v", err))
	}
	return sc.b.rule(sc.ns+"ref:"+r.str, func() frag { return sc.value(target, r.str) })
}

func (sc *schemaCompiler) resolve(ref string) (*jval, error) {
	if ref == "#" {
		return sc.root, nil
	}
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("only local references (#, #/$defs/…) are supported, not %q", ref)
	}
	cur := sc.root
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		var next *jval
		switch cur.kind {
		case 'o':
			next = cur.get(part)
		case 'a':
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(cur.arr) {
				next = cur.arr[i]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("reference %q does not resolve", ref)
		}
		cur = next
	}
	return cur, nil
}

// object compiles an object schema: the properties in their schema
// order, required ones always present, optional ones possibly left out.
// Keys outside properties are only generated when there are no
// properties (then additionalProperties, a schema or true, types their
// values).
func (sc *schemaCompiler) object(s *jval, path string) frag {
	b := sc.b
	props := s.get("properties")
	if props != nil && props.kind != 'o' {
		return sc.fail(unsupported(path, "properties", "must be an object"))
	}
	addl := s.get("additionalProperties")
	closed := addl != nil && addl.kind == 'b' && !addl.b
	if addl != nil && addl.kind != 'b' && addl.kind != 'o' {
		return sc.fail(unsupported(path, "additionalProperties", "must be a boolean or a schema"))
	}
	required := map[string]bool{}
	if r := s.get("required"); r != nil {
		if r.kind != 'a' {
			return sc.fail(unsupported(path, "required", "must be an array of strings"))
		}
		for _, e := range r.arr {
			if e.kind != 's' {
				return sc.fail(unsupported(path, "required", "must be an array of strings"))
			}
			if props.get(e.str) == nil {
				return sc.fail(unsupported(path, "required", "property %q is required but not listed in properties", e.str))
			}
			required[e.str] = true
		}
	}
	if props == nil || len(props.obj) == 0 {
		switch {
		case closed:
			return b.seq(b.lit("{"), b.ws(), b.lit("}"))
		case addl != nil && addl.kind == 'o':
			return b.mapOf(func() frag {
				return b.rule(sc.ns+"addl:"+path, func() frag { return sc.value(addl, path+"/additionalProperties") })
			})
		}
		return b.anyObject(0)
	}
	n := len(props.obj)
	open := b.seq(b.lit("{"), b.ws())
	// r[i][c]: before property i, c = 1 when a property was written (the
	// next one needs a comma).
	r := make([][2]int32, n+1)
	for i := range r {
		r[i] = [2]int32{b.node(), b.node()}
	}
	b.eps(open.out, r[0][0])
	closeF := b.lit("}")
	b.eps(r[n][0], closeF.in)
	b.eps(r[n][1], closeF.in)
	for i, m := range props.obj {
		key := jsonString(m.key)
		val := sc.value(m.val, path+"/properties/"+escapePointer(m.key))
		mem := b.seq(b.jsonLit(key), b.ws(), b.lit(":"), b.ws(), val, b.ws())
		b.eps(r[i][0], mem.in)
		comma := b.seq(b.lit(","), b.ws())
		b.eps(r[i][1], comma.in)
		b.eps(comma.out, mem.in)
		b.eps(mem.out, r[i+1][1])
		if !required[m.key] {
			b.eps(r[i][0], r[i+1][0])
			b.eps(r[i][1], r[i+1][1])
		}
	}
	return frag{open.in, closeF.out}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// jsonString encodes s as a JSON string literal.
func jsonString(s string) string {
	var buf bytes.Buffer
	(&jval{kind: 's', str: s}).encode(&buf)
	return buf.String()
}

// array compiles an array schema.
func (sc *schemaCompiler) array(s *jval, path string) frag {
	b := sc.b
	items := s.get("items")
	if items != nil && items.kind != 'o' && items.kind != 'b' {
		return sc.fail(unsupported(path, "items", "must be a schema (tuple forms are not supported)"))
	}
	lo, err := countBound(s, "minItems", path, MaxItemsBound)
	if err != nil {
		return sc.fail(err)
	}
	hi, err := countBound(s, "maxItems", path, MaxItemsBound)
	if err != nil {
		return sc.fail(err)
	}
	if lo < 0 {
		lo = 0
	}
	if hi >= 0 && hi < lo {
		return sc.fail(unsupported(path, "maxItems", "is below minItems"))
	}
	item := func() frag {
		if items == nil {
			return b.anyValue(1)
		}
		return b.rule(sc.ns+"items:"+path, func() frag { return sc.value(items, path+"/items") })
	}
	return b.arrayOf(item, lo, hi)
}

// countBound reads a count keyword such as minItems or maxLength (-1
// when absent), refusing values above limit.
func countBound(s *jval, kw, path string, limit int) (int, error) {
	v := s.get(kw)
	if v == nil {
		return -1, nil
	}
	if v.kind != 'n' {
		return 0, unsupported(path, kw, "must be a non-negative integer")
	}
	n, err := strconv.Atoi(v.num.String())
	if err != nil || n < 0 {
		return 0, unsupported(path, kw, "must be a non-negative integer")
	}
	if n > limit {
		return 0, unsupported(path, kw, "values above %d are not supported", limit)
	}
	return n, nil
}

// stringValue compiles a string schema: a format, length bounds, or any
// string.
func (sc *schemaCompiler) stringValue(s *jval, path string) frag {
	b := sc.b
	if f := s.get("format"); f != nil {
		if s.get("minLength") != nil || s.get("maxLength") != nil {
			return sc.fail(unsupported(path, "format", "format together with minLength/maxLength is not supported"))
		}
		mk, ok := formats[f.str]
		if f.kind != 's' || !ok {
			return sc.fail(unsupported(path, "format", "only the formats date, time, date-time and uuid are supported, not %s", f.str))
		}
		return b.seq(b.lit(`"`), mk(b), b.lit(`"`))
	}
	if s.get("minLength") == nil && s.get("maxLength") == nil {
		return b.str()
	}
	lo, err := countBound(s, "minLength", path, MaxLengthBound)
	if err != nil {
		return sc.fail(err)
	}
	hi, err := countBound(s, "maxLength", path, MaxLengthBound)
	if err != nil {
		return sc.fail(err)
	}
	lo = max(lo, 0)
	if hi >= 0 && hi < lo {
		return sc.fail(unsupported(path, "maxLength", "is below minLength"))
	}
	return b.boundedString(lo, hi)
}

// numberValue compiles a number or integer schema with optional bounds.
func (sc *schemaCompiler) numberValue(s *jval, path string, integer bool) frag {
	b := sc.b
	if !hasAny(s, numberKeywords) {
		if integer {
			return b.integer()
		}
		return b.number()
	}
	lo, hi, loEx, hiEx, err := numBounds(s, path)
	if err != nil {
		return sc.fail(err)
	}
	if integer {
		ilo, ihi, ok := intBounds(lo, hi, loEx, hiEx)
		if !ok {
			return sc.fail(unsupported(path, "minimum", "no integer lies within the bounds"))
		}
		return b.intRange(ilo, ihi)
	}
	f, ok := b.boundedNumber(lo, hi, loEx, hiEx)
	if !ok {
		return sc.fail(unsupported(path, "minimum", "the bounds leave no number glmv can write"))
	}
	return f
}
