package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token of tokenizer.json's added_tokens list. Added tokens
// are found in the text before any other processing and never split.
type AddedToken struct {
	ID      int
	Content string
	// Special tokens are the control tokens of a model (<|user|>, <think>…).
	Special bool
	// Normalized tokens are matched after normalization, the others on the
	// raw text.
	Normalized bool
	// SingleWord tokens only match when not inside a word.
	SingleWord bool
	// LStrip and RStrip tokens swallow the whitespace on their left/right.
	LStrip, RStrip bool
}

// addedMatcher finds added tokens in text, leftmost first and, among tokens
// starting at the same place, longest first (the tokenizers library's
// LeftmostLongest Aho-Corasick search).
type addedMatcher struct {
	byFirst [256][]*AddedToken // candidates by first byte, longest first
}

func newAddedMatcher(tokens []*AddedToken) *addedMatcher {
	if len(tokens) == 0 {
		return nil
	}
	m := &addedMatcher{}
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		m.byFirst[t.Content[0]] = append(m.byFirst[t.Content[0]], t)
	}
	for i := range m.byFirst {
		l := m.byFirst[i]
		sort.SliceStable(l, func(a, b int) bool { return len(l[a].Content) > len(l[b].Content) })
	}
	return m
}

// find returns the leftmost-longest match at or after pos, or nil.
func (m *addedMatcher) find(s string, pos int) (*AddedToken, int) {
	for i := pos; i < len(s); i++ {
		cands := m.byFirst[s[i]]
		for _, t := range cands {
			if len(s)-i >= len(t.Content) && s[i:i+len(t.Content)] == t.Content {
				return t, i
			}
		}
	}
	return nil, -1
}

// segment is a part of the input: either an added token or plain text.
type segment struct {
	text  string
	token *AddedToken
}

// split cuts s into text segments and added-token segments, applying the
// single_word, lstrip and rstrip options the way the tokenizers library does.
func (m *addedMatcher) split(s string, emit func(segment)) {
	if m == nil {
		emit(segment{text: s})
		return
	}
	textStart := 0 // start of text not yet emitted
	pos := 0
	for pos < len(s) {
		t, start := m.find(s, pos)
		if t == nil {
			break
		}
		stop := start + len(t.Content)
		pos = stop
		if t.SingleWord {
			startOK := start == 0 || !endsWithWordChar(s[:start])
			stopOK := stop == len(s) || !startsWithWordChar(s[stop:])
			if !startOK || !stopOK {
				continue
			}
		}
		if t.LStrip {
			start = max(trimRightSpaceIndex(s[:start]), textStart)
		}
		if t.RStrip {
			stop += leadingSpaceLen(s[stop:])
			pos = stop
		}
		if textStart < start {
			emit(segment{text: s[textStart:start]})
		}
		emit(segment{text: s[start:stop], token: t})
		textStart = stop
	}
	if textStart < len(s) {
		emit(segment{text: s[textStart:]})
	}
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Pc, r)
}

func endsWithWordChar(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}

// trimRightSpaceIndex is the offset where the trailing whitespace of s starts.
func trimRightSpaceIndex(s string) int {
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return len(s)
}

// leadingSpaceLen is the length of the leading whitespace of s.
func leadingSpaceLen(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}
