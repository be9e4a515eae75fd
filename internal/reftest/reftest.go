// Package reftest finds and reads the reference fixtures (golden outputs
// of the Hugging Face implementation) for tests in any package.
package reftest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/glmv/glmv/safetensors"
)

// EnvDir names the environment variable that points the reference tests
// at another fixture root.
const EnvDir = "GLMV_REFERENCE_DIR"

// Root returns $GLMV_REFERENCE_DIR, or the repository's
// testdata/reference folder.
func Root() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "reference")
}

// Case is one models/<model>/case_<name>.json fixture.
type Case struct {
	Model     string // folder name under models/
	Name      string // e.g. "case_text"
	ModelDir  string // the checkpoint folder
	ModelsDir string // the models/ folder (case file names are relative to it)
	Meta      map[string]any
	Tensors   *safetensors.File
}

// ID is the subtest name "<model>/<case>".
func (c *Case) ID() string { return c.Model + "/" + c.Name }

// Cases lists every case under root/models, sorted by model then case.
func Cases(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "models", "*", "case_*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	return matches, nil
}

// Run walks every case under Root() and runs fn on it as the subtest
// "<model>/<case>", closing the case's tensors afterwards. It fails the
// test when the root holds no case.
func Run(t *testing.T, fn func(t *testing.T, c *Case)) {
	t.Helper()
	root := Root()
	cases, err := Cases(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no reference cases under %s", root)
	}
	for _, path := range cases {
		c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.ID(), func(t *testing.T) {
			defer c.Tensors.Close()
			fn(t, c)
		})
	}
}

// Open reads one case JSON and maps its tensors.
func Open(jsonPath string) (*Case, error) {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	c := &Case{
		ModelDir:  filepath.Dir(jsonPath),
		Model:     filepath.Base(filepath.Dir(jsonPath)),
		Name:      strings.TrimSuffix(filepath.Base(jsonPath), ".json"),
		ModelsDir: filepath.Dir(filepath.Dir(jsonPath)),
	}
	if err := json.Unmarshal(b, &c.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	c.Tensors, err = safetensors.Open(strings.TrimSuffix(jsonPath, ".json") + ".safetensors")
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Has reports whether the case has the named tensor.
func (c *Case) Has(name string) bool {
	_, ok := c.Tensors.Info(name)
	return ok
}

// F32 returns a float tensor and its shape.
func (c *Case) F32(name string) ([]float32, []int, error) { return c.Tensors.Float32(name) }

// Ints returns an integer tensor as ints, with its shape.
func (c *Case) Ints(name string) ([]int, []int, error) {
	v, shape, err := c.Tensors.Int64(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, shape, nil
}

// Positions returns the case's position_ids [3, S] as one slice per axis
// (temporal, height, width).
func (c *Case) Positions(t TB) [3][]int {
	t.Helper()
	v := c.MustInts(t, "position_ids")
	S := len(v) / 3
	return [3][]int{v[:S], v[S : 2*S], v[2*S:]}
}

// Grids returns an [n, 3] integer tensor as grids; nil when absent.
func (c *Case) Grids(name string) ([][3]int, error) {
	if !c.Has(name) {
		return nil, nil
	}
	v, shape, err := c.Ints(name)
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 || shape[1] != 3 {
		return nil, fmt.Errorf("%s has shape %v, want [n, 3]", name, shape)
	}
	out := make([][3]int, shape[0])
	for i := range out {
		copy(out[i][:], v[3*i:3*i+3])
	}
	return out, nil
}

// TB is the part of testing.TB the Must helpers use.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustF32 returns a float tensor or stops the test.
func (c *Case) MustF32(t TB, name string) []float32 {
	t.Helper()
	v, _, err := c.F32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// MustInts returns an integer tensor or stops the test.
func (c *Case) MustInts(t TB, name string) []int {
	t.Helper()
	v, _, err := c.Ints(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// MaxAbsDiff returns max |a[i]-b[i]| and its index; NaN anywhere counts as
// an infinite difference. Lengths must match.
func MaxAbsDiff(a, b []float32) (float64, int) {
	if len(a) != len(b) {
		return math.Inf(1), -1
	}
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}
