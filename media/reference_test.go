package media

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/safetensors"
)

// goldenBackend is one processor's entry in imgproc_goldens.json.
type goldenBackend struct {
	Processor      string    `json:"processor"`
	Grid           [3]int    `json:"image_grid_thw"`
	ResizedHeight  int       `json:"resized_height"`
	ResizedWidth   int       `json:"resized_width"`
	NumImageTokens int       `json:"num_image_tokens"`
	Shape          [2]int    `json:"pixel_values_shape"`
	Sum            float64   `json:"sum"`
	AbsSum         float64   `json:"abs_sum"`
	SumSq          float64   `json:"sum_sq"`
	SHA256         string    `json:"sha256_f32le"`
	First64        []float32 `json:"first64"`
	Last64         []float32 `json:"last64"`
	RowSumsFirst8  []float64 `json:"row_sums_first8"`
}

type goldenImage struct {
	File        string        `json:"file"`
	Mode        string        `json:"mode"`
	Width       int           `json:"width"`
	Height      int           `json:"height"`
	MaxAbsDiff  float64       `json:"max_abs_diff_pil_vs_torchvision"`
	Pil         goldenBackend `json:"pil"`
	Torchvision goldenBackend `json:"torchvision"`
}

type goldenFile struct {
	Settings json.RawMessage        `json:"processor_settings"`
	Images   map[string]goldenImage `json:"images"`
}

// levelTol is one uint8 level after normalisation for the channel with the
// smallest std (1/255/0.2613), plus float32 slack.
func levelTol(cfg Config) float64 {
	s := math.Min(cfg.ImageStd[0], math.Min(cfg.ImageStd[1], cfg.ImageStd[2]))
	return cfg.RescaleFactor/s + 1e-5
}

func sha256F32(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// compareValues returns the max |Δ| and the count of values not bit-equal.
func compareValues(got, want []float32) (float64, int) {
	worst, diff := 0.0, 0
	for i := range want {
		if got[i] != want[i] {
			diff++
			worst = math.Max(worst, math.Abs(float64(got[i])-float64(want[i])))
		}
	}
	return worst, diff
}

func TestImageProcessorGoldens(t *testing.T) {
	root := reftest.Root()
	dir := filepath.Join(root, "imgproc")
	raw, err := os.ReadFile(filepath.Join(dir, "imgproc_goldens.json"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no image-processor goldens under %s (set %s)", dir, reftest.EnvDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Images) == 0 {
		t.Fatal("imgproc_goldens.json lists no images")
	}
	cfg, err := ParseConfig(g.Settings)
	if err != nil {
		t.Fatal(err)
	}
	tol := levelTol(cfg)
	for _, backend := range []Resampler{Torchvision, Pillow} {
		proc, err := NewProcessor(cfg, backend)
		if err != nil {
			t.Fatal(err)
		}
		var total, inexact, unknown int
		for name, gi := range g.Images {
			t.Run(backend.String()+"/"+name, func(t *testing.T) {
				want := gi.Torchvision
				suffix := "torchvision"
				if backend == Pillow {
					want, suffix = gi.Pil, "pil"
				}
				img, err := LoadImage(filepath.Join(dir, gi.File), nil)
				if err != nil {
					t.Fatal(err)
				}
				if img.Width != gi.Width || img.Height != gi.Height {
					t.Fatalf("decoded %d×%d, want %d×%d", img.Width, img.Height, gi.Width, gi.Height)
				}
				p, err := proc.ProcessImage(img)
				if err != nil {
					t.Fatal(err)
				}
				if p.Grid != want.Grid || p.ResizedH != want.ResizedHeight || p.ResizedW != want.ResizedWidth {
					t.Fatalf("grid %v resized %d×%d, want %v %d×%d", p.Grid, p.ResizedH, p.ResizedW,
						want.Grid, want.ResizedHeight, want.ResizedWidth)
				}
				if p.NumTokens() != want.NumImageTokens {
					t.Errorf("tokens %d, want %d", p.NumTokens(), want.NumImageTokens)
				}
				if p.Rows() != want.Shape[0] || p.RowLen != want.Shape[1] || len(p.Values) != want.Shape[0]*want.Shape[1] {
					t.Fatalf("shape [%d %d], want %v", p.Rows(), p.RowLen, want.Shape)
				}
				n := len(p.Values)
				total += n
				exact := sha256F32(p.Values) == want.SHA256
				// Whole tensor when the fixture has it.
				stPath := filepath.Join(dir, name+"."+suffix+".safetensors")
				if _, err := os.Stat(stPath); err == nil {
					f, err := safetensors.Open(stPath)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					ref, _, err := f.Float32("pixel_values")
					if err != nil {
						t.Fatal(err)
					}
					if len(ref) != n {
						t.Fatalf("fixture has %d values, got %d", len(ref), n)
					}
					worst, diff := compareValues(p.Values, ref)
					if worst > tol {
						t.Errorf("max |Δ| %.4g > %.4g", worst, tol)
					}
					inexact += diff
					t.Logf("whole tensor: %d/%d values not exact (%.4f%%), max |Δ| %.3g", diff, n, 100*float64(diff)/float64(n), worst)
				} else if exact {
					t.Logf("sha256 matches: all %d values exact", n)
				} else {
					unknown += n
					t.Logf("sha256 differs: values differ from the reference somewhere")
				}
				// Probes the fixture always has.
				for i, w := range want.First64 {
					if d := math.Abs(float64(p.Values[i]) - float64(w)); d > tol {
						t.Errorf("first64[%d] = %v, want %v", i, p.Values[i], w)
					}
				}
				for i, w := range want.Last64 {
					j := n - len(want.Last64) + i
					if d := math.Abs(float64(p.Values[j]) - float64(w)); d > tol {
						t.Errorf("last64[%d] = %v, want %v", i, p.Values[j], w)
					}
				}
				var sum, abs, sq float64
				for _, v := range p.Values {
					sum += float64(v)
					abs += math.Abs(float64(v))
					sq += float64(v) * float64(v)
				}
				// A level on ~0.5 % of values moves the sums by at most this.
				slack := tol * float64(n) * 0.02
				if math.Abs(sum-want.Sum) > slack || math.Abs(abs-want.AbsSum) > slack || math.Abs(sq-want.SumSq) > 5*slack {
					t.Errorf("sums (%.6g, %.6g, %.6g), want (%.6g, %.6g, %.6g)", sum, abs, sq, want.Sum, want.AbsSum, want.SumSq)
				}
				for r, w := range want.RowSumsFirst8 {
					var s float64
					for _, v := range p.Values[r*p.RowLen : (r+1)*p.RowLen] {
						s += float64(v)
					}
					if math.Abs(s-w) > tol*float64(p.RowLen) {
						t.Errorf("row %d sum %.6g, want %.6g", r, s, w)
					}
				}
				if !exact {
					t.Logf("not bit-exact with the %s reference (sha256)", suffix)
				}
			})
		}
		t.Logf("%s: %d values; %d not exact in whole-tensor fixtures; %d in images whose hash differs", backend, total, inexact, unknown)
	}
}
