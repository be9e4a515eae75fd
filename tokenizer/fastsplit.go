package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The split regex of GLM-4.x, Llama 3 and (with single digits) Qwen 2/3
// tokenizers. Matching it with a backtracking engine is the slowest part of
// encoding, so these patterns get a hand-written matcher with the same
// results; FuzzFastSplit checks it against regexp2.
const (
	pattern3Digits = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	pattern1Digit  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// fastMatcherFor returns a hand-written matcher equivalent to pattern when
// pattern is one of the well-known split regexes, or nil.
func fastMatcherFor(pattern string) matcher {
	switch pattern {
	case pattern3Digits:
		bmpClasses()
		return wordMatcher{maxDigits: 3}
	case pattern1Digit:
		bmpClasses()
		return wordMatcher{maxDigits: 1}
	}
	return nil
}

// wordMatcher matches
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)      contractions
//	|[^\r\n\p{L}\p{N}]?\p{L}+         a word, with one leading non-letter
//	|\p{N}{1,maxDigits}               a group of digits
//	| ?[^\s\p{L}\p{N}]+[\r\n]*        punctuation and symbols
//	|\s*[\r\n]+                       whitespace up to the last line break
//	|\s+(?!\S)                        whitespace but the last before a word
//	|\s+                              whitespace
//
// trying the alternatives in order at each position, as the regex does.
type wordMatcher struct{ maxDigits int }

// Character classes, with an ASCII table for speed.
const (
	clsLetter = 1 << iota
	clsNumber
	clsSpace
	clsNewline // \r or \n (also clsSpace)
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := rune(0); c < utf8.RuneSelf; c++ {
		t[c] = classOf(c)
	}
	return t
}()

func classOf(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clsNewline | clsSpace
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return 0
}

// bmpClasses is the class of every character of the Basic Multilingual
// Plane (64 KiB), built the first time a wordMatcher is made.
var bmpClasses = sync.OnceValue(func() *[0x10000]uint8 {
	var t [0x10000]uint8
	for r := range t {
		t[r] = classOf(rune(r))
	}
	return &t
})

// runeAt decodes the rune at s[i] and its class.
func runeAt(s string, i int) (cls uint8, width int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		return bmpClasses()[r], w
	}
	return classOf(r), w
}

func (m wordMatcher) matches(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		n := m.matchAt(s, i)
		if n == 0 { // cannot happen (every character starts some alternative), but be safe
			_, w := runeAt(s, i)
			i += w
			continue
		}
		fn(i, i+n)
		i += n
	}
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchAt returns the length of the match starting at i, 0 if none.
func (m wordMatcher) matchAt(s string, i int) int {
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[i] == '\'' && i+1 < len(s) {
		switch lowerASCII(s[i+1]) {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if i+2 < len(s) && lowerASCII(s[i+2]) == 'e' {
				return 3
			}
		case 'l':
			if i+2 < len(s) && lowerASCII(s[i+2]) == 'l' {
				return 3
			}
		}
	}
	c0, w0 := runeAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0&(clsNewline|clsLetter|clsNumber) == 0 && i+w0 < len(s) {
		if c1, _ := runeAt(s, i+w0); c1&clsLetter != 0 {
			return w0 + runLen(s, i+w0, clsLetter, -1)
		}
	}
	if c0&clsLetter != 0 {
		return runLen(s, i, clsLetter, -1)
	}
	// \p{N}{1,maxDigits}
	if c0&clsNumber != 0 {
		return runLen(s, i, clsNumber, m.maxDigits)
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j := i
	if s[i] == ' ' {
		j++
	}
	k := j
	for k < len(s) {
		c, w := runeAt(s, k)
		if c&(clsSpace|clsLetter|clsNumber) != 0 {
			break
		}
		k += w
	}
	if k > j {
		for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
			k++
		}
		return k - i
	}
	if c0&clsSpace == 0 {
		return 0
	}
	// Whitespace: find the run [i, end), its last line break and the start
	// of its last character.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		c, w := runeAt(s, end)
		if c&clsSpace == 0 {
			break
		}
		if c&clsNewline != 0 {
			lastNL = end
		}
		lastStart = end
		end += w
	}
	switch {
	case lastNL >= 0: // \s*[\r\n]+
		return lastNL + 1 - i
	case end == len(s): // \s+(?!\S) at the end of the text
		return end - i
	case lastStart > i: // \s+(?!\S): leave the last space to the next word
		return lastStart - i
	}
	return end - i // \s+
}

// runLen is the length in bytes of the run of characters of class cls from
// i, at most limit characters when limit > 0.
func runLen(s string, i int, cls uint8, limit int) int {
	start := i
	for n := 0; i < len(s) && (limit < 0 || n < limit); n++ {
		c, w := runeAt(s, i)
		if c&cls == 0 {
			break
		}
		i += w
	}
	return i - start
}
