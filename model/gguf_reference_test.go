package model_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/model/ggufmodel"
	"github.com/glmv/glmv/safetensors"
	"github.com/glmv/glmv/tokenizer"
)

// ggufTolerance is the stated tolerance for GGUF files whose matrices are
// rounded (the RMS logit error relative to the reference logits' RMS, as
// in TestReferenceQuantized): F16 files as f16 weights; Q8_0 files as
// Q8_0 weights (a few matrices with rows not a multiple of 32 stay F16,
// and the embedding table is Q8_0 too). Vision embeddings from an F16
// mmproj are held to visionF16Tolerance (same measure).
var ggufTolerance = map[string]float64{
	"F16":  model.QuantTolerance[compute.F16],
	"Q8_0": model.QuantTolerance[compute.Q8_0],
}

const visionF16Tolerance = 0.005

// ggufPairs lists, for one reference model folder, the text GGUFs
// <model>-<TYPE>.gguf in models/<model>/gguf/ with their types.
func ggufPairs(t *testing.T, modelDir, name string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(modelDir, "gguf", name+"-*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range paths {
		out[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), name+"-"), ".gguf")] = p
	}
	return out
}

// mmprojFor picks the vision file of a pair: mmproj-<model>-<TYPE>.gguf,
// or for a type without its own projector (llama.cpp writes none for
// Q8_0) the F16 one, then the F32 one.
func mmprojFor(text, name, typ string) string {
	dir := filepath.Dir(text)
	for _, t := range []string{typ, "F16", "F32"} {
		p := filepath.Join(dir, "mmproj-"+name+"-"+t+".gguf")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestReferenceGGUF runs every reference case with the model loaded from
// each GGUF pair in models/<model>/gguf/ (subtests <TYPE>/<model>/<case>).
// F32 files go through every stage of TestReference at 1e-4; F16 and Q8_0
// files are held to ggufTolerance on the logits (MoE routing forced to the
// reference's, as in TestReferenceQuantized) and their vision embeddings
// to 1e-4 (F32 mmproj) or visionF16Tolerance (F16 mmproj). Greedy-token
// agreement is logged.
func TestReferenceGGUF(t *testing.T) {
	cases, err := reftest.Cases(reftest.Root())
	if err != nil || len(cases) == 0 {
		t.Fatalf("no reference cases under %s (%v)", reftest.Root(), err)
	}
	pool := compute.NewPool(0)
	defer pool.Close()
	// The stated tolerances are the formats' rounding in f32 math;
	// TestReferenceBF16Precision covers the bf16 GEMM.
	pool.SetPrecision(compute.PrecisionF32)
	type key struct{ typ, dir string }
	models := map[key]*model.Model{}
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	ran := 0
	for _, typ := range []string{"F32", "F16", "BF16", "Q8_0", "Q4_0"} {
		for _, path := range cases {
			c, err := reftest.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			text, ok := ggufPairs(t, c.ModelDir, c.Model)[typ]
			if !ok {
				c.Tensors.Close()
				continue
			}
			ran++
			t.Run(typ+"/"+c.ID(), func(t *testing.T) {
				defer c.Tensors.Close()
				k := key{typ, c.ModelDir}
				m := models[k]
				mmproj := mmprojFor(text, c.Model, typ)
				if m == nil {
					if m, err = ggufmodel.Load(text, mmproj, pool); err != nil {
						t.Fatal(err)
					}
					models[k] = m
				}
				if typ == "F32" {
					model.RunReferenceCase(t, m, c)
					return
				}
				t.Logf("text %s, vision %s", filepath.Base(text), filepath.Base(mmproj))
				checkVision(t, m, c, strings.HasSuffix(mmproj, "-F32.gguf"))
				tol, ok := ggufTolerance[typ]
				if !ok {
					t.Fatalf("no stated tolerance for %s", typ)
				}
				model.RunQuantCase(t, m, c, tol)
			})
		}
	}
	if ran == 0 {
		t.Fatalf("no GGUF pairs under %s/models/*/gguf", reftest.Root())
	}
}

func checkVision(t *testing.T, m *model.Model, c *reftest.Case, exact bool) {
	for _, kind := range []struct{ pix, grid, emb string }{
		{"pixel_values", "image_grid_thw", "image_embeds"},
		{"pixel_values_videos", "video_grid_thw", "video_embeds"},
	} {
		if !c.Has(kind.pix) {
			continue
		}
		grids, err := c.Grids(kind.grid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Vision.Forward(t.Context(), c.MustF32(t, kind.pix), model.Segments(grids))
		if err != nil {
			t.Fatal(err)
		}
		want := c.MustF32(t, kind.emb)
		d, _ := reftest.MaxAbsDiff(got, want)
		var se, sw float64
		for i := range got {
			e := float64(got[i]) - float64(want[i])
			se += e * e
			sw += float64(want[i]) * float64(want[i])
		}
		rel := math.Sqrt(se / sw)
		msg := fmt.Sprintf("%s: max |diff| %.3g, RMS error %.3f%%", kind.emb, d, 100*rel)
		switch {
		case exact && d > 1e-4:
			t.Errorf("%s exceeds 1e-4", msg)
		case !exact && rel > visionF16Tolerance:
			t.Errorf("%s exceeds %.1f%%", msg, 100*visionF16Tolerance)
		default:
			t.Log(msg)
		}
	}
}

// TestReferenceGGUFRoundTrip writes every reference checkpoint as a GGUF
// pair with ggufmodel.Export (f32, and q4_k_m, which on these small
// shapes falls back to Q5_0/Q5_1 where rows are not whole 256-blocks),
// loads the pair back and runs the reference cases: f32 through every
// stage at 1e-4, q4_k_m within the Q4_0 tolerance.
func TestReferenceGGUFRoundTrip(t *testing.T) {
	cases, err := reftest.Cases(reftest.Root())
	if err != nil || len(cases) == 0 {
		t.Fatalf("no reference cases (%v)", err)
	}
	tok, err := tokenizer.Load("../demo/testmodel/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	pool := compute.NewPool(0)
	defer pool.Close()
	tmp := t.TempDir()
	for _, mixName := range []string{"f32", "q4_k_m"} {
		mix, err := ggufmodel.ParseMix(mixName)
		if err != nil {
			t.Fatal(err)
		}
		models := map[string]*model.Model{}
		for _, path := range cases {
			c, err := reftest.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(mix.Name+"/"+c.ID(), func(t *testing.T) {
				defer c.Tensors.Close()
				m := models[c.ModelDir]
				if m == nil {
					m = exportAndLoad(t, c.ModelDir, filepath.Join(tmp, c.Model+"-"+mix.Name+".gguf"), mix, tok, pool)
					models[c.ModelDir] = m
				}
				if mixName == "f32" {
					model.RunReferenceCase(t, m, c)
				} else {
					model.RunQuantCase(t, m, c, model.QuantTolerance[compute.Q4_0])
				}
			})
		}
		for _, m := range models {
			m.Close()
		}
	}
}

func exportAndLoad(t *testing.T, dir, out string, mix ggufmodel.Mix, tok *tokenizer.Tokenizer, pool *compute.Pool) *model.Model {
	t.Helper()
	cfg, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	text, vision := ggufmodel.Files(out)
	tf, err := os.Create(text)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	vf, err := os.Create(vision)
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	pc := media.DefaultConfig()
	src := &ggufmodel.ExportSource{Config: cfg, Weights: &model.SafetensorsSource{Set: set}, Tokenizer: tok,
		ImageMean: pc.ImageMean, ImageStd: pc.ImageStd, Name: filepath.Base(dir), Pool: pool}
	if err := ggufmodel.Export(t.Context(), src, mix, tf, vf, nil); err != nil {
		t.Fatal(err)
	}
	m, err := ggufmodel.Load(text, "", pool)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
