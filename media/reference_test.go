package media

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
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

// compareValues returns the max |Δ|, the count of values not bit-equal and
// the count that differ by at least half of level (a different uint8 level,
// as opposed to float32 rounding of the same level).
func compareValues(got, want []float32, level float64) (worst float64, notBitExact, otherLevel int) {
	for i := range want {
		if got[i] != want[i] {
			notBitExact++
			d := math.Abs(float64(got[i]) - float64(want[i]))
			worst = math.Max(worst, d)
			if d >= level/2 {
				otherLevel++
			}
		}
	}
	return worst, notBitExact, otherLevel
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
					worst, diff, lv := compareValues(p.Values, ref, tol)
					if worst > tol {
						t.Errorf("max |Δ| %.4g > %.4g", worst, tol)
					}
					inexact += diff
					t.Logf("whole tensor: %d/%d values not bit-exact (%.4f%%), %d on another uint8 level, max |Δ| %.3g",
						diff, n, 100*float64(diff)/float64(n), lv, worst)
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

// caseFrames expands a printf-style frame pattern ("video_frames/frame_%03d.png").
func caseFrames(pattern string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(pattern, i)
	}
	return out
}

func TestModelCasesPreprocessing(t *testing.T) {
	root := reftest.Root()
	paths, err := reftest.Cases(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skipf("no model cases under %s (set %s)", root, reftest.EnvDir)
	}
	ran := 0
	for _, path := range paths {
		c, err := reftest.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, hasImages := c.Meta["images"]
		_, hasVideo := c.Meta["video_frames"]
		if !hasImages && !hasVideo {
			c.Tensors.Close()
			continue
		}
		ran++
		t.Run(c.ID(), func(t *testing.T) {
			defer c.Tensors.Close()
			cfg := DefaultConfig()
			if pc := filepath.Join(c.ModelDir, "preprocessor_config.json"); fileExists(pc) {
				if cfg, err = LoadConfig(pc); err != nil {
					t.Fatal(err)
				}
			}
			// The fixtures come from the torchvision processor; Pillow's
			// resampling must stay within two levels of it.
			for _, r := range []Resampler{Torchvision, Pillow} {
				proc, err := NewProcessor(cfg, r)
				if err != nil {
					t.Fatal(err)
				}
				if hasImages {
					checkCaseImages(t, c, proc)
				}
				if hasVideo {
					checkCaseVideo(t, c, proc)
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no case has images or video frames")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func checkCaseImages(t *testing.T, c *reftest.Case, proc *Processor) {
	t.Helper()
	list, ok := c.Meta["images"].([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("images = %v", c.Meta["images"])
	}
	var values []float32
	var grids [][3]int
	for _, v := range list {
		name, _ := v.(string)
		img, err := LoadImage(filepath.Join(c.ModelsDir, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := proc.ProcessImage(img)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, p.Values...)
		grids = append(grids, p.Grid)
	}
	compareCaseTensor(t, c, proc, "pixel_values", "image_grid_thw", values, grids)
}

func checkCaseVideo(t *testing.T, c *reftest.Case, proc *Processor) {
	t.Helper()
	pattern, _ := c.Meta["video_frames"].(string)
	meta, _ := c.Meta["video_metadata"].(map[string]any)
	if pattern == "" || meta == nil {
		t.Fatalf("video case without video_frames/video_metadata")
	}
	num := func(k string) float64 { f, _ := meta[k].(float64); return f }
	// Load the whole frame list, then sample it with the case's metadata.
	total := int(num("total_num_frames"))
	if total <= 0 || total > 10000 {
		t.Fatalf("total_num_frames = %v", meta["total_num_frames"])
	}
	all := make([]*Image, total)
	for i, name := range caseFrames(pattern, total) {
		var err error
		if all[i], err = LoadImage(filepath.Join(c.ModelsDir, name), nil); err != nil {
			t.Fatal(err)
		}
	}
	video := VideoFromFrames(all, num("fps"))
	video.Metadata.Duration = num("duration")
	sampled, err := proc.SampleVideo(video)
	if err != nil {
		t.Fatal(err)
	}
	var wantIdx []int
	for _, v := range meta["frames_indices"].([]any) {
		wantIdx = append(wantIdx, int(v.(float64)))
	}
	if !slices.Equal(sampled.Indices, wantIdx) {
		t.Fatalf("sampled frames %v, want %v", sampled.Indices, wantIdx)
	}
	ts := sampled.Timestamps
	var wantTS []float64
	for _, v := range meta["timestamps"].([]any) {
		wantTS = append(wantTS, v.(float64))
	}
	if !slices.Equal(ts, wantTS) {
		t.Fatalf("timestamps %v, want %v", ts, wantTS)
	}
	frames := sampled.Frames
	p, err := proc.ProcessVideo(frames)
	if err != nil {
		t.Fatal(err)
	}
	// The prompt shows one timestamp per temporal group.
	groups := GroupTimestamps(ts, p.Grid[0])
	if len(groups) != p.Grid[0] {
		t.Errorf("%d group timestamps for grid_t %d", len(groups), p.Grid[0])
	}
	for g, v := range groups {
		if v != wantTS[2*g] {
			t.Errorf("group %d timestamp %v, want %v", g, v, wantTS[2*g])
		}
	}
	compareCaseTensor(t, c, proc, "pixel_values_videos", "video_grid_thw", p.Values, [][3]int{p.Grid})
}

func compareCaseTensor(t *testing.T, c *reftest.Case, proc *Processor, name, gridName string, got []float32, grids [][3]int) {
	t.Helper()
	wantGrids, err := c.Grids(gridName)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(grids) != fmt.Sprint(wantGrids) {
		t.Fatalf("%s %v, want %v", gridName, grids, wantGrids)
	}
	want, shape, err := c.F32(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d (shape %v)", name, len(got), len(want), shape)
	}
	tol := levelTol(proc.Config())
	worst, diff, lv := compareValues(got, want, tol)
	if proc.Resampler() != Torchvision {
		tol *= 2
	}
	if worst > tol {
		t.Errorf("%s (%s): max |Δ| %.4g > %.4g", name, proc.Resampler(), worst, tol)
	}
	t.Logf("%s (%s): %d/%d values not bit-exact (%.4f%%), %d (%.4f%%) on another uint8 level, max |Δ| %.3g",
		name, proc.Resampler(), diff, len(want), 100*float64(diff)/float64(len(want)),
		lv, 100*float64(lv)/float64(len(want)), worst)
}
