package chat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Attribute and item access with jinja2's rules: obj.name looks for a
// Python attribute (a method of str, dict or list) first and then for the
// item; obj[key] the other way round; what is found nowhere is Undefined,
// except on Undefined itself, which raises. Methods that would change a
// value raise SecurityError, as in transformers' immutable sandbox.

type method func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error)

var unsafeMethods = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "reverse": true,
	"sort": true, "clear": true, "update": true, "popitem": true, "setdefault": true,
}

func (rt *pyRuntime) pyGetattr(obj jinja.Value, name string) (jinja.Value, error) {
	if obj.IsUndefined() {
		return jinja.Undefined(), pyError("UndefinedError", "cannot read attribute %q of an undefined value", name)
	}
	if m := rt.boundMethod(obj, name); m != nil {
		return jinja.NewCallable(name, m), nil
	}
	if _, i, isInt, ok := number(obj); ok && (name == "real" || name == "imag") {
		switch {
		case name == "imag" && isInt:
			return jinja.NewInt(0), nil
		case name == "imag":
			return jinja.NewFloat(0), nil
		case isInt:
			return jinja.NewInt(i), nil
		}
		return obj, nil
	}
	if obj.IsDict() {
		if v, ok := obj.AsDict().Get(name); ok {
			return v, nil
		}
	}
	return jinja.Undefined(), nil
}

func (rt *pyRuntime) pyGetitem(obj, key jinja.Value) (jinja.Value, error) {
	switch {
	case obj.IsUndefined():
		return jinja.Undefined(), pyError("UndefinedError", "cannot index an undefined value")
	case obj.IsDict():
		if key.IsString() {
			if v, ok := obj.AsDict().Get(key.AsString()); ok {
				return v, nil
			}
		}
	case obj.IsList() && rt.kind(obj) != seqList && rt.kind(obj) != seqTuple:
		return jinja.Undefined(), nil // generators and views cannot be indexed
	case obj.IsList() || obj.IsString():
		if _, i, isInt, ok := number(key); ok && isInt {
			if obj.IsList() {
				items := obj.AsList().Items
				if i < 0 {
					i += int64(len(items))
				}
				if i >= 0 && i < int64(len(items)) {
					return items[i], nil
				}
				return jinja.Undefined(), nil
			}
			runes := []rune(obj.AsString())
			if i < 0 {
				i += int64(len(runes))
			}
			if i >= 0 && i < int64(len(runes)) {
				return jinja.NewString(string(runes[i])), nil
			}
			return jinja.Undefined(), nil
		}
	}
	if key.IsString() {
		if m := rt.boundMethod(obj, key.AsString()); m != nil {
			return jinja.NewCallable(key.AsString(), m), nil
		}
	}
	return jinja.Undefined(), nil
}

// boundMethod returns the Python method name of obj, or nil.
func (rt *pyRuntime) boundMethod(obj jinja.Value, name string) method {
	if (obj.IsList() || obj.IsDict()) && unsafeMethods[name] {
		return func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			return jinja.Undefined(), pyError("SecurityError", "access to attribute '%s' of '%s' object is unsafe.", name, typeName(obj))
		}
	}
	switch {
	case obj.IsString():
		return rt.strMethod(obj.AsString(), name)
	case obj.IsDict():
		return rt.dictMethod(obj, name)
	case obj.IsList():
		return rt.listMethod(obj, name)
	}
	return nil
}

func (rt *pyRuntime) dictMethod(obj jinja.Value, name string) method {
	d := obj.AsDict()
	switch name {
	case "items", "keys", "values":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args)+len(kwargs) > 0 {
				return jinja.Undefined(), pyError("TypeError", "dict.%s() takes no arguments", name)
			}
			out := make([]jinja.Value, 0, d.Len())
			for _, k := range d.Keys {
				v, _ := d.Get(k)
				switch name {
				case "items":
					out = append(out, rt.mark(jinja.NewList([]jinja.Value{jinja.NewString(k), v}), seqTuple))
				case "keys":
					out = append(out, jinja.NewString(k))
				default:
					out = append(out, v)
				}
			}
			view := map[string]seqKind{"items": seqDictItems, "keys": seqDictKeys, "values": seqDictValues}[name]
			return rt.mark(jinja.NewList(out), view), nil
		}
	case "get":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) < 1 || len(args) > 2 || len(kwargs) > 0 {
				return jinja.Undefined(), pyError("TypeError", "get expected 1 or 2 arguments")
			}
			if args[0].IsString() {
				if v, ok := d.Get(args[0].AsString()); ok {
					return v, nil
				}
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return jinja.None(), nil
		}
	case "copy":
		return func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			c := jinja.NewDict()
			for _, k := range d.Keys {
				v, _ := d.Get(k)
				c.AsDict().Set(k, v)
			}
			return c, nil
		}
	}
	return nil
}

func (rt *pyRuntime) listMethod(obj jinja.Value, name string) method {
	items := obj.AsList().Items
	switch name {
	case "index", "count":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || len(kwargs) > 0 {
				return jinja.Undefined(), pyError("TypeError", "list.%s() takes one argument", name)
			}
			n := 0
			for i, it := range items {
				if rt.pyEqual(it, args[0]) {
					if name == "index" {
						return jinja.NewInt(int64(i)), nil
					}
					n++
				}
			}
			if name == "index" {
				return jinja.Undefined(), pyError("ValueError", "%s is not in list", rt.pyRepr(args[0]))
			}
			return jinja.NewInt(int64(n)), nil
		}
	case "copy":
		return func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error) {
			return jinja.NewList(slices.Clone(items)), nil
		}
	}
	return nil
}

// strArgs checks a string method's arguments: between min and max
// positional ones, each a string or None where stringOrNone says so.
func strArgs(name string, args []jinja.Value, kwargs map[string]jinja.Value, lo, hi int) error {
	if len(kwargs) > 0 {
		return fmt.Errorf("str.%s: keyword arguments are not supported", name)
	}
	if len(args) < lo || len(args) > hi {
		return pyError("TypeError", "str.%s() takes %d to %d arguments (%d given)", name, lo, hi, len(args))
	}
	return nil
}

func wantStr(name string, v jinja.Value) (string, error) {
	if !v.IsString() {
		return "", pyError("TypeError", "str.%s: must be str, not %s", name, typeName(v))
	}
	return v.AsString(), nil
}

func wantInt(name string, v jinja.Value) (int, error) {
	_, i, isInt, ok := number(v)
	if !ok || !isInt {
		return 0, pyError("TypeError", "str.%s: an integer is required, not %s", name, typeName(v))
	}
	return int(i), nil
}

func strList(parts []string) jinja.Value {
	out := make([]jinja.Value, len(parts))
	for i, p := range parts {
		out[i] = jinja.NewString(p)
	}
	return jinja.NewList(out)
}

// pySplit is str.split / str.rsplit.
func pySplit(s string, sep *string, maxsplit int, fromRight bool) []string {
	if sep == nil {
		fields := strings.FieldsFunc(s, pyIsSpace)
		if maxsplit < 0 || len(fields) <= maxsplit+1 {
			return fields
		}
		// Split off maxsplit words, keep the rest (trimmed on its outer side).
		if fromRight {
			rest := strings.TrimRightFunc(s, pyIsSpace)
			var tail []string
			for range maxsplit {
				i := strings.LastIndexFunc(rest, pyIsSpace)
				tail = append([]string{rest[i+1:]}, tail...)
				rest = strings.TrimRightFunc(rest[:i+1], pyIsSpace)
			}
			return append([]string{rest}, tail...)
		}
		rest := strings.TrimLeftFunc(s, pyIsSpace)
		var head []string
		for range maxsplit {
			i := strings.IndexFunc(rest, pyIsSpace)
			head = append(head, rest[:i])
			rest = strings.TrimLeftFunc(rest[i:], pyIsSpace)
		}
		return append(head, rest)
	}
	if maxsplit < 0 {
		return strings.Split(s, *sep)
	}
	if !fromRight {
		return strings.SplitN(s, *sep, maxsplit+1)
	}
	var tail []string
	rest := s
	for range maxsplit {
		i := strings.LastIndex(rest, *sep)
		if i < 0 {
			break
		}
		tail = append([]string{rest[i+len(*sep):]}, tail...)
		rest = rest[:i]
	}
	return append([]string{rest}, tail...)
}

func pyStripChars(s string, chars jinja.Value, left, right bool) (string, error) {
	cut := pyIsSpace
	if !chars.IsUndefined() && !chars.IsNone() {
		c, err := wantStr("strip", chars)
		if err != nil {
			return "", err
		}
		cut = func(r rune) bool { return strings.ContainsRune(c, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, cut)
	}
	if right {
		s = strings.TrimRightFunc(s, cut)
	}
	return s, nil
}

func (rt *pyRuntime) strMethod(s, name string) method {
	opt := func(args []jinja.Value, i int) jinja.Value {
		if i < len(args) {
			return args[i]
		}
		return jinja.Undefined()
	}
	str := func(v string) (jinja.Value, error) { return jinja.NewString(v), nil }
	switch name {
	case "strip", "lstrip", "rstrip":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 0, 1); err != nil {
				return jinja.Undefined(), err
			}
			r, err := pyStripChars(s, opt(args, 0), name != "rstrip", name != "lstrip")
			return jinja.NewString(r), err
		}
	case "split", "rsplit":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if v, ok := kwargs["sep"]; ok {
				args = append([]jinja.Value{v}, args...)
				delete(kwargs, "sep")
			}
			if v, ok := kwargs["maxsplit"]; ok {
				if len(args) == 0 {
					args = append(args, jinja.None())
				}
				args = append(args, v)
				delete(kwargs, "maxsplit")
			}
			if err := strArgs(name, args, kwargs, 0, 2); err != nil {
				return jinja.Undefined(), err
			}
			var sep *string
			if a := opt(args, 0); !a.IsUndefined() && !a.IsNone() {
				x, err := wantStr(name, a)
				if err != nil {
					return jinja.Undefined(), err
				}
				if x == "" {
					return jinja.Undefined(), pyError("ValueError", "empty separator")
				}
				sep = &x
			}
			maxsplit := -1
			if a := opt(args, 1); !a.IsUndefined() {
				var err error
				if maxsplit, err = wantInt(name, a); err != nil {
					return jinja.Undefined(), err
				}
			}
			return strList(pySplit(s, sep, maxsplit, name == "rsplit")), nil
		}
	case "splitlines":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 0, 0); err != nil {
				return jinja.Undefined(), err
			}
			lines := strings.Split(normalizeNewlines(s+"\n"), "\n")
			if s == "" {
				lines = nil
			}
			return strList(lines), nil
		}
	case "startswith", "endswith":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 1, 1); err != nil {
				return jinja.Undefined(), err
			}
			cands := []jinja.Value{args[0]}
			if args[0].IsList() {
				cands = args[0].AsList().Items
			}
			for _, c := range cands {
				x, err := wantStr(name, c)
				if err != nil {
					return jinja.Undefined(), err
				}
				if name == "startswith" && strings.HasPrefix(s, x) || name == "endswith" && strings.HasSuffix(s, x) {
					return jinja.NewBool(true), nil
				}
			}
			return jinja.NewBool(false), nil
		}
	case "upper", "lower", "title", "capitalize", "swapcase":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 0, 0); err != nil {
				return jinja.Undefined(), err
			}
			switch name {
			case "upper":
				return str(upperCaser.String(s))
			case "lower":
				return str(lowerCaser.String(s))
			case "swapcase":
				return str(strings.Map(func(r rune) rune {
					if unicode.IsUpper(r) {
						return unicode.ToLower(r)
					}
					return unicode.ToUpper(r)
				}, s))
			case "capitalize":
				return rt.pyFilter("capitalize", jinja.NewString(s), nil, nil)
			}
			var b strings.Builder
			prevCased := false
			for _, r := range s {
				cased := unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
				switch {
				case !prevCased && cased:
					b.WriteRune(unicode.ToTitle(r))
				case cased:
					b.WriteRune(unicode.ToLower(r))
				default:
					b.WriteRune(r)
				}
				prevCased = cased
			}
			return str(b.String())
		}
	case "replace":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 2, 3); err != nil {
				return jinja.Undefined(), err
			}
			old, err := wantStr(name, args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			repl, err := wantStr(name, args[1])
			if err != nil {
				return jinja.Undefined(), err
			}
			n := -1
			if a := opt(args, 2); !a.IsUndefined() {
				if n, err = wantInt(name, a); err != nil {
					return jinja.Undefined(), err
				}
			}
			return str(strings.Replace(s, old, repl, n))
		}
	case "find", "rfind", "index", "rindex", "count":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 1, 1); err != nil {
				return jinja.Undefined(), err
			}
			sub, err := wantStr(name, args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			var i int
			switch name {
			case "count":
				if sub == "" {
					return jinja.NewInt(int64(utf8.RuneCountInString(s) + 1)), nil
				}
				return jinja.NewInt(int64(strings.Count(s, sub))), nil
			case "find", "index":
				i = strings.Index(s, sub)
			default:
				i = strings.LastIndex(s, sub)
			}
			if i < 0 {
				if name == "index" || name == "rindex" {
					return jinja.Undefined(), pyError("ValueError", "substring not found")
				}
				return jinja.NewInt(-1), nil
			}
			return jinja.NewInt(int64(utf8.RuneCountInString(s[:i]))), nil
		}
	case "join":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 1, 1); err != nil {
				return jinja.Undefined(), err
			}
			items, err := rt.pyIter(args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			parts := make([]string, 0, items.AsList().Len())
			for i, it := range items.AsList().Items {
				if !it.IsString() {
					return jinja.Undefined(), pyError("TypeError", "sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts = append(parts, it.AsString())
			}
			return str(strings.Join(parts, s))
		}
	case "format":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			return rt.pyFormat(s, args, kwargs)
		}
	case "isalpha", "isdigit", "isalnum", "isspace", "isdecimal", "isnumeric", "isupper", "islower":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 0, 0); err != nil {
				return jinja.Undefined(), err
			}
			switch name {
			case "isupper":
				return jinja.NewBool(pyStrPred(s, unicode.IsLower, unicode.IsUpper)), nil
			case "islower":
				return jinja.NewBool(pyStrPred(s, unicode.IsUpper, unicode.IsLower)), nil
			}
			pred := map[string]func(rune) bool{
				"isalpha": unicode.IsLetter, "isdigit": unicode.IsDigit, "isdecimal": unicode.IsDigit,
				"isnumeric": unicode.IsNumber, "isspace": pyIsSpace,
				"isalnum": func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) },
			}[name]
			return jinja.NewBool(s != "" && strings.IndexFunc(s, func(r rune) bool { return !pred(r) }) < 0), nil
		}
	case "center", "ljust", "rjust", "zfill":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			hi := 2
			if name == "zfill" {
				hi = 1
			}
			if err := strArgs(name, args, kwargs, 1, hi); err != nil {
				return jinja.Undefined(), err
			}
			width, err := wantInt(name, args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			fill := " "
			if a := opt(args, 1); !a.IsUndefined() {
				if fill, err = wantStr(name, a); err != nil || utf8.RuneCountInString(fill) != 1 {
					return jinja.Undefined(), pyError("TypeError", "the fill character must be exactly one character long")
				}
			}
			n := utf8.RuneCountInString(s)
			pad := max(width-n, 0)
			if pad > maxRepeat {
				return jinja.Undefined(), pyError("MemoryError", "padding is too long")
			}
			switch name {
			case "ljust":
				return str(s + strings.Repeat(fill, pad))
			case "rjust":
				return str(strings.Repeat(fill, pad) + s)
			case "zfill":
				sign := ""
				if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
					sign, s = s[:1], s[1:]
				}
				return str(sign + strings.Repeat("0", pad) + s)
			}
			left := pad / 2
			if pad%2 == 1 && width%2 == 1 {
				left++
			}
			return str(strings.Repeat(fill, left) + s + strings.Repeat(fill, pad-left))
		}
	case "removeprefix", "removesuffix":
		return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if err := strArgs(name, args, kwargs, 1, 1); err != nil {
				return jinja.Undefined(), err
			}
			x, err := wantStr(name, args[0])
			if err != nil {
				return jinja.Undefined(), err
			}
			if name == "removeprefix" {
				return str(strings.TrimPrefix(s, x))
			}
			return str(strings.TrimSuffix(s, x))
		}
	}
	return nil
}

// pyFormat is str.format for {}, {0} and {name} fields without format
// specs.
func (rt *pyRuntime) pyFormat(f string, args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				return jinja.Undefined(), pyError("ValueError", "Single '{' encountered in format string")
			}
			field := f[i+1 : i+j]
			if strings.ContainsAny(field, ":!.[") {
				return jinja.Undefined(), fmt.Errorf("str.format: field {%s} is not supported", field)
			}
			var v jinja.Value
			switch n, err := strconv.Atoi(field); {
			case field == "":
				if auto >= len(args) {
					return jinja.Undefined(), pyError("IndexError", "Replacement index %d out of range for positional args tuple", auto)
				}
				v = args[auto]
				auto++
			case err == nil:
				if n >= len(args) {
					return jinja.Undefined(), pyError("IndexError", "Replacement index %d out of range for positional args tuple", n)
				}
				v = args[n]
			default:
				x, ok := kwargs[field]
				if !ok {
					return jinja.Undefined(), pyError("KeyError", "%s", pyStrRepr(field))
				}
				v = x
			}
			b.WriteString(rt.pyStr(v))
			i += j
		case c == '}':
			return jinja.Undefined(), pyError("ValueError", "Single '}' encountered in format string")
		default:
			b.WriteByte(c)
		}
	}
	return jinja.NewString(b.String()), nil
}
