package chat

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// seqKind tells what Python object a list value stands for: the engine
// has only lists, so tuples, generators and dict views are lists that the
// render's runtime remembers.
type seqKind uint8

const (
	seqList seqKind = iota
	seqTuple
	seqGenerator
	seqDictItems
	seqDictKeys
	seqDictValues
)

// pyRuntime is the state of one render: which lists are tuples,
// generators or dict views.
type pyRuntime struct {
	kinds map[*jinja.List]seqKind
}

func newRuntime() *pyRuntime { return &pyRuntime{kinds: map[*jinja.List]seqKind{}} }

// mark records that the list v stands for a k.
func (rt *pyRuntime) mark(v jinja.Value, k seqKind) jinja.Value {
	if rt != nil && v.IsList() {
		rt.kinds[v.AsList()] = k
	}
	return v
}

func (rt *pyRuntime) kind(v jinja.Value) seqKind {
	if rt == nil || !v.IsList() {
		return seqList
	}
	return rt.kinds[v.AsList()]
}

// pyError is an error with the class name Python would raise.
func pyError(class, format string, a ...any) error {
	return fmt.Errorf("%s: %s", class, fmt.Sprintf(format, a...))
}

func typeName(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return "Undefined"
	case v.IsNone():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInt():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "function"
}

func undefinedError(v jinja.Value) error {
	return pyError("UndefinedError", "an undefined value was used")
}

// pyFloatRepr is Python's repr of a float.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	sign := ""
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		}
		return sign + digits[:decpt] + "." + digits[decpt:]
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if x < 0 {
		es, x = "-", -x
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
}

// pyStr is Python's str() of a template value (Undefined prints empty).
func (rt *pyRuntime) pyStr(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return ""
	case v.IsString():
		return v.AsString()
	case v.IsCallable():
		return ""
	}
	return rt.pyRepr(v)
}

// pyRepr is Python's repr().
func (rt *pyRuntime) pyRepr(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return "Undefined"
	case v.IsNone():
		return "None"
	case v.IsBool():
		if v.AsBool() {
			return "True"
		}
		return "False"
	case v.IsInt():
		return strconv.FormatInt(v.AsInt(), 10)
	case v.IsFloat():
		return pyFloatRepr(v.AsFloat())
	case v.IsString():
		return pyStrRepr(v.AsString())
	case v.IsList():
		var b strings.Builder
		open, closing := "[", "]"
		switch rt.kind(v) {
		case seqTuple:
			open, closing = "(", ")"
			if v.AsList().Len() == 1 {
				closing = ",)"
			}
		case seqDictItems:
			open, closing = "dict_items([", "])"
		case seqDictKeys:
			open, closing = "dict_keys([", "])"
		case seqDictValues:
			open, closing = "dict_values([", "])"
		case seqGenerator:
			return "<generator object>"
		}
		b.WriteString(open)
		for i, it := range v.AsList().Items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(rt.pyRepr(it))
		}
		b.WriteString(closing)
		return b.String()
	case v.IsDict():
		d := v.AsDict()
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range d.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			val, _ := d.Get(k)
			b.WriteString(pyStrRepr(k) + ": " + rt.pyRepr(val))
		}
		b.WriteByte('}')
		return b.String()
	}
	return "<function>"
}

// pyPrintable is Python's str.isprintable for one character.
func pyPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	return unicode.IsPrint(r)
}

func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError || !pyPrintable(r):
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// truthy is Python's bool(): a generator is true even when it would
// yield nothing.
func (rt *pyRuntime) truthy(v jinja.Value) bool {
	if rt.kind(v) == seqGenerator {
		return true
	}
	return v.IsTruthy()
}

// number returns a numeric value as float and whether it is an int (bools
// count as ints, as in Python).
func number(v jinja.Value) (f float64, i int64, isInt, ok bool) {
	switch {
	case v.IsBool():
		if v.AsBool() {
			return 1, 1, true, true
		}
		return 0, 0, true, true
	case v.IsInt():
		return float64(v.AsInt()), v.AsInt(), true, true
	case v.IsFloat():
		return v.AsFloat(), 0, false, true
	}
	return 0, 0, false, false
}

var opNames = map[string]string{"+": "+", "-": "-", "*": "*", "/": "/", "//": "//", "%": "%", "**": "** or pow()"}

// binaryOp applies a Python arithmetic operator.
func (rt *pyRuntime) binaryOp(op string, a, b jinja.Value) (jinja.Value, error) {
	if a.IsUndefined() || b.IsUndefined() {
		return jinja.Undefined(), undefinedError(a)
	}
	af, ai, aInt, aNum := number(a)
	bf, bi, bInt, bNum := number(b)
	if aNum && bNum {
		return numericOp(op, af, ai, aInt, bf, bi, bInt)
	}
	switch op {
	case "+":
		switch {
		case a.IsString() && b.IsString():
			return jinja.NewString(a.AsString() + b.AsString()), nil
		case a.IsList() && b.IsList() && rt.kind(a) == rt.kind(b) && (rt.kind(a) == seqList || rt.kind(a) == seqTuple):
			return rt.mark(jinja.NewList(append(slices.Clone(a.AsList().Items), b.AsList().Items...)), rt.kind(a)), nil
		case a.IsList() && b.IsList():
			return jinja.Undefined(), pyError("TypeError", "can only concatenate sequences of the same type")
		case a.IsString():
			return jinja.Undefined(), pyError("TypeError", "can only concatenate str (not %q) to str", typeName(b))
		case a.IsList():
			return jinja.Undefined(), pyError("TypeError", "can only concatenate list (not %q) to list", typeName(b))
		}
	case "*":
		if bNum && bInt {
			a, b, ai = b, a, bi
			aInt, aNum = true, true
		}
		if aNum && aInt {
			n := max(ai, 0)
			switch {
			case b.IsString():
				if n*int64(len(b.AsString())) > maxRepeat {
					return jinja.Undefined(), pyError("MemoryError", "repeated string is too long")
				}
				return jinja.NewString(strings.Repeat(b.AsString(), int(n))), nil
			case b.IsList() && (rt.kind(b) == seqList || rt.kind(b) == seqTuple):
				if n*int64(b.AsList().Len()) > maxRepeat {
					return jinja.Undefined(), pyError("MemoryError", "repeated list is too long")
				}
				var items []jinja.Value
				for range n {
					items = append(items, b.AsList().Items...)
				}
				if items == nil {
					items = []jinja.Value{}
				}
				return rt.mark(jinja.NewList(items), rt.kind(b)), nil
			}
		}
	case "%":
		if a.IsString() {
			return rt.percentFormat(a.AsString(), b)
		}
	}
	return jinja.Undefined(), pyError("TypeError", "unsupported operand type(s) for %s: '%s' and '%s'", opNames[op], typeName(a), typeName(b))
}

const maxRepeat = 1 << 24

// errIntRange is returned where Python's unbounded integers would leave
// the 64 bits the engine has.
var errIntRange = errors.New("integer result outside the 64-bit range the template engine supports")

func numericOp(op string, af float64, ai int64, aInt bool, bf float64, bi int64, bInt bool) (jinja.Value, error) {
	ints := aInt && bInt
	switch op {
	case "+":
		if ints {
			r := ai + bi
			if (r > ai) != (bi > 0) {
				return jinja.Undefined(), errIntRange
			}
			return jinja.NewInt(r), nil
		}
		return jinja.NewFloat(af + bf), nil
	case "-":
		if ints {
			r := ai - bi
			if (r < ai) != (bi > 0) {
				return jinja.Undefined(), errIntRange
			}
			return jinja.NewInt(r), nil
		}
		return jinja.NewFloat(af - bf), nil
	case "*":
		if ints {
			if ai != 0 && bi != 0 {
				hi, lo := bits.Mul64(uint64(max(ai, -ai)), uint64(max(bi, -bi)))
				if hi != 0 || lo > math.MaxInt64 || ai == math.MinInt64 || bi == math.MinInt64 {
					return jinja.Undefined(), errIntRange
				}
			}
			return jinja.NewInt(ai * bi), nil
		}
		return jinja.NewFloat(af * bf), nil
	case "/":
		if bf == 0 {
			return jinja.Undefined(), pyError("ZeroDivisionError", "division by zero")
		}
		return jinja.NewFloat(af / bf), nil
	case "//", "%":
		if bf == 0 {
			return jinja.Undefined(), pyError("ZeroDivisionError", "integer division or modulo by zero")
		}
		if ints {
			q, r := ai/bi, ai%bi
			if r != 0 && (r < 0) != (bi < 0) {
				q, r = q-1, r+bi
			}
			if op == "//" {
				return jinja.NewInt(q), nil
			}
			return jinja.NewInt(r), nil
		}
		r := math.Mod(af, bf)
		if r != 0 && (r < 0) != (bf < 0) {
			r += bf
		}
		if op == "//" {
			return jinja.NewFloat(math.Floor((af - r) / bf)), nil
		}
		return jinja.NewFloat(r), nil
	case "**":
		if ints && bi >= 0 {
			r := big.NewInt(ai)
			if ai < -1 || ai > 1 {
				if bi > 64 {
					return jinja.Undefined(), errIntRange
				}
				r.Exp(r, big.NewInt(bi), nil)
			} else if ai == -1 && bi%2 == 0 || bi == 0 {
				r.SetInt64(1)
			}
			if !r.IsInt64() {
				return jinja.Undefined(), errIntRange
			}
			return jinja.NewInt(r.Int64()), nil
		}
		if af == 0 && bf < 0 {
			return jinja.Undefined(), pyError("ZeroDivisionError", "0.0 cannot be raised to a negative power")
		}
		if af < 0 && bf != math.Trunc(bf) {
			return jinja.Undefined(), fmt.Errorf("a negative number to a fractional power is complex, which templates cannot print")
		}
		r := math.Pow(af, bf)
		if math.IsInf(r, 0) && !math.IsInf(af, 0) && !math.IsInf(bf, 0) {
			return jinja.Undefined(), pyError("OverflowError", "(34, 'Numerical result out of range')")
		}
		return jinja.NewFloat(r), nil
	}
	return jinja.Undefined(), fmt.Errorf("unknown operator %q", op)
}

// percentFormat is str % args for %s, %r, %d, %i and %%.
func (rt *pyRuntime) percentFormat(f string, arg jinja.Value) (jinja.Value, error) {
	args := []jinja.Value{arg}
	if arg.IsList() {
		args = arg.AsList().Items
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return jinja.Undefined(), pyError("ValueError", "incomplete format")
		}
		i++
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if n >= len(args) {
			return jinja.Undefined(), pyError("TypeError", "not enough arguments for format string")
		}
		a := args[n]
		n++
		switch f[i] {
		case 's':
			b.WriteString(rt.pyStr(a))
		case 'r':
			b.WriteString(rt.pyRepr(a))
		case 'd', 'i':
			fv, iv, isInt, ok := number(a)
			if !ok {
				return jinja.Undefined(), pyError("TypeError", "%%d format: a real number is required, not %s", typeName(a))
			}
			if !isInt {
				iv = int64(math.Trunc(fv))
			}
			b.WriteString(strconv.FormatInt(iv, 10))
		default:
			return jinja.Undefined(), fmt.Errorf("%%-format %%%c is not supported", f[i])
		}
	}
	if n < len(args) {
		return jinja.Undefined(), pyError("TypeError", "not all arguments converted during string formatting")
	}
	return jinja.NewString(b.String()), nil
}

// pyEqual is Python's ==.
func (rt *pyRuntime) pyEqual(a, b jinja.Value) bool {
	af, _, _, aNum := number(a)
	bf, _, _, bNum := number(b)
	switch {
	case aNum && bNum:
		return af == bf
	case a.IsString() && b.IsString():
		return a.AsString() == b.AsString()
	case a.IsNone() && b.IsNone(), a.IsUndefined() && b.IsUndefined():
		return true
	case a.IsList() && b.IsList():
		x, y := a.AsList().Items, b.AsList().Items
		if ka, kb := rt.kind(a), rt.kind(b); ka != kb || ka == seqGenerator || ka == seqDictItems || ka == seqDictKeys || ka == seqDictValues {
			// (1, 2) != [1, 2]; generators and views compare by identity.
			return a.AsList() == b.AsList() && ka == kb
		}
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !rt.pyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case a.IsDict() && b.IsDict():
		x, y := a.AsDict(), b.AsDict()
		if x.Len() != y.Len() {
			return false
		}
		for _, k := range x.Keys {
			xv, _ := x.Get(k)
			yv, ok := y.Get(k)
			if !ok || !rt.pyEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// pyOrder compares for <, <=, >, >=.
func (rt *pyRuntime) pyOrder(op string, a, b jinja.Value) (int, error) {
	if a.IsUndefined() || b.IsUndefined() {
		return 0, undefinedError(a)
	}
	af, _, _, aNum := number(a)
	bf, _, _, bNum := number(b)
	switch {
	case aNum && bNum:
		switch {
		case af < bf:
			return -1, nil
		case af > bf:
			return 1, nil
		}
		return 0, nil
	case a.IsString() && b.IsString():
		return strings.Compare(a.AsString(), b.AsString()), nil
	case a.IsList() && b.IsList():
		x, y := a.AsList().Items, b.AsList().Items
		for i := 0; i < len(x) && i < len(y); i++ {
			if rt.pyEqual(x[i], y[i]) {
				continue
			}
			return rt.pyOrder(op, x[i], y[i])
		}
		return len(x) - len(y), nil
	}
	return 0, pyError("TypeError", "'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

// pyContains is Python's `item in container`.
func (rt *pyRuntime) pyContains(item, container jinja.Value) (bool, error) {
	switch {
	case container.IsUndefined():
		return false, nil
	case container.IsString():
		if !item.IsString() {
			return false, pyError("TypeError", "'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(container.AsString(), item.AsString()), nil
	case container.IsList():
		for _, it := range container.AsList().Items {
			if rt.pyEqual(it, item) {
				return true, nil
			}
		}
		return false, nil
	case container.IsDict():
		if item.IsList() || item.IsDict() {
			return false, pyError("TypeError", "unhashable type: '%s'", typeName(item))
		}
		if !item.IsString() {
			return false, nil
		}
		_, ok := container.AsDict().Get(item.AsString())
		return ok, nil
	}
	return false, pyError("TypeError", "argument of type '%s' is not iterable", typeName(container))
}

func (rt *pyRuntime) compareOp(op string, a, b jinja.Value) (bool, error) {
	switch op {
	case "==":
		return rt.pyEqual(a, b), nil
	case "!=":
		return !rt.pyEqual(a, b), nil
	case "in":
		return rt.pyContains(a, b)
	case "notin":
		in, err := rt.pyContains(a, b)
		return !in, err
	}
	c, err := rt.pyOrder(op, a, b)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// pyIter is what a for loop over v sees: Python iterates lists, the keys
// of dicts, the characters of strings and nothing of Undefined, and
// refuses anything else.
func (rt *pyRuntime) pyIter(v jinja.Value) (jinja.Value, error) {
	switch {
	case v.IsUndefined():
		return jinja.NewList([]jinja.Value{}), nil
	case v.IsList():
		return v, nil
	case v.IsDict():
		keys := make([]jinja.Value, 0, v.AsDict().Len())
		for _, k := range v.AsDict().Keys {
			keys = append(keys, jinja.NewString(k))
		}
		return jinja.NewList(keys), nil
	case v.IsString():
		var chars []jinja.Value
		for _, r := range v.AsString() {
			chars = append(chars, jinja.NewString(string(r)))
		}
		if chars == nil {
			chars = []jinja.Value{}
		}
		return jinja.NewList(chars), nil
	}
	return jinja.Undefined(), pyError("TypeError", "'%s' object is not iterable", typeName(v))
}

// pyLen is len(v); Undefined has length 0.
func (rt *pyRuntime) pyLen(v jinja.Value) (int, error) {
	switch {
	case v.IsUndefined():
		return 0, nil
	case v.IsString():
		return utf8.RuneCountInString(v.AsString()), nil
	case v.IsList() && rt.kind(v) == seqGenerator:
		return 0, pyError("TypeError", "object of type 'generator' has no len()")
	case v.IsList():
		return v.AsList().Len(), nil
	case v.IsDict():
		return v.AsDict().Len(), nil
	}
	return 0, pyError("TypeError", "object of type '%s' has no len()", typeName(v))
}

var knownTests = map[string]bool{
	"defined": true, "undefined": true, "none": true, "string": true, "number": true, "integer": true,
	"float": true, "boolean": true, "true": true, "false": true, "mapping": true, "iterable": true,
	"sequence": true, "callable": true, "sameas": true, "eq": true, "equalto": true, "==": true,
	"ne": true, "!=": true, "lt": true, "lessthan": true, "<": true, "le": true, "<=": true,
	"gt": true, "greaterthan": true, ">": true, "ge": true, ">=": true, "in": true,
	"divisibleby": true, "odd": true, "even": true, "lower": true, "upper": true, "escaped": true,
}

func (rt *pyRuntime) pyTest(name string, v jinja.Value, args []jinja.Value) (bool, error) {
	arg := func() (jinja.Value, error) {
		if len(args) != 1 {
			return jinja.Undefined(), pyError("TypeError", "test %s takes one argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		return !v.IsUndefined(), nil
	case "undefined":
		return v.IsUndefined(), nil
	case "none":
		return v.IsNone(), nil
	case "string":
		return v.IsString(), nil
	case "number":
		return v.IsBool() || v.IsInt() || v.IsFloat(), nil
	case "integer":
		return v.IsInt(), nil
	case "float":
		return v.IsFloat(), nil
	case "boolean":
		return v.IsBool(), nil
	case "true":
		return v.IsBool() && v.AsBool(), nil
	case "false":
		return v.IsBool() && !v.AsBool(), nil
	case "mapping":
		return v.IsDict(), nil
	case "iterable":
		return v.IsUndefined() || v.IsString() || v.IsList() || v.IsDict(), nil
	case "sequence":
		return v.IsUndefined() || v.IsString() || v.IsList() && rt.kind(v) != seqGenerator || v.IsDict(), nil
	case "callable":
		return v.IsCallable(), nil
	case "escaped":
		return false, nil
	case "sameas":
		a, err := arg()
		if err != nil {
			return false, err
		}
		switch {
		case v.IsNone() || a.IsNone():
			return v.IsNone() && a.IsNone(), nil
		case v.IsBool() || a.IsBool():
			return v.IsBool() && a.IsBool() && v.AsBool() == a.AsBool(), nil
		}
		return false, fmt.Errorf("the sameas test is only supported with none, true and false")
	case "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=":
		a, err := arg()
		if err != nil {
			return false, err
		}
		op := map[string]string{"eq": "==", "equalto": "==", "ne": "!=", "lt": "<", "lessthan": "<", "le": "<=", "gt": ">", "greaterthan": ">", "ge": ">="}[name]
		if op == "" {
			op = name
		}
		return rt.compareOp(op, v, a)
	case "in":
		a, err := arg()
		if err != nil {
			return false, err
		}
		return rt.pyContains(v, a)
	case "divisibleby", "odd", "even":
		// value % 2 == 1, value % 2 == 0, value % num == 0 in Python.
		d, want := jinja.NewInt(2), int64(0)
		switch name {
		case "odd":
			want = 1
		case "divisibleby":
			a, err := arg()
			if err != nil {
				return false, err
			}
			d = a
		}
		r, err := rt.binaryOp("%", v, d)
		if err != nil {
			return false, err
		}
		return rt.pyEqual(r, jinja.NewInt(want)), nil
	case "lower", "upper":
		s := rt.pyStr(v)
		if name == "lower" {
			return pyStrPred(s, unicode.IsUpper, unicode.IsLower), nil
		}
		return pyStrPred(s, unicode.IsLower, unicode.IsUpper), nil
	}
	return false, fmt.Errorf("no test named %q", name)
}

// pyStrPred is Python's str.islower/isupper: no character of the wrong
// case and at least one of the right one.
func pyStrPred(s string, wrong, right func(rune) bool) bool {
	has := false
	for _, r := range s {
		if wrong(r) || unicode.IsTitle(r) {
			return false
		}
		if right(r) {
			has = true
		}
	}
	return has
}

// runtimeFuncs returns the functions the recompiled template calls, with
// a fresh runtime state for one render.
func runtimeFuncs() map[string]jinja.Value {
	rt := newRuntime()
	fns := map[string]func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error){
		"str": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if rt.kind(args[0]) == seqGenerator {
				return jinja.Undefined(), fmt.Errorf("printing a generator (Python prints its memory address); add | list")
			}
			return jinja.NewString(rt.pyStr(args[0])), nil
		},
		"bool": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return jinja.NewBool(rt.truthy(args[0])), nil
		},
		"tuple": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return rt.mark(jinja.NewList(slices.Clone(args)), seqTuple), nil
		},
		"not": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return jinja.NewBool(!rt.truthy(args[0])), nil
		},
		"neg": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			f, i, isInt, ok := number(args[0])
			switch {
			case args[0].IsUndefined():
				return jinja.Undefined(), undefinedError(args[0])
			case !ok:
				return jinja.Undefined(), pyError("TypeError", "bad operand type for unary -: '%s'", typeName(args[0]))
			case isInt:
				return jinja.NewInt(-i), nil
			}
			return jinja.NewFloat(-f), nil
		},
		"pos": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			_, i, isInt, ok := number(args[0])
			switch {
			case !ok:
				return jinja.Undefined(), pyError("TypeError", "bad operand type for unary +: '%s'", typeName(args[0]))
			case isInt:
				return jinja.NewInt(i), nil
			}
			return args[0], nil
		},
		"op": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return rt.binaryOp(args[0].AsString(), args[1], args[2])
		},
		"cat": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			var b strings.Builder
			for _, a := range args {
				if rt.kind(a) == seqGenerator {
					return jinja.Undefined(), fmt.Errorf("printing a generator (Python prints its memory address); add | list")
				}
				b.WriteString(rt.pyStr(a))
			}
			return jinja.NewString(b.String()), nil
		},
		"cmp": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			r, err := rt.compareOp(args[0].AsString(), args[1], args[2])
			return jinja.NewBool(r), err
		},
		"attr": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return rt.pyGetattr(args[0], args[1].AsString())
		},
		"item": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return rt.pyGetitem(args[0], args[1])
		},
		"unpack": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			items, err := rt.pyIter(args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			if n := args[1].AsInt(); int64(items.AsList().Len()) != n {
				return jinja.Undefined(), pyError("ValueError", "expected %d values to unpack, got %d", n, items.AsList().Len())
			}
			return items, nil
		},
		"dict": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			d := jinja.NewDict()
			for i := 0; i+1 < len(args); i += 2 {
				d.AsDict().Set(args[i].AsString(), args[i+1])
			}
			return d, nil
		},
		"iter": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			return rt.pyIter(args[0])
		},
		"test": func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			r, err := rt.pyTest(args[0].AsString(), args[1], args[2:])
			return jinja.NewBool(r), err
		},
		"filter": func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			name := args[0].AsString()
			v, err := rt.pyFilter(name, args[1], args[2:], kwargs)
			if err == nil && generatorFilters[name] && !(name == "reverse" && args[1].IsString()) {
				rt.mark(v, seqGenerator)
			}
			return v, err
		},
	}
	out := make(map[string]jinja.Value, len(fns))
	for name, fn := range fns {
		out[fnPrefix+name] = jinja.NewCallable(fnPrefix+name, fn)
	}
	return out
}

var ownFilters = map[string]bool{
	"tojson": true, "string": true, "join": true, "first": true, "last": true, "float": true, "int": true,
	"round": true, "wordcount": true, "selectattr": true, "rejectattr": true, "default": true, "d": true,
	"length": true, "count": true, "trim": true, "upper": true, "lower": true, "items": true, "list": true,
	"capitalize": true, "title": true, "replace": true, "abs": true, "center": true, "map": true,
	"sort": true, "indent": true, "format": true, "truncate": true, "unique": true, "max": true,
	"min": true, "sum": true, "batch": true, "reverse": true, "select": true, "reject": true,
	"dictsort": true, "e": true, "escape": true,
}

// generatorFilters return generators in jinja2.
var generatorFilters = map[string]bool{
	"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true,
	"unique": true, "batch": true, "items": true, "reverse": true,
}

// filterArgs binds positional and keyword arguments to parameter names.
func filterArgs(name string, args []jinja.Value, kwargs map[string]jinja.Value, params ...string) (map[string]jinja.Value, error) {
	if len(args) > len(params) {
		return nil, pyError("TypeError", "filter %s takes at most %d arguments", name, len(params))
	}
	out := map[string]jinja.Value{}
	for i, a := range args {
		out[params[i]] = a
	}
	for k, v := range kwargs {
		if !slices.Contains(params, k) {
			return nil, pyError("TypeError", "filter %s got an unexpected keyword argument %q", name, k)
		}
		if _, dup := out[k]; dup {
			return nil, pyError("TypeError", "filter %s got multiple values for %q", name, k)
		}
		out[k] = v
	}
	return out, nil
}

var (
	upperCaser = cases.Upper(language.Und)
	lowerCaser = cases.Lower(language.Und)
	wordRe     = regexp.MustCompile(`[\p{L}\p{N}_\p{Mn}]+`)
	titleSplit = regexp.MustCompile(`[-\s({\[<]+`)
)

// attrPath looks up a dotted attribute path (selectattr, join, …) the way
// jinja2's environment.getitem does.
func attrPath(v jinja.Value, path string) jinja.Value {
	for part := range strings.SplitSeq(path, ".") {
		switch {
		case v.IsDict():
			x, ok := v.AsDict().Get(part)
			if !ok {
				return jinja.Undefined()
			}
			v = x
		case v.IsList():
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= v.AsList().Len() {
				return jinja.Undefined()
			}
			v = v.AsList().Items[i]
		default:
			return jinja.Undefined()
		}
	}
	return v
}

func listOf(items []jinja.Value) jinja.Value {
	if items == nil {
		items = []jinja.Value{}
	}
	return jinja.NewList(items)
}

func (rt *pyRuntime) pyFilter(name string, v jinja.Value, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	switch name {
	case "tojson":
		a, err := filterArgs(name, args, kwargs, "ensure_ascii", "indent", "separators", "sort_keys")
		if err != nil {
			return jinja.Undefined(), err
		}
		s, err := rt.pyJSON(v, a)
		return jinja.NewString(s), err
	case "string":
		return jinja.NewString(rt.pyStr(v)), nil
	case "join":
		a, err := filterArgs(name, args, kwargs, "d", "attribute")
		if err != nil {
			return jinja.Undefined(), err
		}
		items, err := rt.pyIter(v)
		if err != nil {
			return jinja.Undefined(), err
		}
		sep := ""
		if d, ok := a["d"]; ok {
			sep = rt.pyStr(d)
		}
		var parts []string
		for _, it := range items.AsList().Items {
			if attr, ok := a["attribute"]; ok {
				it = attrPath(it, rt.pyStr(attr))
			}
			parts = append(parts, rt.pyStr(it))
		}
		return jinja.NewString(strings.Join(parts, sep)), nil
	case "first", "last":
		if v.IsUndefined() {
			return jinja.Undefined(), nil
		}
		items, err := rt.pyIter(v)
		if err != nil {
			return jinja.Undefined(), err
		}
		l := items.AsList().Items
		switch {
		case len(l) == 0:
			return jinja.Undefined(), nil
		case name == "first":
			return l[0], nil
		}
		return l[len(l)-1], nil
	case "float":
		a, err := filterArgs(name, args, kwargs, "default")
		if err != nil {
			return jinja.Undefined(), err
		}
		if v.IsUndefined() {
			return jinja.Undefined(), undefinedError(v)
		}
		if f, _, _, ok := number(v); ok {
			return jinja.NewFloat(f), nil
		}
		if v.IsString() {
			if f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimFunc(v.AsString(), pyIsSpace), "_", ""), 64); err == nil {
				return jinja.NewFloat(f), nil
			}
		}
		if d, ok := a["default"]; ok {
			return d, nil
		}
		return jinja.NewFloat(0), nil
	case "int":
		a, err := filterArgs(name, args, kwargs, "default", "base")
		if err != nil {
			return jinja.Undefined(), err
		}
		if v.IsUndefined() {
			return jinja.Undefined(), undefinedError(v)
		}
		def := jinja.NewInt(0)
		if d, ok := a["default"]; ok {
			def = d
		}
		if f, i, isInt, ok := number(v); ok {
			if isInt {
				return jinja.NewInt(i), nil
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return def, nil
			}
			return jinja.NewInt(int64(math.Trunc(f))), nil
		}
		if v.IsString() {
			s := strings.ReplaceAll(strings.TrimFunc(v.AsString(), pyIsSpace), "_", "")
			base := 10
			if b, ok := a["base"]; ok && b.IsInt() {
				base = int(b.AsInt())
			}
			if i, err := strconv.ParseInt(s, base, 64); err == nil {
				return jinja.NewInt(i), nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return jinja.NewInt(int64(math.Trunc(f))), nil
			}
		}
		return def, nil
	case "round":
		a, err := filterArgs(name, args, kwargs, "precision", "method")
		if err != nil {
			return jinja.Undefined(), err
		}
		prec := int64(0)
		if p, ok := a["precision"]; ok && p.IsInt() {
			prec = p.AsInt()
		}
		method := "common"
		if m, ok := a["method"]; ok {
			method = rt.pyStr(m)
		}
		f, i, isInt, ok := number(v)
		if !ok {
			return jinja.Undefined(), pyError("TypeError", "type %s doesn't define __round__ method", typeName(v))
		}
		scale := math.Pow(10, float64(prec))
		switch method {
		case "common":
			if isInt {
				return jinja.NewInt(i), nil
			}
			r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(max(prec, 0)), 64), 64)
			if prec < 0 {
				r = math.RoundToEven(f*scale) / scale
			}
			return jinja.NewFloat(r), nil
		case "ceil":
			return jinja.NewFloat(math.Ceil(f*scale) / scale), nil
		case "floor":
			return jinja.NewFloat(math.Floor(f*scale) / scale), nil
		}
		return jinja.Undefined(), pyError("FilterArgumentError", "method must be common, ceil or floor")
	case "wordcount":
		return jinja.NewInt(int64(len(wordRe.FindAllString(rt.pyStr(v), -1)))), nil
	case "selectattr", "rejectattr":
		if len(args) == 0 {
			return jinja.Undefined(), pyError("FilterArgumentError", "%s needs an attribute name", name)
		}
		if !rt.truthy(v) { // jinja2 skips a false sequence
			return listOf(nil), nil
		}
		items, err := rt.pyIter(v)
		if err != nil {
			return jinja.Undefined(), err
		}
		attr := rt.pyStr(args[0])
		return rt.selectItems(items, name == "selectattr", func(it jinja.Value) jinja.Value { return attrPath(it, attr) }, args[1:])
	case "default", "d":
		a, err := filterArgs(name, args, kwargs, "default_value", "boolean")
		if err != nil {
			return jinja.Undefined(), err
		}
		def, ok := a["default_value"]
		if !ok {
			def = jinja.NewString("")
		}
		if v.IsUndefined() || rt.truthy(a["boolean"]) && !rt.truthy(v) {
			return def, nil
		}
		return v, nil
	case "length", "count":
		n, err := rt.pyLen(v)
		return jinja.NewInt(int64(n)), err
	case "trim":
		a, err := filterArgs(name, args, kwargs, "chars")
		if err != nil {
			return jinja.Undefined(), err
		}
		if c, ok := a["chars"]; ok && !c.IsNone() {
			return jinja.NewString(strings.Trim(rt.pyStr(v), rt.pyStr(c))), nil
		}
		return jinja.NewString(strings.TrimFunc(rt.pyStr(v), pyIsSpace)), nil
	case "upper":
		return jinja.NewString(upperCaser.String(rt.pyStr(v))), nil
	case "lower":
		return jinja.NewString(lowerCaser.String(rt.pyStr(v))), nil
	case "capitalize":
		s := rt.pyStr(v)
		if s == "" {
			return v, nil
		}
		r, n := utf8.DecodeRuneInString(s)
		return jinja.NewString(string(unicode.ToTitle(r)) + lowerCaser.String(s[n:])), nil
	case "title":
		s := rt.pyStr(v)
		var b strings.Builder
		last := 0
		for _, m := range titleSplit.FindAllStringIndex(s, -1) {
			b.WriteString(titleWord(s[last:m[0]]))
			b.WriteString(s[m[0]:m[1]])
			last = m[1]
		}
		b.WriteString(titleWord(s[last:]))
		return jinja.NewString(b.String()), nil
	case "replace":
		a, err := filterArgs(name, args, kwargs, "old", "new", "count")
		if err != nil {
			return jinja.Undefined(), err
		}
		n := -1
		if c, ok := a["count"]; ok && c.IsInt() {
			n = int(c.AsInt())
		}
		return jinja.NewString(strings.Replace(rt.pyStr(v), rt.pyStr(a["old"]), rt.pyStr(a["new"]), n)), nil
	case "items":
		switch {
		case v.IsUndefined():
			return listOf(nil), nil
		case !v.IsDict():
			return jinja.Undefined(), pyError("TypeError", "Can only get item pairs from a mapping.")
		}
		var out []jinja.Value
		d := v.AsDict()
		for _, k := range d.Keys {
			val, _ := d.Get(k)
			out = append(out, rt.mark(jinja.NewList([]jinja.Value{jinja.NewString(k), val}), seqTuple))
		}
		return listOf(out), nil
	case "list":
		items, err := rt.pyIter(v)
		if err != nil {
			return jinja.Undefined(), err
		}
		return listOf(slices.Clone(items.AsList().Items)), nil
	case "abs":
		f, i, isInt, ok := number(v)
		switch {
		case !ok:
			return jinja.Undefined(), pyError("TypeError", "bad operand type for abs(): '%s'", typeName(v))
		case isInt:
			return jinja.NewInt(max(i, -i)), nil
		}
		return jinja.NewFloat(math.Abs(f)), nil
	case "center":
		a, err := filterArgs(name, args, kwargs, "width")
		if err != nil {
			return jinja.Undefined(), err
		}
		width, ok := a["width"]
		if !ok {
			width = jinja.NewInt(80)
		}
		return rt.strMethod(rt.pyStr(v), "center")([]jinja.Value{width}, nil)
	case "map":
		return rt.pyMap(v, args, kwargs)
	case "unique", "max", "min", "sum", "batch", "reverse", "select", "reject", "dictsort", "e", "escape":
		return rt.pySeqFilter(name, v, args, kwargs)
	case "indent":
		a, err := filterArgs(name, args, kwargs, "width", "first", "blank")
		if err != nil {
			return jinja.Undefined(), err
		}
		if !v.IsString() {
			// jinja2 3.1 appends "\n" to the value itself.
			return jinja.Undefined(), pyError("TypeError", "indent needs a string, not %s", typeName(v))
		}
		return jinja.NewString(rt.pyIndent(rt.pyStr(v), a)), nil
	case "format":
		if len(kwargs) > 0 {
			return jinja.Undefined(), fmt.Errorf("format with keyword arguments is not supported")
		}
		return rt.percentFormat(rt.pyStr(v), listOf(args))
	case "truncate":
		a, err := filterArgs(name, args, kwargs, "length", "killwords", "end", "leeway")
		if err != nil {
			return jinja.Undefined(), err
		}
		return rt.pyTruncate(rt.pyStr(v), a)
	case "sort":
		return rt.pySort(v, args, kwargs)
	}
	return jinja.Undefined(), fmt.Errorf("no filter named %q", name)
}

// pySeqFilter implements jinja2's unique, max, min, sum, batch, reverse,
// selectItems keeps the items whose value (get) passes the test named by
// testArgs[0] with the arguments after it — or, without testArgs, is true —
// when want is true, and those that fail it when want is false: select,
// reject, selectattr and rejectattr.
func (rt *pyRuntime) selectItems(items jinja.Value, want bool, get func(jinja.Value) jinja.Value, testArgs []jinja.Value) (jinja.Value, error) {
	var out []jinja.Value
	for _, it := range items.AsList().Items {
		x := get(it)
		keep := len(testArgs) == 0 && rt.truthy(x)
		if len(testArgs) > 0 {
			test := rt.pyStr(testArgs[0])
			if !knownTests[test] {
				return jinja.Undefined(), fmt.Errorf("no test named %q", test)
			}
			var err error
			if keep, err = rt.pyTest(test, x, testArgs[1:]); err != nil {
				return jinja.Undefined(), err
			}
		}
		if keep == want {
			out = append(out, it)
		}
	}
	return listOf(out), nil
}

// select, reject, dictsort and escape filters.
func (rt *pyRuntime) pySeqFilter(name string, v jinja.Value, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if name == "e" || name == "escape" {
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;")
		return jinja.NewString(r.Replace(rt.pyStr(v))), nil
	}
	if name == "select" || name == "reject" {
		if !rt.truthy(v) { // jinja2 skips a false sequence
			return listOf(nil), nil
		}
		items, err := rt.pyIter(v)
		if err != nil {
			return jinja.Undefined(), err
		}
		return rt.selectItems(items, name == "select", func(it jinja.Value) jinja.Value { return it }, args)
	}
	if name == "reverse" && v.IsString() {
		r := []rune(v.AsString())
		slices.Reverse(r)
		return jinja.NewString(string(r)), nil
	}
	params := map[string][]string{
		"unique": {"case_sensitive", "attribute"}, "max": {"case_sensitive", "attribute"},
		"min": {"case_sensitive", "attribute"}, "sum": {"attribute", "start"}, "batch": {"linecount", "fill_with"},
		"reverse": {}, "dictsort": {"case_sensitive", "by", "reverse"},
	}[name]
	a, err := filterArgs(name, args, kwargs, params...)
	if err != nil {
		return jinja.Undefined(), err
	}
	key := func(x jinja.Value) jinja.Value {
		if attr, ok := a["attribute"]; ok {
			x = attrPath(x, rt.pyStr(attr))
		}
		if x.IsString() && !rt.truthy(a["case_sensitive"]) {
			x = jinja.NewString(lowerCaser.String(x.AsString()))
		}
		return x
	}
	if name == "dictsort" {
		if !v.IsDict() {
			return jinja.Undefined(), pyError("FilterArgumentError", "dictsort needs a mapping")
		}
		by := 0
		if b, ok := a["by"]; ok {
			switch rt.pyStr(b) {
			case "key":
			case "value":
				by = 1
			default:
				return jinja.Undefined(), pyError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"")
			}
		}
		items, _ := rt.pyFilter("items", v, nil, nil)
		pairs := slices.Clone(items.AsList().Items)
		var sortErr error
		slices.SortStableFunc(pairs, func(x, y jinja.Value) int {
			c, err := rt.pyOrder("<", key(x.AsList().Items[by]), key(y.AsList().Items[by]))
			if err != nil && sortErr == nil {
				sortErr = err
			}
			if rt.truthy(a["reverse"]) {
				return -c
			}
			return c
		})
		return listOf(pairs), sortErr
	}
	items, err := rt.pyIter(v)
	if err != nil {
		return jinja.Undefined(), err
	}
	list := items.AsList().Items
	switch name {
	case "reverse":
		out := slices.Clone(list)
		slices.Reverse(out)
		return listOf(out), nil
	case "unique":
		var out, seen []jinja.Value
		for _, it := range list {
			k := key(it)
			if !slices.ContainsFunc(seen, func(s jinja.Value) bool { return rt.pyEqual(s, k) }) {
				seen = append(seen, k)
				out = append(out, it)
			}
		}
		return listOf(out), nil
	case "max", "min":
		if len(list) == 0 {
			return jinja.Undefined(), nil
		}
		best := list[0]
		for _, it := range list[1:] {
			c, err := rt.pyOrder("<", key(it), key(best))
			if err != nil {
				return jinja.Undefined(), err
			}
			if name == "min" && c < 0 || name == "max" && c > 0 {
				best = it
			}
		}
		return best, nil
	case "sum":
		total, ok := a["start"]
		if !ok {
			total = jinja.NewInt(0)
		}
		for _, it := range list {
			if attr, ok := a["attribute"]; ok {
				it = attrPath(it, rt.pyStr(attr))
			}
			if total, err = rt.binaryOp("+", total, it); err != nil {
				return jinja.Undefined(), err
			}
		}
		return total, nil
	}
	// batch
	_, n, isInt, ok := number(a["linecount"])
	if !ok || !isInt || n <= 0 {
		return jinja.Undefined(), pyError("FilterArgumentError", "batch needs a positive line count")
	}
	var out []jinja.Value
	for i := 0; i < len(list); i += int(n) {
		chunk := slices.Clone(list[i:min(i+int(n), len(list))])
		if fill, ok := a["fill_with"]; ok && !fill.IsNone() {
			for len(chunk) < int(n) {
				chunk = append(chunk, fill)
			}
		}
		out = append(out, jinja.NewList(chunk))
	}
	return listOf(out), nil
}

// pyIndent is jinja2's indent filter.
func (rt *pyRuntime) pyIndent(s string, a map[string]jinja.Value) string {
	indent := "    "
	if w, ok := a["width"]; ok {
		if w.IsString() {
			indent = w.AsString()
		} else if _, n, isInt, ok := number(w); ok && isInt {
			indent = strings.Repeat(" ", int(max(min(n, maxRepeat), 0)))
		}
	}
	lines := strings.Split(normalizeNewlines(s+"\n"), "\n")
	var out string
	if rt.truthy(a["blank"]) {
		out = strings.Join(lines, "\n"+indent)
	} else {
		out = lines[0]
		if len(lines) > 1 {
			rest := make([]string, len(lines)-1)
			for i, l := range lines[1:] {
				if l != "" {
					l = indent + l
				}
				rest[i] = l
			}
			out += "\n" + strings.Join(rest, "\n")
		}
	}
	if rt.truthy(a["first"]) {
		out = indent + out
	}
	return out
}

// pyTruncate is jinja2's truncate filter (leeway 5 by default).
func (rt *pyRuntime) pyTruncate(s string, a map[string]jinja.Value) (jinja.Value, error) {
	length, leeway, end := 255, 5, "..."
	if v, ok := a["length"]; ok {
		_, n, isInt, ok := number(v)
		if !ok || !isInt {
			return jinja.Undefined(), pyError("TypeError", "truncate length must be an integer")
		}
		length = int(n)
	}
	if v, ok := a["leeway"]; ok && !v.IsNone() {
		_, n, isInt, ok := number(v)
		if !ok || !isInt || n < 0 {
			return jinja.Undefined(), pyError("AssertionError", "leeway must be a non-negative integer")
		}
		leeway = int(n)
	}
	if v, ok := a["end"]; ok {
		end = rt.pyStr(v)
	}
	r := []rune(s)
	if length < utf8.RuneCountInString(end) {
		return jinja.Undefined(), pyError("AssertionError", "expected length >= %d, got %d", utf8.RuneCountInString(end), length)
	}
	if len(r) <= length+leeway {
		return jinja.NewString(s), nil
	}
	head := string(r[:length-utf8.RuneCountInString(end)])
	if rt.truthy(a["killwords"]) {
		return jinja.NewString(head + end), nil
	}
	if i := strings.LastIndex(head, " "); i >= 0 {
		head = head[:i]
	}
	return jinja.NewString(head + end), nil
}

// pyMap is jinja2's map filter: map(attribute=…, default=…) or
// map('filter', args…) with one of our own filters.
func (rt *pyRuntime) pyMap(v jinja.Value, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if !rt.truthy(v) { // jinja2 skips a false sequence
		return listOf(nil), nil
	}
	items, err := rt.pyIter(v)
	if err != nil {
		return jinja.Undefined(), err
	}
	var out []jinja.Value
	if attr, ok := kwargs["attribute"]; ok {
		if len(args) > 0 {
			return jinja.Undefined(), pyError("FilterArgumentError", "map: attribute= takes no positional arguments")
		}
		def, hasDef := kwargs["default"]
		for _, it := range items.AsList().Items {
			x := attrPath(it, rt.pyStr(attr))
			if x.IsUndefined() && hasDef {
				x = def
			}
			out = append(out, x)
		}
		return listOf(out), nil
	}
	if len(args) == 0 || !args[0].IsString() {
		return jinja.Undefined(), pyError("FilterArgumentError", "map needs a filter name or attribute=")
	}
	name := args[0].AsString()
	if !ownFilters[name] {
		return jinja.Undefined(), fmt.Errorf("map with the filter %q is not supported", name)
	}
	for _, it := range items.AsList().Items {
		x, err := rt.pyFilter(name, it, args[1:], kwargs)
		if err != nil {
			return jinja.Undefined(), err
		}
		out = append(out, x)
	}
	return listOf(out), nil
}

// pySort is jinja2's sort filter: stable, case-insensitive unless told.
func (rt *pyRuntime) pySort(v jinja.Value, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	a, err := filterArgs("sort", args, kwargs, "reverse", "case_sensitive", "attribute")
	if err != nil {
		return jinja.Undefined(), err
	}
	items, err := rt.pyIter(v)
	if err != nil {
		return jinja.Undefined(), err
	}
	key := func(x jinja.Value) jinja.Value {
		if attr, ok := a["attribute"]; ok {
			x = attrPath(x, rt.pyStr(attr))
		}
		if x.IsString() && !rt.truthy(a["case_sensitive"]) {
			x = jinja.NewString(lowerCaser.String(x.AsString()))
		}
		return x
	}
	out := slices.Clone(items.AsList().Items)
	var sortErr error
	slices.SortStableFunc(out, func(x, y jinja.Value) int {
		c, err := rt.pyOrder("<", key(x), key(y))
		if err != nil && sortErr == nil {
			sortErr = err
		}
		if rt.truthy(a["reverse"]) {
			return -c
		}
		return c
	})
	return listOf(out), sortErr
}

func titleWord(w string) string {
	if w == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(w)
	return string(unicode.ToTitle(r)) + lowerCaser.String(w[n:])
}

// pyJSON is json.dumps as transformers' tojson filter calls it
// (ensure_ascii defaults to False there).
func (rt *pyRuntime) pyJSON(v jinja.Value, a map[string]jinja.Value) (string, error) {
	ascii := rt.truthy(a["ensure_ascii"])
	indent, hasIndent := "", false
	if in, ok := a["indent"]; ok && !in.IsNone() && !in.IsUndefined() {
		hasIndent = true
		switch {
		case in.IsInt():
			indent = strings.Repeat(" ", int(max(in.AsInt(), 0)))
		case in.IsString():
			indent = in.AsString()
		default:
			return "", pyError("TypeError", "indent must be an int or a string")
		}
	}
	itemSep, keySep := ", ", ": "
	if hasIndent {
		itemSep = ","
	}
	if s, ok := a["separators"]; ok && !s.IsNone() && !s.IsUndefined() {
		if !s.IsList() || s.AsList().Len() != 2 || !s.AsList().Items[0].IsString() || !s.AsList().Items[1].IsString() {
			return "", pyError("ValueError", "separators must be a pair of strings")
		}
		itemSep, keySep = s.AsList().Items[0].AsString(), s.AsList().Items[1].AsString()
	}
	e := jsonEncoder{rt: rt, ascii: ascii, indent: indent, hasIndent: hasIndent, itemSep: itemSep, keySep: keySep, sortKeys: rt.truthy(a["sort_keys"])}
	if err := e.encode(v, 0); err != nil {
		return "", err
	}
	return e.b.String(), nil
}

type jsonEncoder struct {
	rt                         *pyRuntime
	b                          strings.Builder
	ascii, hasIndent, sortKeys bool
	indent, itemSep, keySep    string
}

func (e *jsonEncoder) newline(level int) {
	if e.hasIndent {
		e.b.WriteByte('\n')
		e.b.WriteString(strings.Repeat(e.indent, level))
	}
}

func (e *jsonEncoder) encode(v jinja.Value, level int) error {
	if level > 512 {
		return pyError("RecursionError", "maximum recursion depth exceeded while encoding a JSON object")
	}
	switch {
	case v.IsNone():
		e.b.WriteString("null")
	case v.IsBool():
		e.b.WriteString(map[bool]string{true: "true", false: "false"}[v.AsBool()])
	case v.IsInt():
		e.b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			e.b.WriteString("NaN")
		case math.IsInf(f, 1):
			e.b.WriteString("Infinity")
		case math.IsInf(f, -1):
			e.b.WriteString("-Infinity")
		default:
			e.b.WriteString(pyFloatRepr(f))
		}
	case v.IsString():
		e.str(v.AsString())
	case v.IsList() && e.rt.kind(v) != seqList && e.rt.kind(v) != seqTuple:
		return pyError("TypeError", "Object of type %s is not JSON serializable", map[seqKind]string{seqGenerator: "generator", seqDictItems: "dict_items", seqDictKeys: "dict_keys", seqDictValues: "dict_values"}[e.rt.kind(v)])
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			if err := e.encode(it, level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := slices.Clone(d.Keys)
		if len(keys) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		if e.sortKeys {
			slices.Sort(keys)
		}
		e.b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			e.str(k)
			e.b.WriteString(e.keySep)
			val, _ := d.Get(k)
			if err := e.encode(val, level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte('}')
	default:
		return pyError("TypeError", "Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func (e *jsonEncoder) str(s string) {
	b := &e.b
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || e.ascii && r >= 0x7f:
			if r >= 0x10000 {
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
