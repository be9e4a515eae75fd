// Package jsonobj edits JSON objects while keeping their keys in order and
// every value's bytes as they were (chat templates see key order, and
// tojson prints it).
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Field is one key of an object and its value as written.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Object is a JSON object's fields in order.
type Object []Field

// ErrNotObject is returned by Decode for JSON that is not an object.
var ErrNotObject = errors.New("want a JSON object")

// Decode reads a JSON object (and nothing after it).
func Decode(raw []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var obj Object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		obj = append(obj, Field{Key: tok.(string), Value: val})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return obj, nil
}

// Get returns the value of key, or nil.
func (o Object) Get(key string) json.RawMessage {
	for _, f := range o {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// Encode writes the object back.
func (o Object) Encode() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// List returns the items of a JSON list, or ok=false for anything else.
func List(raw json.RawMessage) (items []json.RawMessage, ok bool, err error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, true, err
	}
	return items, true, nil
}

// EncodeList writes a JSON list of the items as written.
func EncodeList(items []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}
