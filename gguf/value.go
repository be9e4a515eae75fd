package gguf

import (
	"fmt"
	"math"
	"strings"
)

// Value is one metadata value: a scalar, a string or an array. Arrays of
// scalars and strings hold a Go slice of the element type ([]uint8, []int32,
// []float32, []bool, []string, …); arrays of arrays hold []Value.
type Value struct {
	typ  ValueType
	elem ValueType // element type of an array
	v    any
}

// ValueOf wraps a Go value: uint8, int8, uint16, int16, uint32, int32,
// float32, bool, string, uint64, int64, float64, a slice of one of those,
// or []Value (an array of arrays, each of which must be an array).
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case uint8:
		return Value{typ: Uint8, v: x}, nil
	case int8:
		return Value{typ: Int8, v: x}, nil
	case uint16:
		return Value{typ: Uint16, v: x}, nil
	case int16:
		return Value{typ: Int16, v: x}, nil
	case uint32:
		return Value{typ: Uint32, v: x}, nil
	case int32:
		return Value{typ: Int32, v: x}, nil
	case float32:
		return Value{typ: Float32, v: x}, nil
	case bool:
		return Value{typ: Bool, v: x}, nil
	case string:
		return Value{typ: String, v: x}, nil
	case uint64:
		return Value{typ: Uint64, v: x}, nil
	case int64:
		return Value{typ: Int64, v: x}, nil
	case float64:
		return Value{typ: Float64, v: x}, nil
	case []uint8:
		return Value{typ: Array, elem: Uint8, v: x}, nil
	case []int8:
		return Value{typ: Array, elem: Int8, v: x}, nil
	case []uint16:
		return Value{typ: Array, elem: Uint16, v: x}, nil
	case []int16:
		return Value{typ: Array, elem: Int16, v: x}, nil
	case []uint32:
		return Value{typ: Array, elem: Uint32, v: x}, nil
	case []int32:
		return Value{typ: Array, elem: Int32, v: x}, nil
	case []float32:
		return Value{typ: Array, elem: Float32, v: x}, nil
	case []bool:
		return Value{typ: Array, elem: Bool, v: x}, nil
	case []string:
		return Value{typ: Array, elem: String, v: x}, nil
	case []uint64:
		return Value{typ: Array, elem: Uint64, v: x}, nil
	case []int64:
		return Value{typ: Array, elem: Int64, v: x}, nil
	case []float64:
		return Value{typ: Array, elem: Float64, v: x}, nil
	case []Value:
		for i, e := range x {
			if e.typ != Array {
				return Value{}, fmt.Errorf("gguf: nested array element %d is a %v, not an array", i, e.typ)
			}
		}
		return Value{typ: Array, elem: Array, v: x}, nil
	}
	return Value{}, fmt.Errorf("gguf: no metadata type for %T", x)
}

// MustValue is ValueOf for values known to be valid; it panics otherwise.
func MustValue(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

// Type is the value's type tag.
func (v Value) Type() ValueType { return v.typ }

// ElemType is the element type of an array value.
func (v Value) ElemType() ValueType { return v.elem }

// Any returns the Go value (see Value).
func (v Value) Any() any { return v.v }

// Len is the number of elements of an array (0 for other values).
func (v Value) Len() int {
	switch x := v.v.(type) {
	case []uint8:
		return len(x)
	case []int8:
		return len(x)
	case []uint16:
		return len(x)
	case []int16:
		return len(x)
	case []uint32:
		return len(x)
	case []int32:
		return len(x)
	case []float32:
		return len(x)
	case []bool:
		return len(x)
	case []string:
		return len(x)
	case []uint64:
		return len(x)
	case []int64:
		return len(x)
	case []float64:
		return len(x)
	case []Value:
		return len(x)
	}
	return 0
}

// Int returns an integer scalar of any width; false for other types and
// for uint64 values above math.MaxInt64.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns a float scalar, or an integer one converted; false
// otherwise.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a bool scalar.
func (v Value) Bool() (bool, bool) {
	b, ok := v.v.(bool)
	return b, ok
}

// Str returns a string scalar.
func (v Value) Str() (string, bool) {
	s, ok := v.v.(string)
	return s, ok
}

// Strings returns an array of strings.
func (v Value) Strings() ([]string, bool) {
	s, ok := v.v.([]string)
	return s, ok
}

// Ints returns an array of integers of any width as int64; false for
// other arrays or a uint64 element above math.MaxInt64.
func (v Value) Ints() ([]int64, bool) {
	if v.typ != Array {
		return nil, false
	}
	n := v.Len()
	out := make([]int64, n)
	for i := range n {
		e, ok := v.Index(i).Int()
		if !ok {
			return nil, false
		}
		out[i] = e
	}
	return out, true
}

// Floats returns an array of floats (or integers) as float64.
func (v Value) Floats() ([]float64, bool) {
	if v.typ != Array {
		return nil, false
	}
	n := v.Len()
	out := make([]float64, n)
	for i := range n {
		e, ok := v.Index(i).Float()
		if !ok {
			return nil, false
		}
		out[i] = e
	}
	return out, true
}

// Index returns element i of an array as a Value; the zero Value when v is
// not an array or i is out of range.
func (v Value) Index(i int) Value {
	if i < 0 || i >= v.Len() {
		return Value{}
	}
	switch x := v.v.(type) {
	case []uint8:
		return Value{typ: Uint8, v: x[i]}
	case []int8:
		return Value{typ: Int8, v: x[i]}
	case []uint16:
		return Value{typ: Uint16, v: x[i]}
	case []int16:
		return Value{typ: Int16, v: x[i]}
	case []uint32:
		return Value{typ: Uint32, v: x[i]}
	case []int32:
		return Value{typ: Int32, v: x[i]}
	case []float32:
		return Value{typ: Float32, v: x[i]}
	case []bool:
		return Value{typ: Bool, v: x[i]}
	case []string:
		return Value{typ: String, v: x[i]}
	case []uint64:
		return Value{typ: Uint64, v: x[i]}
	case []int64:
		return Value{typ: Int64, v: x[i]}
	case []float64:
		return Value{typ: Float64, v: x[i]}
	case []Value:
		return x[i]
	}
	return Value{}
}

// String formats the value for display; long arrays are abbreviated.
func (v Value) String() string {
	if v.typ != Array {
		if s, ok := v.v.(string); ok {
			if len(s) > 80 {
				return fmt.Sprintf("%q… (%d bytes)", s[:80], len(s))
			}
			return fmt.Sprintf("%q", s)
		}
		return fmt.Sprint(v.v)
	}
	n := v.Len()
	var sb strings.Builder
	fmt.Fprintf(&sb, "[%v × %d]", v.elem, n)
	if n > 0 {
		sb.WriteString(" [")
		for i := range min(n, 8) {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(v.Index(i).String())
		}
		if n > 8 {
			sb.WriteString(", …")
		}
		sb.WriteString("]")
	}
	return sb.String()
}
