package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

// --format makes even the random-weight demo model answer with JSON
// valid against the schema.
func TestRunFormat(t *testing.T) {
	dir, img := demoFiles(t)
	schema := filepath.Join(t.TempDir(), "schema.json")
	err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"animal":{"enum":["cat","dog"]},"legs":{"type":"integer","minimum":0,"maximum":8}},"required":["animal","legs"],"additionalProperties":false}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := glmvCLI(t, "run", "-m", dir, "--image", img, "--no-think", "--max-tokens", "200", "--format", schema, demo.Question)
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, errs)
	}
	var doc struct {
		Animal string `json:"animal"`
		Legs   *int   `json:"legs"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || (doc.Animal != "cat" && doc.Animal != "dog") || doc.Legs == nil || *doc.Legs < 0 || *doc.Legs > 8 {
		t.Fatalf("answer %q: %v", out, err)
	}
	if err := os.WriteFile(schema, []byte(`{"type":"string","pattern":"^a"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = glmvCLI(t, "run", "-m", dir, "--format", schema, "hi")
	if code == 0 || !strings.Contains(errs, `"pattern"`) {
		t.Fatalf("unsupported keyword: exit %d, %q", code, errs)
	}
}
