package jsonobj

import (
	"encoding/json"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := `{"z": 1, "a": {"y": [1, 2.0, null]}, "m": "é"}`
	o, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(o) != 3 || o[0].Key != "z" || string(o.Get("a")) != `{"y": [1, 2.0, null]}` || o.Get("nope") != nil {
		t.Fatalf("decoded %+v", o)
	}
	if got := string(o.Encode()); got != `{"z":1,"a":{"y": [1, 2.0, null]},"m":"é"}` {
		t.Errorf("encoded %s", got)
	}
	items, ok, err := List(json.RawMessage(` [1, {"b": 2}]`))
	if err != nil || !ok || len(items) != 2 || string(EncodeList(items)) != `[1,{"b": 2}]` {
		t.Errorf("list: %v %v %v", items, ok, err)
	}
	if _, ok, _ := List(json.RawMessage(`"x"`)); ok {
		t.Error("a string is not a list")
	}
	for _, bad := range []string{`[]`, `"x"`, `{"a": }`, `{"a": 1} {}`, `{"a": 1`, ``} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode accepted %q", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"a": [1, {"b": null}], "c": "d"}`)
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Decode([]byte(s))
		if err != nil {
			return
		}
		// What decodes re-encodes to an equivalent object.
		var a, b any
		if json.Unmarshal([]byte(s), &a) != nil || json.Unmarshal(o.Encode(), &b) != nil {
			t.Fatalf("%q decoded but does not round-trip: %s", s, o.Encode())
		}
	})
}
