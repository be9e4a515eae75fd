package constrain

import (
	"math"
	"strconv"
	"strings"
)

// Bounds of the string and number keywords the compiler unrolls.
const (
	// MaxLengthBound is the largest minLength/maxLength supported.
	MaxLengthBound = 4096
	// maxIntValue is the largest magnitude MaxIntDigits digits can write.
	maxIntValue = 9_999_999_999_999_999
)

// formats are the supported "format" values: each is written in a fixed
// shape that every validator accepts (days stop at 28 so no date is
// impossible; seconds at 59).
var formats = map[string]func(b *jsonBuilder) frag{
	"date":      func(b *jsonBuilder) frag { return b.date() },
	"time":      func(b *jsonBuilder) frag { return b.clock() },
	"date-time": func(b *jsonBuilder) frag { return b.seq(b.date(), b.lit("T"), b.clock()) },
	"uuid": func(b *jsonBuilder) frag {
		var parts []frag
		for i, n := range []int{8, 4, 4, 4, 12} {
			if i > 0 {
				parts = append(parts, b.lit("-"))
			}
			parts = append(parts, b.rep(func() frag { return b.class('0', '9', 'a', 'f') }, n, n))
		}
		return b.seq(parts...)
	},
}

func (b *jsonBuilder) digit() frag { return b.class('0', '9') }

// date is YYYY-MM-DD with days 01–28.
func (b *jsonBuilder) date() frag {
	return b.seq(b.digit(), b.digit(), b.digit(), b.digit(), b.lit("-"),
		b.alt(b.seq(b.lit("0"), b.class('1', '9')), b.seq(b.lit("1"), b.class('0', '2'))), b.lit("-"),
		b.alt(b.seq(b.lit("0"), b.class('1', '9')), b.seq(b.lit("1"), b.digit()), b.seq(b.lit("2"), b.class('0', '8'))))
}

// clock is HH:MM:SS with optional fraction and a Z or ±HH:MM offset.
func (b *jsonBuilder) clock() frag {
	hh := func() frag { return b.alt(b.seq(b.class('0', '1'), b.digit()), b.seq(b.lit("2"), b.class('0', '3'))) }
	mm := func() frag { return b.seq(b.class('0', '5'), b.digit()) }
	frac := b.opt(b.seq(b.lit("."), b.digits(1, 9)))
	zone := b.alt(b.lit("Z"), b.seq(b.class('+', '+', '-', '-'), hh(), b.lit(":"), mm()))
	return b.seq(hh(), b.lit(":"), mm(), b.lit(":"), mm(), frac, zone)
}

// boundedString is a JSON string of between lo and hi code points (hi <
// 0: no upper bound), unrolled into one position node per character
// (marked counted, so masks there need no trie walk). '<' is only
// written escaped, so no Avoid string can appear, and escapes of UTF-16
// surrogates are not written, so each character written is one code
// point.
func (b *jsonBuilder) boundedString(lo, hi int) frag {
	open := b.lit(`"`)
	out := b.node()
	last := hi
	if hi < 0 {
		last = lo // the last position loops on itself
	}
	pos := make([]int32, last+1)
	pos[0] = open.out
	for k := 1; k <= last; k++ {
		pos[k] = b.node()
	}
	for k := 0; k <= last; k++ {
		n := pos[k]
		b.nodes[n].counted = true
		b.nodes[n].remaining = int32(hi - k)
		if hi < 0 {
			b.nodes[n].remaining = -1
		}
		if k >= lo {
			b.byteRange(n, out, '"', '"')
		}
		next := int32(-1)
		switch {
		case k < last:
			next = pos[k+1]
		case hi < 0:
			next = n
		}
		if next >= 0 {
			b.boundedChar(n, next)
		}
	}
	return frag{open.in, out}
}

// boundedChar adds the edges of one string character from n to next:
// printable ASCII but '"', '\' and '<'; an escape (no surrogates); a
// valid UTF-8 sequence.
func (b *jsonBuilder) boundedChar(n, next int32) {
	for _, r := range [][2]byte{{0x20, 0x21}, {0x23, 0x3B}, {0x3D, 0x5B}, {0x5D, 0x7F}} {
		b.byteRange(n, next, r[0], r[1])
	}
	esc := b.node()
	b.byteRange(n, esc, '\\', '\\')
	for _, c := range []byte(`"\/bfnrt`) {
		b.byteRange(esc, next, c, c)
	}
	u, u1, u2, u3 := b.node(), b.node(), b.node(), b.node()
	b.byteRange(esc, u, 'u', 'u')
	hex := func(from, to int32) {
		b.byteRange(from, to, '0', '9')
		b.byteRange(from, to, 'a', 'f')
		b.byteRange(from, to, 'A', 'F')
	}
	for _, r := range [][2]byte{{'0', '9'}, {'a', 'c'}, {'A', 'C'}, {'e', 'f'}, {'E', 'F'}} {
		b.byteRange(u, u1, r[0], r[1])
	}
	ud := b.node() // \uD: only D000–D7FF, not surrogates
	b.byteRange(u, ud, 'd', 'd')
	b.byteRange(u, ud, 'D', 'D')
	b.byteRange(ud, u2, '0', '7')
	hex(u1, u2)
	hex(u2, u3)
	hex(u3, next)
	c1, c2, c3 := b.node(), b.node(), b.node()
	b.byteRange(c1, next, 0x80, 0xBF)
	b.byteRange(c2, c1, 0x80, 0xBF)
	b.byteRange(c3, c2, 0x80, 0xBF)
	e0, ed, f0, f4 := b.node(), b.node(), b.node(), b.node()
	b.byteRange(e0, c1, 0xA0, 0xBF)
	b.byteRange(ed, c1, 0x80, 0x9F)
	b.byteRange(f0, c2, 0x90, 0xBF)
	b.byteRange(f4, c2, 0x80, 0x8F)
	b.byteRange(n, c1, 0xC2, 0xDF)
	b.byteRange(n, e0, 0xE0, 0xE0)
	b.byteRange(n, c2, 0xE1, 0xEC)
	b.byteRange(n, ed, 0xED, 0xED)
	b.byteRange(n, c2, 0xEE, 0xEF)
	b.byteRange(n, f0, 0xF0, 0xF0)
	b.byteRange(n, c3, 0xF1, 0xF3)
	b.byteRange(n, f4, 0xF4, 0xF4)
}

// intRange is a JSON integer in [lo, hi] (both within ±maxIntValue).
func (b *jsonBuilder) intRange(lo, hi int64) frag {
	var alts []frag
	if hi >= 0 {
		alts = append(alts, b.natRange(max(lo, 0), hi))
	}
	if lo < 0 {
		alts = append(alts, b.seq(b.lit("-"), b.natRange(max(-hi, 1), -lo)))
	}
	return b.alt(alts...)
}

// natRange is a natural number in [lo, hi], 0 <= lo <= hi, written
// without leading zeros.
func (b *jsonBuilder) natRange(lo, hi int64) frag {
	var alts []frag
	ls, hs := strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10)
	for n := len(ls); n <= len(hs); n++ {
		a, z := strings.Repeat("0", n), strings.Repeat("9", n)
		if n == 1 {
			a = "0"
		} else {
			a = "1" + a[1:]
		}
		if n == len(ls) {
			a = ls
		}
		if n == len(hs) {
			z = hs
		}
		alts = append(alts, b.sameLength(a, z))
	}
	return b.alt(alts...)
}

// sameLength matches the decimal strings between a and z, which have
// the same length.
func (b *jsonBuilder) sameLength(a, z string) frag {
	if len(a) == 0 {
		return b.empty()
	}
	if strings.Trim(a, "0") == "" && strings.Trim(z, "9") == "" {
		return b.digits(len(a), len(a))
	}
	if a[0] == z[0] {
		return b.seq(b.lit(a[:1]), b.sameLength(a[1:], z[1:]))
	}
	n := len(a) - 1
	nines, zeros := strings.Repeat("9", n), strings.Repeat("0", n)
	alts := []frag{
		b.seq(b.lit(a[:1]), b.sameLength(a[1:], nines)),
		b.seq(b.lit(z[:1]), b.sameLength(zeros, z[1:])),
	}
	if a[0]+1 < z[0] {
		alts = append(alts, b.seq(b.class(a[0]+1, z[0]-1), b.digits(n, n)))
	}
	return b.alt(alts...)
}

// numBound reads minimum/maximum/exclusiveMinimum/exclusiveMaximum into
// a lower and an upper bound (±Inf when absent) and whether each is
// exclusive.
func numBounds(s *jval, path string) (lo, hi float64, loEx, hiEx bool, err error) {
	lo, hi = math.Inf(-1), math.Inf(1)
	for _, kw := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
		v := s.get(kw)
		if v == nil {
			continue
		}
		if v.kind != 'n' {
			return 0, 0, false, false, unsupported(path, kw, "must be a number (the boolean form of draft 4 is not supported)")
		}
		x, perr := v.num.Float64()
		if perr != nil || math.IsInf(x, 0) {
			return 0, 0, false, false, unsupported(path, kw, "must be a finite number")
		}
		switch kw {
		case "minimum":
			if x > lo || (x == lo && loEx) {
				lo, loEx = x, false
			}
		case "exclusiveMinimum":
			if x >= lo {
				lo, loEx = x, true
			}
		case "maximum":
			if x < hi || (x == hi && hiEx) {
				hi, hiEx = x, false
			}
		case "exclusiveMaximum":
			if x <= hi {
				hi, hiEx = x, true
			}
		}
	}
	return lo, hi, loEx, hiEx, nil
}

// intBounds turns numeric bounds into the integer range they allow,
// clamped to what MaxIntDigits can write; ok is false when it is empty.
func intBounds(lo, hi float64, loEx, hiEx bool) (ilo, ihi int64, ok bool) {
	l, h := math.Ceil(lo), math.Floor(hi)
	if loEx && l == lo {
		l++
	}
	if hiEx && h == hi {
		h--
	}
	l = math.Max(l, -maxIntValue)
	h = math.Min(h, maxIntValue)
	if l > h {
		return 0, 0, false
	}
	return int64(l), int64(h), true
}

// boundedNumber is a JSON number within the bounds: an integer in range,
// or a non-negative k.ddd with k >= lo (k > lo when exclusive) and
// k+1 <= hi (so every fraction stays inside). A subset of the numbers in range, without exponents.
func (b *jsonBuilder) boundedNumber(lo, hi float64, loEx, hiEx bool) (frag, bool) {
	var alts []frag
	if ilo, ihi, ok := intBounds(lo, hi, loEx, hiEx); ok {
		alts = append(alts, b.intRange(ilo, ihi))
	}
	klo := math.Ceil(lo)
	if loEx {
		klo = math.Floor(lo) + 1
	}
	klo = math.Max(klo, 0)
	khi := math.Min(math.Floor(hi)-1, maxIntValue)
	if klo <= khi {
		alts = append(alts, b.seq(b.natRange(int64(klo), int64(khi)), b.lit("."), b.digits(1, MaxFracDigits)))
	}
	if len(alts) == 0 {
		return frag{}, false
	}
	return b.alt(alts...), true
}
