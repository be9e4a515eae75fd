package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file and pyexpr.go put a Python-jinja2 front end in front of
// github.com/ardanlabs/jinja. The engine alone renders many things
// differently from the jinja2 that transformers uses: None prints as "",
// `"x" ~ none` gives "x", 1.0 prints as "1", "a" + 1 and 1 < "a" succeed,
// iterating None renders nothing, trim_blocks/lstrip_blocks and the "-"
// markers reach past neighbouring tags, `{%+` is misread, selectattr with
// one argument panics. None of this can be fixed from outside by
// registering filters (the engine looks its own filters up first), so the
// template is recompiled instead:
//
//   - the template text is lexed here with jinja2's rules (newline
//     normalisation, keep_trailing_newline=False, trim_blocks,
//     lstrip_blocks, -/+ markers, raw blocks, comments), and every piece of
//     literal text becomes {{ __glmv_text[i] }}, so the engine's own
//     whitespace handling never sees any text;
//   - every expression is parsed with jinja2's grammar (pyexpr.go) and
//     re-emitted with operators, comparisons, filters and tests turned into
//     calls of functions that follow Python's semantics (pyvalue.go), and
//     printing goes through Python's str();
//   - statements keep their structure; for loops iterate through a check
//     that refuses what Python cannot iterate.
//
// What is left to the engine: variable scopes, attribute and item access,
// string/dict methods, loops, macros, set and namespace. Differences that
// remain are listed in testdata/chat/conformance/README.md.

const (
	textVar   = "__glmv_text"
	constVar  = "__glmv_const"
	fnPrefix  = "__glmv_"
	maxSource = 1 << 20
)

type segKind int

const (
	segText segKind = iota
	segVar
	segBlock
	segComment
)

type tmplSeg struct {
	kind  segKind
	text  string // text, or the inside of a tag
	left  byte   // '-', '+' or 0 after the opener
	right byte   // '-', '+' or 0 before the closer
	line  int
}

// normalizeNewlines does what jinja2's lexer does to the source: every
// line boundary Python's str.splitlines knows becomes "\n", and one
// trailing newline is dropped (keep_trailing_newline=False).
func normalizeNewlines(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		switch r {
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				n = 2
			}
			b.WriteByte('\n')
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			b.WriteByte('\n')
		default:
			b.WriteString(src[i : i+n])
		}
		i += n
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

func pyTrimLeftSpace(s string) string  { return strings.TrimLeftFunc(s, pyIsSpace) }
func pyTrimRightSpace(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// lexTemplate splits normalised source into text and tags, applying
// jinja2's whitespace rules (trim_blocks and lstrip_blocks on, as
// transformers sets them) to the text.
func lexTemplate(src string) ([]tmplSeg, error) {
	var segs []tmplSeg
	line := 1
	pos := 0
	// lineStarting: the token before the current text ended a line (or the
	// template starts here), as jinja2's lexer tracks it for lstrip_blocks.
	lineStarting := true
	// pendingTrim is what the previous tag's closer consumes of the
	// following text: '-' all whitespace, 'n' one newline, 0 nothing.
	var pendingTrim byte
	for pos <= len(src) {
		open := indexOpener(src, pos)
		end := open
		if open < 0 {
			end = len(src)
		}
		text := src[pos:end]
		switch pendingTrim {
		case '-':
			t := pyTrimLeftSpace(text)
			if consumed := text[:len(text)-len(t)]; consumed != "" {
				lineStarting = strings.HasSuffix(consumed, "\n")
			}
			text = t
		case 'n':
			if strings.HasPrefix(text, "\n") {
				text = text[1:]
				lineStarting = true
			}
		}
		pendingTrim = 0
		if open < 0 {
			if text != "" {
				segs = append(segs, tmplSeg{kind: segText, text: text, line: line})
			}
			break
		}
		kind := map[byte]segKind{'{': segVar, '%': segBlock, '#': segComment}[src[open+1]]
		i := open + 2
		var left byte
		if i < len(src) && (src[i] == '-' || src[i] == '+') {
			left = src[i]
			i++
		}
		// Whitespace before the tag.
		switch {
		case left == '-':
			text = pyTrimRightSpace(text)
		case left != '+' && kind != segVar:
			lpos := strings.LastIndexByte(text, '\n') + 1
			if lpos > 0 || lineStarting {
				rest := text[lpos:]
				if rest != "" && strings.TrimFunc(rest, pyIsSpace) == "" {
					text = text[:lpos]
				}
			}
		}
		if text != "" {
			segs = append(segs, tmplSeg{kind: segText, text: text, line: line})
		}
		line += strings.Count(src[pos:open], "\n")
		inner, right, next, err := scanTag(src, i, kind)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		seg := tmplSeg{kind: kind, text: inner, left: left, right: right, line: line}
		line += strings.Count(src[open:next], "\n")
		pos = next
		lineStarting = false
		switch {
		case right == '-':
			pendingTrim = '-'
		case right == 0 && kind != segVar:
			pendingTrim = 'n'
		}
		if kind == segBlock && strings.TrimSpace(inner) == "raw" {
			if right == '+' {
				return nil, fmt.Errorf("line %d: unknown tag \"raw\" (jinja2 takes no + before the closer of raw)", line)
			}
			body, after, trimAfter, err := scanRaw(src, pos, right == '-')
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			line += strings.Count(src[pos:after], "\n")
			if body != "" {
				segs = append(segs, tmplSeg{kind: segText, text: body, line: line})
			}
			pos, pendingTrim = after, trimAfter
			continue
		}
		if kind != segComment {
			segs = append(segs, seg)
		}
	}
	return segs, nil
}

// indexOpener finds the next "{{", "{%" or "{#" at or after pos.
func indexOpener(src string, pos int) int {
	for {
		i := strings.IndexByte(src[pos:], '{')
		if i < 0 || pos+i+1 >= len(src) {
			return -1
		}
		i += pos
		if c := src[i+1]; c == '{' || c == '%' || c == '#' {
			return i
		}
		pos = i + 1
	}
}

// scanTag reads a tag's inside from i up to its closer, skipping string
// literals and (for expressions) closers inside brackets, as jinja2 does.
func scanTag(src string, i int, kind segKind) (inner string, right byte, next int, err error) {
	if kind == segComment {
		j := strings.Index(src[i:], "#}")
		if j < 0 {
			return "", 0, 0, fmt.Errorf("unclosed comment")
		}
		inner = src[i : i+j]
		if strings.HasSuffix(inner, "-") || strings.HasSuffix(inner, "+") {
			right = inner[len(inner)-1]
		}
		return inner, right, i + j + 2, nil
	}
	closer := "}}"
	if kind == segBlock {
		closer = "%}"
	}
	depth := 0
	for j := i; j < len(src); j++ {
		c := src[j]
		switch {
		case c == '\'' || c == '"':
			k := j + 1
			for k < len(src) && src[k] != c {
				if src[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(src) {
				return "", 0, 0, fmt.Errorf("unterminated string")
			}
			j = k
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case depth == 0 && strings.HasPrefix(src[j:], closer):
			inner = src[i:j]
			// "+" before the closer only means something on blocks; in
			// an expression it is an operator (and a syntax error).
			if n := len(inner); n > 0 && (inner[n-1] == '-' || inner[n-1] == '+' && kind == segBlock) {
				right = inner[n-1]
				inner = inner[:n-1]
			}
			return inner, right, j + len(closer), nil
		}
	}
	return "", 0, 0, fmt.Errorf("unclosed %s tag", map[segKind]string{segVar: "{{", segBlock: "{%"}[kind])
}

// scanRaw reads a raw block's body after {% raw %} up to {% endraw %} and
// applies the whitespace rules of the endraw tag.
func scanRaw(src string, pos int, trimStart bool) (body string, next int, pendingTrim byte, err error) {
	for k := pos; ; {
		i := strings.Index(src[k:], "{%")
		if i < 0 {
			return "", 0, 0, fmt.Errorf("missing endraw")
		}
		i += k
		j := i + 2
		var left byte
		if j < len(src) && (src[j] == '-' || src[j] == '+') {
			left = src[j]
			j++
		}
		rest := strings.TrimLeft(src[j:], " \t\n\r\f\v")
		if !strings.HasPrefix(rest, "endraw") {
			k = i + 2
			continue
		}
		j = len(src) - len(rest) + len("endraw")
		rest = strings.TrimLeft(src[j:], " \t\n\r\f\v")
		var right byte
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			right = rest[0]
			rest = rest[1:]
		}
		if !strings.HasPrefix(rest, "%}") {
			k = i + 2
			continue
		}
		next = len(src) - len(rest) + 2
		body = src[pos:i]
		if trimStart {
			body = pyTrimLeftSpace(body)
		}
		switch {
		case left == '-':
			body = pyTrimRightSpace(body)
		case left != '+':
			lpos := strings.LastIndexByte(body, '\n') + 1
			if lpos > 0 {
				if r := body[lpos:]; r != "" && strings.TrimFunc(r, pyIsSpace) == "" {
					body = body[:lpos]
				}
			}
		}
		switch right {
		case '-':
			pendingTrim = '-'
		case 0:
			pendingTrim = 'n'
		}
		return body, next, pendingTrim, nil
	}
}
