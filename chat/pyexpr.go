package chat

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokName
	tokString
	tokInt
	tokFloat
	tokOp
)

type token struct {
	kind tokKind
	text string // name, operator, or the source of a number
	str  string // decoded string literal
}

// lexExpr tokenizes the inside of a tag with jinja2's expression rules.
func lexExpr(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case pyIsSpace(r):
			i += n
		case r == '_' || unicode.IsLetter(r):
			j := i + n
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += n
			}
			toks = append(toks, token{kind: tokName, text: s[i:j]})
			i = j
		case r == '\'' || r == '"':
			j := i + 1
			for j < len(s) && s[j] != byte(r) {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string literal")
			}
			str, err := pyUnescape(s[i+1 : j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: s[i : j+1], str: str})
			i = j + 1
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && (len(toks) == 0 || toks[len(toks)-1].kind == tokOp && toks[len(toks)-1].text != ")" && toks[len(toks)-1].text != "]"):
			j, isFloat := scanNumber(s, i)
			kind := tokInt
			if isFloat {
				kind = tokFloat
			}
			toks = append(toks, token{kind: kind, text: s[i:j]})
			i = j
		default:
			op := ""
			for _, o := range []string{"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}", ";"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q", r)
			}
			toks = append(toks, token{kind: tokOp, text: op})
			i += len(op)
		}
	}
	return toks, nil
}

func scanNumber(s string, i int) (end int, isFloat bool) {
	digits := func(j int) int {
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '_' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
			j++
		}
		return j
	}
	if s[i] == '0' && i+1 < len(s) && strings.ContainsRune("xXoObB", rune(s[i+1])) {
		j := i + 2
		for j < len(s) && (strings.ContainsRune("0123456789abcdefABCDEF_", rune(s[j]))) {
			j++
		}
		return j, false
	}
	j := digits(i)
	if j < len(s) && s[j] == '.' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' {
		j = digits(j + 1)
		isFloat = true
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			j = digits(k)
			isFloat = true
		}
	}
	return j, isFloat
}

// pyUnescape decodes a string literal's body the way jinja2 does (Python's
// unicode_escape codec).
func pyUnescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c := s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+1+n > len(s) {
				return "", fmt.Errorf("truncated \\%c escape", c)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil || v > unicode.MaxRune {
				return "", fmt.Errorf("bad \\%c escape", c)
			}
			b.WriteRune(rune(v))
			i += n
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i:j], 8, 32)
			b.WriteRune(rune(v))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// exprParser re-emits jinja2 expressions for the engine.
type exprParser struct {
	toks   []token
	pos    int
	consts *[]jinja.Value
}

func (p *exprParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: tokEOF}
}

func (p *exprParser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

// back undoes next() of t.
func (p *exprParser) back(t token) {
	if t.kind != tokEOF {
		p.pos--
	}
}

func (p *exprParser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == op
}

func (p *exprParser) isName(name string) bool {
	t := p.peek()
	return t.kind == tokName && t.text == name
}

func (p *exprParser) expectOp(op string) error {
	if !p.isOp(op) {
		return p.errorf("expected %q", op)
	}
	p.pos++
	return nil
}

func (p *exprParser) errorf(format string, a ...any) error {
	t := p.peek()
	at := "end of expression"
	if t.kind != tokEOF {
		at = fmt.Sprintf("%q", t.text)
	}
	return fmt.Errorf("%s at %s", fmt.Sprintf(format, a...), at)
}

func (p *exprParser) constant(v jinja.Value) string {
	*p.consts = append(*p.consts, v)
	return fmt.Sprintf("%s[%d]", constVar, len(*p.consts)-1)
}

func emitCall(fn string, args ...string) string {
	return fnPrefix + fn + "(" + strings.Join(args, ", ") + ")"
}

func quoteName(s string) string { return "'" + s + "'" }

// parseTuple parses an expression or a bare tuple (a, b).
func (p *exprParser) parseTuple(withCond bool) (string, error) {
	var items []string
	comma := false
	for {
		var e string
		var err error
		if withCond {
			e, err = p.parseExpr()
		} else {
			e, err = p.parseOr()
		}
		if err != nil {
			return "", err
		}
		items = append(items, e)
		if !p.isOp(",") {
			break
		}
		p.pos++
		comma = true
		if t := p.peek(); t.kind == tokEOF || t.kind == tokName && (t.text == "if" || t.text == "recursive") || t.kind == tokOp && t.text == ")" {
			break
		}
	}
	if len(items) == 1 && !comma {
		return items[0], nil
	}
	return emitCall("tuple", items...), nil
}

func (p *exprParser) parseExpr() (string, error) {
	e, err := p.parseOr()
	if err != nil {
		return "", err
	}
	for p.isName("if") {
		p.pos++
		cond, err := p.parseOr()
		if err != nil {
			return "", err
		}
		if p.isName("else") {
			p.pos++
			alt, err := p.parseExpr()
			if err != nil {
				return "", err
			}
			e = "(" + e + " if " + emitCall("bool", cond) + " else " + alt + ")"
		} else {
			e = "(" + e + " if " + emitCall("bool", cond) + ")"
		}
	}
	return e, nil
}

func (p *exprParser) parseOr() (string, error) { return p.parseLogic("or", p.parseAnd) }

func (p *exprParser) parseAnd() (string, error) { return p.parseLogic("and", p.parseNot) }

// parseLogic parses operands joined by the keyword "and" or "or".
// The chain is emitted right-nested with Python's truthiness (the engine's
// differs for generators): a or b or c is (a if bool(a) else (b if bool(b)
// else c)), a and b and c is (b-and-c if bool(a) else a). Both operators
// are associative in what they return, and each operand is evaluated at
// most twice, only when reached, as short-circuiting requires.
func (p *exprParser) parseLogic(kw string, operand func() (string, error)) (string, error) {
	e, err := operand()
	if err != nil {
		return "", err
	}
	ops := []string{e}
	for p.isName(kw) {
		p.pos++
		r, err := operand()
		if err != nil {
			return "", err
		}
		ops = append(ops, r)
	}
	out := ops[len(ops)-1]
	for i := len(ops) - 2; i >= 0; i-- {
		if kw == "or" {
			out = "(" + ops[i] + " if " + emitCall("bool", ops[i]) + " else " + out + ")"
		} else {
			out = "(" + out + " if " + emitCall("bool", ops[i]) + " else " + ops[i] + ")"
		}
	}
	return out, nil
}

func (p *exprParser) parseNot() (string, error) {
	if p.isName("not") {
		p.pos++
		e, err := p.parseNot()
		return emitCall("not", e), err
	}
	return p.parseCompare()
}

func (p *exprParser) parseCompare() (string, error) {
	e, err := p.parseMath1()
	if err != nil {
		return "", err
	}
	var parts []string
	left := e
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == tokOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			op = t.text
			p.pos++
		case t.kind == tokName && t.text == "in":
			op = "in"
			p.pos++
		case t.kind == tokName && t.text == "not" && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokName && p.toks[p.pos+1].text == "in":
			op = "notin"
			p.pos += 2
		}
		if op == "" {
			break
		}
		right, err := p.parseMath1()
		if err != nil {
			return "", err
		}
		parts = append(parts, emitCall("cmp", quoteName(op), left, right))
		left = right
	}
	switch len(parts) {
	case 0:
		return e, nil
	case 1:
		return parts[0], nil
	}
	return "(" + strings.Join(parts, " and ") + ")", nil
}

func (p *exprParser) parseMath1() (string, error) {
	e, err := p.parseConcat()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.next().text
		var r string
		r, err = p.parseConcat()
		e = emitCall("op", quoteName(op), e, r)
	}
	return e, err
}

func (p *exprParser) parseConcat() (string, error) {
	e, err := p.parseMath2()
	if err != nil || !p.isOp("~") {
		return e, err
	}
	args := []string{e}
	for p.isOp("~") {
		p.pos++
		r, err := p.parseMath2()
		if err != nil {
			return "", err
		}
		args = append(args, r)
	}
	return emitCall("cat", args...), nil
}

func (p *exprParser) parseMath2() (string, error) {
	e, err := p.parsePow()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%")) {
		op := p.next().text
		var r string
		r, err = p.parsePow()
		e = emitCall("op", quoteName(op), e, r)
	}
	return e, err
}

func (p *exprParser) parsePow() (string, error) {
	e, err := p.parseUnary(true)
	for err == nil && p.isOp("**") {
		p.pos++
		var r string
		r, err = p.parseUnary(true)
		e = emitCall("op", quoteName("**"), e, r)
	}
	return e, err
}

func (p *exprParser) parseUnary(withFilter bool) (string, error) {
	var e string
	var err error
	switch {
	case p.isOp("-"):
		p.pos++
		e, err = p.parseUnary(false)
		e = emitCall("neg", e)
	case p.isOp("+"):
		p.pos++
		e, err = p.parseUnary(false)
		e = emitCall("pos", e)
	default:
		e, err = p.parsePrimary()
	}
	if err != nil {
		return "", err
	}
	if e, err = p.parsePostfix(e); err != nil {
		return "", err
	}
	if withFilter {
		return p.parseFilterExpr(e)
	}
	return e, nil
}

func (p *exprParser) parsePrimary() (string, error) {
	t := p.next()
	switch t.kind {
	case tokName:
		switch t.text {
		case "true", "True":
			return "true", nil
		case "false", "False":
			return "false", nil
		case "none", "None":
			return "none", nil
		case "dict", "namespace":
			if p.isOp("(") {
				return p.parseDictCall()
			}
		case "not", "and", "or", "in", "is", "if", "else":
			// jinja2 reads a keyword where a value goes as a variable
			// name, which is never defined.
			return fnPrefix + "keyword_" + t.text, nil
		}
		return t.text, nil
	case tokString:
		s := t.str
		for p.peek().kind == tokString {
			s += p.next().str
		}
		return p.constant(jinja.NewString(s)), nil
	case tokInt:
		clean := strings.ReplaceAll(t.text, "_", "")
		n, ok := new(big.Int).SetString(clean, 0)
		if !ok {
			return "", fmt.Errorf("bad integer literal %q", t.text)
		}
		if !n.IsInt64() {
			return "", fmt.Errorf("integer literal %s is out of the supported range (64-bit)", t.text)
		}
		return p.constant(jinja.NewInt(n.Int64())), nil
	case tokFloat:
		f, err := strconv.ParseFloat(strings.ReplaceAll(t.text, "_", ""), 64)
		if err != nil {
			return "", fmt.Errorf("bad float literal %q", t.text)
		}
		return p.constant(jinja.NewFloat(f)), nil
	case tokOp:
		switch t.text {
		case "(":
			if p.isOp(")") {
				p.pos++
				return emitCall("tuple"), nil
			}
			e, err := p.parseTuple(true)
			if err != nil {
				return "", err
			}
			return "(" + e + ")", p.expectOp(")")
		case "[":
			items, err := p.parseList("]")
			return "[" + strings.Join(items, ", ") + "]", err
		case "{":
			var items []string
			for !p.isOp("}") {
				if len(items) > 0 {
					if err := p.expectOp(","); err != nil {
						return "", err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.parseExpr()
				if err != nil {
					return "", err
				}
				if err := p.expectOp(":"); err != nil {
					return "", err
				}
				v, err := p.parseExpr()
				if err != nil {
					return "", err
				}
				items = append(items, k+": "+v)
			}
			p.pos++
			return "{" + strings.Join(items, ", ") + "}", nil
		}
	}
	p.back(t)
	return "", p.errorf("unexpected token")
}

// parseDictCall parses dict(k=v, …) or namespace(k=v, …) after the name,
// keeping the keyword order (the engine's builtins lose it).
func (p *exprParser) parseDictCall() (string, error) {
	p.pos++
	args, err := p.parseArgs()
	if err != nil {
		return "", err
	}
	var pairs []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !isIdent(k) {
			return "", fmt.Errorf("dict() and namespace() take keyword arguments only")
		}
		pairs = append(pairs, quoteName(k), v)
	}
	return emitCall("dict", pairs...), nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}

// parseList parses comma-separated expressions up to the closing op.
func (p *exprParser) parseList(closer string) ([]string, error) {
	var items []string
	for !p.isOp(closer) {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(closer) {
				break
			}
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	p.pos++
	return items, nil
}

// parseArgs parses call arguments after "(" up to ")": positional and
// keyword arguments, re-emitted in order.
func (p *exprParser) parseArgs() ([]string, error) {
	var args []string
	for !p.isOp(")") {
		if len(args) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		if p.isOp("*") || p.isOp("**") {
			return nil, p.errorf("*args and **kwargs are not supported")
		}
		t := p.peek()
		if t.kind == tokName && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokOp && p.toks[p.pos+1].text == "=" {
			p.pos += 2
			v, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			args = append(args, t.text+"="+v)
			continue
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	p.pos++
	return args, nil
}

func (p *exprParser) parsePostfix(e string) (string, error) {
	for {
		switch {
		case p.isOp("."):
			p.pos++
			t := p.next()
			switch t.kind {
			case tokName:
				e = emitCall("attr", e, quoteName(t.text))
			case tokInt:
				e = emitCall("item", e, t.text)
			default:
				p.back(t)
				return "", p.errorf("expected an attribute name")
			}
		case p.isOp("["):
			p.pos++
			var parts [3]string
			slice := false
			for i := 0; i < 3; i++ {
				if !p.isOp(":") && !p.isOp("]") {
					x, err := p.parseExpr()
					if err != nil {
						return "", err
					}
					parts[i] = x
				}
				if !p.isOp(":") {
					break
				}
				slice = true
				p.pos++
				if i == 2 {
					return "", p.errorf("too many colons in a slice")
				}
			}
			if err := p.expectOp("]"); err != nil {
				return "", err
			}
			if slice {
				e = "(" + e + ")[" + parts[0] + ":" + parts[1] + ":" + parts[2] + "]"
			} else {
				e = emitCall("item", e, parts[0])
			}
		case p.isOp("("):
			p.pos++
			args, err := p.parseArgs()
			if err != nil {
				return "", err
			}
			e = e + "(" + strings.Join(args, ", ") + ")"
		default:
			return e, nil
		}
	}
}

func (p *exprParser) dottedName() (string, error) {
	t := p.next()
	if t.kind != tokName {
		p.back(t)
		return "", p.errorf("expected a name")
	}
	name := t.text
	for p.isOp(".") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tokName {
		name += "." + p.toks[p.pos+1].text
		p.pos += 2
	}
	return name, nil
}

func (p *exprParser) parseFilterExpr(e string) (string, error) {
	for {
		switch {
		case p.isOp("|"):
			p.pos++
			name, err := p.dottedName()
			if err != nil {
				return "", err
			}
			var args []string
			if p.isOp("(") {
				p.pos++
				if args, err = p.parseArgs(); err != nil {
					return "", err
				}
			}
			if e, err = emitFilter(name, e, args); err != nil {
				return "", err
			}
		case p.isName("is"):
			p.pos++
			negate := false
			if p.isName("not") {
				p.pos++
				negate = true
			}
			name, err := p.dottedName()
			if err != nil {
				return "", err
			}
			var args []string
			t := p.peek()
			switch {
			case p.isOp("("):
				p.pos++
				if args, err = p.parseArgs(); err != nil {
					return "", err
				}
			case t.kind == tokName && t.text != "else" && t.text != "or" && t.text != "and" || t.kind == tokString || t.kind == tokInt || t.kind == tokFloat || p.isOp("[") || p.isOp("{"):
				if t.kind == tokName && t.text == "is" {
					return "", p.errorf("you cannot chain multiple tests with is")
				}
				a, err := p.parsePrimary()
				if err != nil {
					return "", err
				}
				if a, err = p.parsePostfix(a); err != nil {
					return "", err
				}
				args = []string{a}
			}
			if !knownTests[name] {
				return "", fmt.Errorf("no test named %q", name)
			}
			e = emitCall("test", append([]string{quoteName(name), e}, args...)...)
			if negate {
				e = emitCall("not", e)
			}
		case p.isOp("("):
			p.pos++
			args, err := p.parseArgs()
			if err != nil {
				return "", err
			}
			e = e + "(" + strings.Join(args, ", ") + ")"
		default:
			return e, nil
		}
	}
}

// engineFilters are the engine's filters whose results the conformance
// suite shows equal to jinja2's; any other filter glmv does not implement
// itself is refused when the template is compiled.
var engineFilters = map[string]bool{"safe": true}

// emitFilter calls our own implementation where there is one, else the
// engine's filter.
func emitFilter(name, e string, args []string) (string, error) {
	switch {
	case ownFilters[name]:
		return emitCall("filter", append([]string{quoteName(name), e}, args...)...), nil
	case !engineFilters[name]:
		return "", fmt.Errorf("the filter %q is not supported", name)
	case len(args) == 0:
		return "((" + e + ")|" + name + ")", nil
	}
	return "((" + e + ")|" + name + "(" + strings.Join(args, ", ") + "))", nil
}

// rewriteExpr parses a whole expression (an output tag's inside).
func rewriteExpr(src string, consts *[]jinja.Value) (string, error) {
	toks, err := lexExpr(src)
	if err != nil {
		return "", err
	}
	p := &exprParser{toks: toks, consts: consts}
	e, err := p.parseTuple(true)
	if err != nil {
		return "", err
	}
	if p.peek().kind != tokEOF {
		return "", p.errorf("unexpected token")
	}
	return e, nil
}

// rewriteStatement re-emits a {% %} tag's inside; drop reports a tag that
// renders nothing and is left out (transformers' {% generation %}).
func rewriteStatement(src string, consts *[]jinja.Value) (out string, drop bool, err error) {
	toks, err := lexExpr(src)
	if err != nil {
		return "", false, err
	}
	if len(toks) == 0 || toks[0].kind != tokName {
		return "", false, fmt.Errorf("empty or malformed tag")
	}
	p := &exprParser{toks: toks, pos: 1, consts: consts}
	kw := toks[0].text
	end := func(s string) (string, bool, error) {
		if p.peek().kind != tokEOF {
			return "", false, p.errorf("unexpected token in %s tag", kw)
		}
		return s, false, nil
	}
	switch kw {
	case "generation", "endgeneration":
		if len(toks) != 1 {
			return "", false, fmt.Errorf("unexpected token in %s tag", kw)
		}
		return "", true, nil
	case "else", "endif", "endfor", "endmacro", "endcall", "endset", "break", "continue":
		return end(kw)
	case "if", "elif":
		e, err := p.parseTuple(true)
		if err != nil {
			return "", false, err
		}
		return end(kw + " " + emitCall("bool", e))
	case "for":
		var targets []string
		for !p.isName("in") {
			t := p.next()
			switch {
			case t.kind == tokName || t.kind == tokOp && (t.text == "," || t.text == "(" || t.text == ")"):
				targets = append(targets, t.text)
			default:
				p.back(t)
				return "", false, p.errorf("bad for loop target")
			}
		}
		p.pos++
		iter, err := p.parseTuple(false)
		if err != nil {
			return "", false, err
		}
		s := "for " + strings.Join(targets, " ") + " in " + emitCall("iter", iter)
		if p.isName("if") {
			p.pos++
			cond, err := p.parseExpr()
			if err != nil {
				return "", false, err
			}
			s += " if " + emitCall("bool", cond)
		}
		if p.isName("recursive") {
			return "", false, fmt.Errorf("recursive loops are not supported")
		}
		return end(s)
	case "set":
		start := p.pos
		for p.peek().kind != tokEOF && !p.isOp("=") {
			p.pos++
		}
		if p.peek().kind == tokEOF {
			// Block set: {% set name %} … {% endset %}, kept as written.
			var parts []string
			for _, t := range toks[start:] {
				parts = append(parts, t.text)
			}
			return "set " + strings.Join(parts, " "), false, nil
		}
		var targets [][]string
		cur := []string{}
		for _, t := range toks[start:p.pos] {
			switch {
			case t.kind == tokOp && t.text == ",":
				targets, cur = append(targets, cur), []string{}
			case t.kind == tokName || t.kind == tokOp && t.text == ".":
				cur = append(cur, t.text)
			default:
				return "", false, fmt.Errorf("only `set name = …`, `set a, b = …` and `set ns.attr = …` are supported")
			}
		}
		if len(cur) > 0 {
			targets = append(targets, cur)
		}
		p.pos++
		e, err := p.parseTuple(true)
		if err != nil {
			return "", false, err
		}
		if len(targets) == 1 {
			return end("set " + strings.Join(targets[0], "") + " = " + e)
		}
		// set a, b = x: unpack through a temporary that must have exactly
		// as many items.
		tmp := fnPrefix + "unpacked"
		st := "set " + tmp + " = " + emitCall("unpack", e, strconv.Itoa(len(targets)))
		for i, t := range targets {
			st += " %}{% set " + strings.Join(t, "") + " = " + emitCall("item", tmp, strconv.Itoa(i))
		}
		return end(st)
	case "macro":
		name := p.next()
		if name.kind != tokName || !p.isOp("(") {
			return "", false, fmt.Errorf("bad macro definition")
		}
		p.pos++
		var params []string
		for !p.isOp(")") {
			if len(params) > 0 {
				if err := p.expectOp(","); err != nil {
					return "", false, err
				}
			}
			t := p.next()
			if t.kind != tokName {
				p.back(t)
				return "", false, p.errorf("bad macro parameter")
			}
			param := t.text
			if p.isOp("=") {
				p.pos++
				d, err := p.parseExpr()
				if err != nil {
					return "", false, err
				}
				param += "=" + d
			}
			params = append(params, param)
		}
		p.pos++
		return end("macro " + name.text + "(" + strings.Join(params, ", ") + ")")
	case "call":
		s := "call"
		if p.isOp("(") {
			p.pos++
			args, err := p.parseArgs()
			if err != nil {
				return "", false, err
			}
			s += "(" + strings.Join(args, ", ") + ")"
		}
		name := p.next()
		if name.kind != tokName || !p.isOp("(") {
			return "", false, fmt.Errorf("bad call block")
		}
		p.pos++
		args, err := p.parseArgs()
		if err != nil {
			return "", false, err
		}
		return end(s + " " + name.text + "(" + strings.Join(args, ", ") + ")")
	case "filter", "endfilter":
		return "", false, fmt.Errorf("internal: filter blocks are handled by recompile")
	}
	return "", false, fmt.Errorf("unsupported tag %q", kw)
}

// recompile turns jinja2 template source into the engine's source plus
// the literal texts and constants it refers to.
func recompile(src string) (out string, texts []string, consts []jinja.Value, err error) {
	if len(src) > maxSource {
		return "", nil, nil, fmt.Errorf("template is larger than %d bytes", maxSource)
	}
	segs, err := lexTemplate(normalizeNewlines(src))
	if err != nil {
		return "", nil, nil, err
	}
	locals := loopLocals(segs)
	var filters []string // open filter blocks' expressions
	var b strings.Builder
	for i, s := range segs {
		switch s.kind {
		case segText:
			fmt.Fprintf(&b, "{{ %s[%d] }}", textVar, len(texts))
			texts = append(texts, s.text)
		case segVar:
			e, err := rewriteExpr(s.text, &consts)
			if err != nil {
				return "", nil, nil, fmt.Errorf("line %d: {{%s}}: %w", s.line, s.text, err)
			}
			b.WriteString("{{ " + emitCall("str", e) + " }}")
		case segBlock:
			// {% filter f(args) | g %}…{% endfilter %} becomes a block set
			// whose text goes through the same filters as an expression.
			if toks, _ := lexExpr(s.text); len(toks) > 0 && toks[0].kind == tokName && (toks[0].text == "filter" || toks[0].text == "endfilter") {
				if toks[0].text == "filter" {
					v := fmt.Sprintf("%sfiltered%d", fnPrefix, i)
					ft := append([]token{{kind: tokName, text: v}, {kind: tokOp, text: "|"}}, toks[1:]...)
					fp := &exprParser{toks: ft, consts: &consts}
					e, err := fp.parseUnary(true)
					if err == nil && fp.peek().kind != tokEOF {
						err = fp.errorf("unexpected token in filter tag")
					}
					if err != nil {
						return "", nil, nil, fmt.Errorf("line %d: {%%%s%%}: %w", s.line, s.text, err)
					}
					filters = append(filters, e)
					b.WriteString("{% set " + v + " %}")
					continue
				}
				if len(filters) == 0 || len(toks) != 1 {
					return "", nil, nil, fmt.Errorf("line %d: unexpected endfilter", s.line)
				}
				b.WriteString("{% endset %}{{ " + emitCall("str", filters[len(filters)-1]) + " }}")
				filters = filters[:len(filters)-1]
				continue
			}
			st, drop, err := rewriteStatement(s.text, &consts)
			if err != nil {
				return "", nil, nil, fmt.Errorf("line %d: {%%%s%%}: %w", s.line, s.text, err)
			}
			if drop {
				continue
			}
			// Names a loop body sets are local to each iteration in
			// jinja2: every iteration starts from the value outside.
			names := locals[i]
			for _, n := range names {
				fmt.Fprintf(&b, "{%% set %souter%d_%s = %s %%}", fnPrefix, i, n, n)
			}
			b.WriteString("{% " + st + " %}")
			for _, n := range names {
				fmt.Fprintf(&b, "{%% set %s = %souter%d_%s %%}", n, fnPrefix, i, n)
			}
		}
	}
	return b.String(), texts, consts, nil
}

// loopLocals finds, for each for tag, the names that `set` assigns in its
// body (outside nested loops, macros and call blocks, which have their own
// scopes), leaving out the loop's own variables.
func loopLocals(segs []tmplSeg) map[int][]string {
	type frame struct {
		kw      string
		at      int
		targets map[string]bool
		names   []string
	}
	out := map[int][]string{}
	var stack []*frame
	for i, s := range segs {
		if s.kind != segBlock {
			continue
		}
		toks, err := lexExpr(s.text)
		if err != nil || len(toks) == 0 || toks[0].kind != tokName {
			continue
		}
		switch kw := toks[0].text; kw {
		case "for", "macro", "call":
			f := &frame{kw: kw, at: i, targets: map[string]bool{}}
			if kw == "for" {
				for _, t := range toks[1:] {
					if t.kind == tokName && t.text == "in" {
						break
					}
					if t.kind == tokName {
						f.targets[t.text] = true
					}
				}
			}
			stack = append(stack, f)
		case "endfor", "endmacro", "endcall":
			if len(stack) == 0 {
				continue
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.kw == "for" && len(f.names) > 0 {
				out[f.at] = f.names
			}
		case "set":
			if len(stack) == 0 || stack[len(stack)-1].kw != "for" {
				continue
			}
			f := stack[len(stack)-1]
			for j := 1; j < len(toks); j++ {
				t := toks[j]
				if t.kind == tokOp && (t.text == "=" || t.text == "|") {
					break
				}
				if t.kind != tokName || j+1 < len(toks) && toks[j+1].kind == tokOp && toks[j+1].text == "." || j > 1 && toks[j-1].text == "." {
					continue
				}
				if !f.targets[t.text] && !slices.Contains(f.names, t.text) {
					f.names = append(f.names, t.text)
				}
			}
		}
	}
	return out
}
