package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// gpt2Pattern is the split regex the ByteLevel pre-tokenizer applies when its
// use_regex option is on (the tokenizers library default).
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// normalizer rewrites text before pre-tokenization.
type normalizer func(string) string

func buildNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	switch c.Type {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return strings.ToLower, nil
	case "Sequence":
		var fs []normalizer
		for i, r := range c.Normalizers {
			f, err := buildNormalizer(r)
			if err != nil {
				return nil, fmt.Errorf("normalizer Sequence[%d]: %w", i, err)
			}
			if f != nil {
				fs = append(fs, f)
			}
		}
		switch len(fs) {
		case 0:
			return nil, nil
		case 1:
			return fs[0], nil
		}
		return func(s string) string {
			for _, f := range fs {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer: unsupported type %q (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)", c.Type)
}

// splitter is one pre-tokenization step: it cuts a piece of text into
// smaller pieces and hands each non-empty one to emit, in order.
type splitter interface {
	split(s string, emit func(string))
}

// buildPreTokenizer flattens the pre_tokenizer tree into a list of steps and
// reports whether it contains the ByteLevel step this package requires.
func buildPreTokenizer(raw json.RawMessage) (steps []splitter, byteLevel bool, err error) {
	if isNull(raw) {
		return nil, false, nil
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, false, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch c.Type {
	case "Sequence":
		for i, r := range c.Pretokenizers {
			s, bl, err := buildPreTokenizer(r)
			if err != nil {
				return nil, false, fmt.Errorf("pre_tokenizer Sequence[%d]: %w", i, err)
			}
			steps = append(steps, s...)
			byteLevel = byteLevel || bl
		}
		return steps, byteLevel, nil
	case "Split":
		if c.Pattern == nil {
			return nil, false, fmt.Errorf("pre_tokenizer Split: missing pattern")
		}
		var m matcher
		pattern := ""
		switch {
		case c.Pattern.Regex != nil:
			pattern = *c.Pattern.Regex
			m, err = compileRegex(*c.Pattern.Regex)
			if err != nil {
				return nil, false, fmt.Errorf("pre_tokenizer Split: %w", err)
			}
		case c.Pattern.String != nil:
			if *c.Pattern.String == "" {
				return nil, false, fmt.Errorf("pre_tokenizer Split: empty string pattern")
			}
			m = literalMatcher(*c.Pattern.String)
		default:
			return nil, false, fmt.Errorf("pre_tokenizer Split: pattern needs Regex or String")
		}
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, false, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		return []splitter{&splitStep{m: m, behavior: b, invert: c.Invert, pattern: pattern}}, false, nil
	case "ByteLevel":
		if c.AddPrefixSpace {
			steps = append(steps, prefixSpaceStep{})
		}
		if c.UseRegex == nil || *c.UseRegex {
			m, err := compileRegex(gpt2Pattern)
			if err != nil {
				return nil, false, fmt.Errorf("pre_tokenizer ByteLevel: %w", err)
			}
			steps = append(steps, &splitStep{m: m, behavior: isolated, pattern: gpt2Pattern})
		}
		return steps, true, nil
	case "Digits":
		b := contiguous
		if c.IndividualDigits {
			b = isolated
		}
		return []splitter{&splitStep{m: digitMatcher{individual: c.IndividualDigits}, behavior: b}}, false, nil
	}
	return nil, false, fmt.Errorf("pre_tokenizer: unsupported type %q (supported: Sequence, Split, ByteLevel, Digits)", c.Type)
}

// behavior says what a Split step does with the matched parts.
type behavior int

const (
	removed behavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

func parseBehavior(s string) (behavior, error) {
	switch s {
	case "Removed":
		return removed, nil
	case "Isolated":
		return isolated, nil
	case "MergedWithPrevious":
		return mergedWithPrevious, nil
	case "MergedWithNext":
		return mergedWithNext, nil
	case "Contiguous":
		return contiguous, nil
	}
	return 0, fmt.Errorf("unsupported split behavior %q", s)
}

// matcher finds the non-overlapping matches of a pattern in s, as byte
// offsets [start, end) in increasing order.
type matcher interface {
	matches(s string, fn func(start, end int))
}

type splitStep struct {
	m        matcher
	behavior behavior
	invert   bool
	pattern  string // the regex it was compiled from, "" for other matchers
}

func (st *splitStep) split(s string, emit func(string)) {
	if st.behavior == isolated && !st.invert {
		// The common case needs no list of spans: emit gaps and matches.
		prev := 0
		st.m.matches(s, func(a, b int) {
			if a == b {
				return
			}
			if prev < a {
				emit(s[prev:a])
			}
			emit(s[a:b])
			prev = b
		})
		if prev < len(s) {
			emit(s[prev:])
		}
		return
	}
	// Collect (start, end, isMatch) spans covering s.
	type span struct {
		start, end int
		match      bool
	}
	var spans []span
	prev := 0
	st.m.matches(s, func(a, b int) {
		if a == b {
			return
		}
		if prev < a {
			spans = append(spans, span{prev, a, false})
		}
		spans = append(spans, span{a, b, true})
		prev = b
	})
	if prev < len(s) {
		spans = append(spans, span{prev, len(s), false})
	}
	if st.invert {
		for i := range spans {
			spans[i].match = !spans[i].match
		}
	}
	switch st.behavior {
	case isolated:
		for _, sp := range spans {
			emit(s[sp.start:sp.end])
		}
	case removed:
		for _, sp := range spans {
			if !sp.match {
				emit(s[sp.start:sp.end])
			}
		}
	case mergedWithPrevious:
		// A match joins the piece before it, unless that piece ended in a
		// match itself (the tokenizers library's fold).
		var out [][2]int
		prevMatch := false
		for _, sp := range spans {
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1][1] = sp.end
			} else {
				out = append(out, [2]int{sp.start, sp.end})
			}
			prevMatch = sp.match
		}
		for _, o := range out {
			emit(s[o[0]:o[1]])
		}
	case mergedWithNext:
		// The mirror image: walk backwards, a match joins the piece after it.
		var out [][2]int
		prevMatch := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1][0] = sp.start
			} else {
				out = append(out, [2]int{sp.start, sp.end})
			}
			prevMatch = sp.match
		}
		for i := len(out) - 1; i >= 0; i-- {
			emit(s[out[i][0]:out[i][1]])
		}
	case contiguous:
		for i := 0; i < len(spans); {
			j := i
			for j+1 < len(spans) && spans[j+1].match == spans[i].match {
				j++
			}
			emit(s[spans[i].start:spans[j].end])
			i = j + 1
		}
	}
}

// prefixSpaceStep is the add_prefix_space option of ByteLevel.
type prefixSpaceStep struct{}

func (prefixSpaceStep) split(s string, emit func(string)) {
	if !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	emit(s)
}

// regexMatcher runs a tokenizers-style regex (Oniguruma syntax with
// lookahead) through regexp2, which works on runes.
type regexMatcher struct {
	re *regexp2.Regexp
}

func compileRegex(pattern string) (matcher, error) {
	if m := fastMatcherFor(pattern); m != nil {
		return m, nil
	}
	re, err := regexp2.Compile(pattern, regexp2.Unicode)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pattern, err)
	}
	return regexMatcher{re: re}, nil
}

func (m regexMatcher) matches(s string, fn func(start, end int)) {
	runes := []rune(s)
	// off[i] is the byte offset of runes[i]; s is valid UTF-8 here.
	off := make([]int, len(runes)+1)
	b := 0
	for i, r := range runes {
		off[i] = b
		b += utf8.RuneLen(r)
	}
	off[len(runes)] = b
	match, err := m.re.FindRunesMatch(runes)
	for err == nil && match != nil {
		fn(off[match.Index], off[match.Index+match.Length])
		match, err = m.re.FindNextMatch(match)
	}
	// regexp2 only fails on a timeout, and none is set.
}

type literalMatcher string

func (m literalMatcher) matches(s string, fn func(start, end int)) {
	pos := 0
	for {
		i := strings.Index(s[pos:], string(m))
		if i < 0 {
			return
		}
		fn(pos+i, pos+i+len(m))
		pos += i + len(m)
	}
}

// digitMatcher matches numeric characters, one at a time or in runs.
type digitMatcher struct{ individual bool }

func (m digitMatcher) matches(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsNumber(r) {
			i += n
			continue
		}
		j := i + n
		for !m.individual && j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsNumber(r) {
				break
			}
			j += n
		}
		fn(i, j)
		i = j
	}
}
