package constrain

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Options adjust how a grammar is built. The zero value is usable.
type Options struct {
	// MaxWhitespace bounds each run of optional whitespace between JSON
	// tokens, so a model cannot loop on whitespace forever; 0 means
	// DefaultMaxWhitespace, a negative value allows no free whitespace.
	MaxWhitespace int
	// Avoid lists text that must never appear inside generated strings
	// (JSON string contents, tool-call argument text): the markers a
	// reply parser would act on, such as "<tool_call>" or "<think>". Each
	// must be printable ASCII without '"' or '\\'. JSON strings can still
	// carry the characters with a \u escape.
	Avoid []string
}

// Bounds of the generated JSON.
const (
	// DefaultMaxWhitespace is the default bound on a whitespace run.
	DefaultMaxWhitespace = 16
	// MaxAnyDepth is the nesting depth of objects and arrays allowed
	// where a schema leaves values unconstrained (json_object, {}).
	MaxAnyDepth = 24
	// MaxIntDigits bounds the digits of an integer part, MaxFracDigits
	// those of a fraction and MaxExpDigits those of an exponent.
	MaxIntDigits  = 16
	MaxFracDigits = 16
	MaxExpDigits  = 3
)

func (o Options) check() error {
	for _, a := range o.Avoid {
		if a == "" {
			return fmt.Errorf("constrain: empty Avoid string")
		}
		for i := 0; i < len(a); i++ {
			if c := a[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return fmt.Errorf("constrain: Avoid string %q must be printable ASCII without '\"' or '\\\\'", a)
			}
		}
	}
	return nil
}

// jsonBuilder adds JSON pieces to a builder.
type jsonBuilder struct {
	*builder
	opts  Options
	maxWS int
	avoid *acAutomaton
}

func newJSONBuilder(opts Options) (*jsonBuilder, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	ws := opts.MaxWhitespace
	if ws == 0 {
		ws = DefaultMaxWhitespace
	}
	return &jsonBuilder{builder: newBuilder(), opts: opts, maxWS: max(ws, 0), avoid: newAC(opts.Avoid)}, nil
}

// ws matches up to maxWS bytes of JSON whitespace.
func (b *jsonBuilder) ws() frag {
	if b.maxWS == 0 {
		return b.empty()
	}
	return b.rule("ws", func() frag {
		return b.rep(func() frag { return b.class(' ', ' ', '\t', '\t', '\n', '\n', '\r', '\r') }, 0, b.maxWS)
	})
}

// str matches a JSON string.
func (b *jsonBuilder) str() frag {
	return b.rule("string", func() frag {
		open := b.lit(`"`)
		out := b.node()
		b.textBody(open.out, out, true)
		return frag{open.in, out}
	})
}

// rawText matches any text (valid UTF-8; tab, newline and carriage
// return the only control characters) that contains no Avoid string: the
// argument values of tool calls.
func (b *jsonBuilder) rawText() frag {
	return b.rule("raw", func() frag {
		in, out := b.node(), b.node()
		b.textBody(in, out, false)
		return frag{in, out}
	})
}

// textBody builds the body of a string from node in: for JSON strings
// (quoted) the closing quote leads to out, for raw text out follows any
// character. Each state of the Avoid automaton is its own node, so no
// Avoid string can be completed.
func (b *jsonBuilder) textBody(in, out int32, quoted bool) {
	ac := b.avoid
	states := make([]int32, len(ac.states))
	states[0] = in
	for i := 1; i < len(states); i++ {
		states[i] = b.node()
	}
	// Shared tails that return to the start state: UTF-8 continuation
	// bytes and escapes.
	root := states[0]
	cont1 := b.node()
	b.byteRange(cont1, root, 0x80, 0xBF)
	cont2 := b.node()
	b.byteRange(cont2, cont1, 0x80, 0xBF)
	e0, ed, f0, f4, cont3 := b.node(), b.node(), b.node(), b.node(), b.node()
	b.byteRange(e0, cont1, 0xA0, 0xBF)
	b.byteRange(ed, cont1, 0x80, 0x9F)
	b.byteRange(f0, cont2, 0x90, 0xBF)
	b.byteRange(f4, cont2, 0x80, 0x8F)
	b.byteRange(cont3, cont2, 0x80, 0xBF)
	var esc int32
	if quoted {
		esc = b.node()
		for _, c := range []byte(`"\/bfnrt`) {
			b.byteRange(esc, root, c, c)
		}
		h := b.node()
		b.byteRange(esc, h, 'u', 'u')
		for i := 0; i < 4; i++ {
			n := root
			if i < 3 {
				n = b.node()
			}
			b.byteRange(h, n, '0', '9')
			b.byteRange(h, n, 'a', 'f')
			b.byteRange(h, n, 'A', 'F')
			h = n
		}
	}
	for si, n := range states {
		if quoted {
			b.byteRange(n, out, '"', '"')
			b.byteRange(n, esc, '\\', '\\')
		} else {
			b.eps(n, out)
		}
		// ASCII: runs of bytes with the same Avoid successor share an edge.
		lo := -1
		var loTo int32
		flush := func(hi int) {
			if lo >= 0 {
				b.byteRange(n, loTo, byte(lo), byte(hi))
				lo = -1
			}
		}
		for c := 0; c < 0x80; c++ {
			ok := c >= 0x20 || (!quoted && (c == '\t' || c == '\n' || c == '\r'))
			if quoted && (c == '"' || c == '\\') {
				ok = false
			}
			to := int32(-1)
			if ok {
				if next := ac.next(si, byte(c)); next >= 0 {
					to = states[next]
				}
			}
			if to < 0 || (lo >= 0 && to != loTo) {
				flush(c - 1)
			}
			if to >= 0 && lo < 0 {
				lo, loTo = c, to
			}
		}
		flush(0x7F)
		b.byteRange(n, cont1, 0xC2, 0xDF)
		b.byteRange(n, e0, 0xE0, 0xE0)
		b.byteRange(n, cont2, 0xE1, 0xEC)
		b.byteRange(n, ed, 0xED, 0xED)
		b.byteRange(n, cont2, 0xEE, 0xEF)
		b.byteRange(n, f0, 0xF0, 0xF0)
		b.byteRange(n, cont3, 0xF1, 0xF3)
		b.byteRange(n, f4, 0xF4, 0xF4)
	}
}

// digits matches between min and max decimal digits.
func (b *jsonBuilder) digits(min, max int) frag {
	return b.rep(func() frag { return b.class('0', '9') }, min, max)
}

// integer matches a JSON integer with at most MaxIntDigits digits.
func (b *jsonBuilder) integer() frag {
	return b.rule("integer", func() frag {
		return b.seq(b.opt(b.lit("-")), b.alt(b.lit("0"), b.seq(b.class('1', '9'), b.digits(0, MaxIntDigits-1))))
	})
}

// number matches a JSON number.
func (b *jsonBuilder) number() frag {
	return b.rule("number", func() frag {
		intPart := b.seq(b.opt(b.lit("-")), b.alt(b.lit("0"), b.seq(b.class('1', '9'), b.digits(0, MaxIntDigits-1))))
		frac := b.opt(b.seq(b.lit("."), b.digits(1, MaxFracDigits)))
		exp := b.opt(b.seq(b.class('e', 'e', 'E', 'E'), b.opt(b.class('+', '+', '-', '-')), b.digits(1, MaxExpDigits)))
		return b.seq(intPart, frac, exp)
	})
}

func (b *jsonBuilder) boolean() frag { return b.alt(b.lit("true"), b.lit("false")) }

// anyValue matches any JSON value nested at most MaxAnyDepth-depth deep.
func (b *jsonBuilder) anyValue(depth int) frag {
	return b.rule("any@"+strconv.Itoa(depth), func() frag {
		alts := []frag{b.str(), b.number(), b.boolean(), b.lit("null")}
		if depth < MaxAnyDepth {
			alts = append(alts, b.anyObject(depth), b.anyArray(depth))
		}
		return b.alt(alts...)
	})
}

// anyObject matches a JSON object whose values are any JSON (or match
// val when it is not nil).
func (b *jsonBuilder) anyObject(depth int) frag {
	return b.rule("object@"+strconv.Itoa(depth), func() frag {
		return b.mapOf(func() frag { return b.anyValue(depth + 1) })
	})
}

// mapOf matches an object with any keys whose values match val.
func (b *jsonBuilder) mapOf(val func() frag) frag {
	member := func() frag { return b.seq(b.str(), b.ws(), b.lit(":"), b.ws(), val(), b.ws()) }
	return b.seq(b.lit("{"), b.ws(), b.alt(
		b.lit("}"),
		b.seq(member(), b.star(b.seq(b.lit(","), b.ws(), member())), b.lit("}")),
	))
}

func (b *jsonBuilder) anyArray(depth int) frag {
	return b.rule("array@"+strconv.Itoa(depth), func() frag {
		return b.arrayOf(func() frag { return b.anyValue(depth + 1) }, 0, -1)
	})
}

// arrayOf matches an array of between lo and hi (hi < 0: any number)
// items matching item.
func (b *jsonBuilder) arrayOf(item func() frag, lo, hi int) frag {
	elem := func() frag { return b.seq(item(), b.ws()) }
	next := func() frag { return b.seq(b.lit(","), b.ws(), elem()) }
	if hi == 0 {
		return b.seq(b.lit("["), b.ws(), b.lit("]"))
	}
	rest := hi - 1
	if hi < 0 {
		rest = -1
	}
	items := b.seq(elem(), b.rep(next, max(lo-1, 0), rest), b.lit("]"))
	if lo == 0 {
		return b.seq(b.lit("["), b.ws(), b.alt(b.lit("]"), items))
	}
	return b.seq(b.lit("["), b.ws(), items)
}

// JSONValue compiles a grammar for any JSON value, and JSONObject one for
// any JSON object (what OpenAI's response_format json_object asks for),
// each with optional whitespace around it.
func JSONValue(opts Options) (*Grammar, error) {
	return compileTop(opts, func(b *jsonBuilder) (frag, error) { return b.anyValue(0), nil })
}

// JSONObject compiles a grammar for any JSON object.
func JSONObject(opts Options) (*Grammar, error) {
	return compileTop(opts, func(b *jsonBuilder) (frag, error) { return b.anyObject(0), nil })
}

func compileTop(opts Options, body func(b *jsonBuilder) (frag, error)) (*Grammar, error) {
	b, err := newJSONBuilder(opts)
	if err != nil {
		return nil, err
	}
	f, err := body(b)
	if err != nil {
		return nil, err
	}
	return b.finish(b.seq(b.ws(), f, b.ws()))
}

// jsonLit matches a JSON text given in its canonical spelling, letting
// each non-ASCII character and DEL (they only occur inside strings) also be
// written as a \u escape, so vocabularies with few byte tokens can spell
// every literal.
func (b *jsonBuilder) jsonLit(s string) frag {
	var parts []frag
	start := 0
	for i := 0; i < len(s); {
		if s[i] < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if start < i {
			parts = append(parts, b.lit(s[start:i]))
		}
		var esc string
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			esc = fmt.Sprintf(`\u%04x\u%04x`, r1, r2)
		} else {
			esc = fmt.Sprintf(`\u%04x`, r)
		}
		parts = append(parts, b.alt(b.lit(s[i:i+n]), b.lit(esc)))
		i += n
		start = i
	}
	if start < len(s) || len(parts) == 0 {
		parts = append(parts, b.lit(s[start:]))
	}
	return b.seq(parts...)
}
