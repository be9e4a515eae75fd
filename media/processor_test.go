package media

import (
	"errors"
	"math"
	"testing"
)

func TestSmartResize(t *testing.T) {
	const f, mn, mx = 28, 12544, 47040000
	ok := []struct {
		t, h, w int
		wh, ww  int
	}{
		{2, 1000, 1000, 1008, 1008}, // the spec's worked example
		{2, 480, 640, 476, 644},
		{2, 3000, 100, 2996, 112},
		{2, 28, 28, 84, 84},           // below the pixel budget: scaled up
		{2, 10, 100, 28, 280},         // shorter side below factor: scaled first
		{2, 20, 3000, 28, 4200},       //   … then rounded
		{2, 70, 560, 56, 560},         // round half to even: 70/28 = 2.5 → 2
		{2, 10000, 10000, 4844, 4844}, // above the budget: scaled down
		{10, 48, 64, 56, 56},          // a video: the budget counts all frames
		{600, 720, 1280, 196, 364},
		{3, 14, 14, 84, 84},
		{2, 1, 1, 84, 84},
	}
	for _, c := range ok {
		h, w, err := SmartResize(c.t, c.h, c.w, 2, f, mn, mx)
		if err != nil || h != c.wh || w != c.ww {
			t.Errorf("SmartResize(%d, %d, %d) = %d, %d, %v; want %d, %d", c.t, c.h, c.w, h, w, err, c.wh, c.ww)
		}
	}
	bad := []struct{ t, h, w int }{
		{1, 100, 100},   // fewer frames than the temporal factor
		{2, 5, 2000},    // aspect ratio 400 after scaling up
		{2, 100, 30000}, // aspect ratio 300
		{2, 0, 10},
		{2, 10, -1},
	}
	for _, c := range bad {
		if h, w, err := SmartResize(c.t, c.h, c.w, 2, f, mn, mx); err == nil {
			t.Errorf("SmartResize(%d, %d, %d) = %d, %d; want an error", c.t, c.h, c.w, h, w)
		}
	}
	if _, _, err := SmartResize(2, 100, 30000, 2, f, mn, mx); !errors.Is(err, ErrAspectRatio) {
		t.Errorf("aspect error %v does not wrap ErrAspectRatio", err)
	}
	if _, _, err := SmartResize(2, 100, 100, 2, 0, mn, mx); err == nil {
		t.Error("factor 0: no error")
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c != DefaultConfig() {
		t.Fatalf("empty config = %+v, want the defaults", c)
	}
	if c.MinPixels != 12544 || c.MaxPixels != 47040000 || c.Factor() != 28 {
		t.Fatalf("defaults %+v", c)
	}
	c, err = ParseConfig([]byte(`{"size": {"shortest_edge": 3136, "longest_edge": 1003520}, "min_pixels": 1, "max_pixels": 2,
		"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2, "image_mean": 0.5, "image_std": [0.1, 0.2, 0.3],
		"rescale_factor": 0.5, "fps": 1, "do_normalize": false}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MinPixels != 3136 || c.MaxPixels != 1003520 || c.PatchSize != 16 || c.ImageMean != [3]float64{0.5, 0.5, 0.5} ||
		c.ImageStd != [3]float64{0.1, 0.2, 0.3} || c.RescaleFactor != 0.5 || c.FPS != 1 || c.DoNormalize || !c.DoRescale {
		t.Fatalf("parsed %+v", c)
	}
	c, err = ParseConfig([]byte(`{"min_pixels": 100, "max_pixels": 200}`))
	if err != nil || c.MinPixels != 100 || c.MaxPixels != 200 {
		t.Fatalf("min/max_pixels spelling: %+v, %v", c, err)
	}
	for _, bad := range []string{`[`, `{"patch_size": 0}`, `{"image_std": [1, 0, 1]}`, `{"image_mean": [1, 2]}`,
		`{"size": {"shortest_edge": 10, "longest_edge": 5}}`, `{"rescale_factor": -1}`, `{"fps": 0}`, `{"image_mean": "x"}`} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s): no error", bad)
		}
	}
	if _, err := LoadConfig("/nonexistent/preprocessor_config.json"); err == nil {
		t.Error("LoadConfig of a missing file: no error")
	}
}

func TestAxisFilterPrecision(t *testing.T) {
	// Pillow always uses 22 fraction bits.
	f, err := newAxisFilter(1280, 644, Pillow)
	if err != nil || f.bits != 22 {
		t.Fatalf("pillow bits %d, %v", f.bits, err)
	}
	// ATen picks the most bits keeping 2·max weight below 2^15; in a 2×
	// upscale the largest weight (≈1.088, at the border after normalising
	// two taps) needs 14 bits.
	f, err = newAxisFilter(10, 20, Torchvision)
	if err != nil {
		t.Fatal(err)
	}
	if f.bits != 14 {
		t.Fatalf("torchvision bits %d, want 14", f.bits)
	}
	for i := range 20 {
		sum := int32(0)
		for _, c := range f.coef[i*f.ksize : i*f.ksize+f.n[i]] {
			sum += c
		}
		if d := sum - 1<<14; d < -2 || d > 2 {
			t.Fatalf("output %d: coefficients sum to %d, want ≈ %d", i, sum, 1<<14)
		}
	}
	if _, err := newAxisFilter(0, 3, Torchvision); err == nil {
		t.Error("empty axis: no error")
	}
}

func TestResize(t *testing.T) {
	src := synthFrames(1, 9, 5)[0]
	same, err := Resize(src, 9, 5, Torchvision)
	if err != nil || &same.Pix[0] == &src.Pix[0] || string(same.Pix) != string(src.Pix) {
		t.Fatal("same-size resize must return an equal copy")
	}
	// A constant image stays constant through both kernels.
	flat := &Image{Width: 7, Height: 5, Pix: make([]uint8, 7*5*3)}
	for i := range flat.Pix {
		flat.Pix[i] = 77
	}
	for _, r := range []Resampler{Torchvision, Pillow} {
		for _, size := range [][2]int{{3, 2}, {20, 11}, {7, 9}, {2, 5}} {
			out, err := Resize(flat, size[0], size[1], r)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out.Pix {
				if v != 77 {
					t.Fatalf("%v %v: constant 77 became %d", r, size, v)
				}
			}
		}
	}
	if _, err := Resize(src, 0, 3, Pillow); err == nil {
		t.Error("zero width: no error")
	}
	if _, err := Resize(&Image{Width: 2, Height: 2}, 3, 3, Pillow); err == nil {
		t.Error("short pixel buffer: no error")
	}
	if _, err := Resize(src, 3, 3, Resampler(7)); err == nil {
		t.Error("unknown resampler: no error")
	}
}

// TestPatchOrder checks the row/column layout against the spec's formula
// with normalisation off, so each value is the pixel's own level.
func TestPatchOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DoNormalize, cfg.DoRescale = false, false
	cfg.MinPixels = 0
	proc, err := NewProcessor(cfg, Torchvision)
	if err != nil {
		t.Fatal(err)
	}
	// 56×84 is already a multiple of 28: no resampling happens.
	const H, W = 56, 84
	img := &Image{Width: W, Height: H, Pix: make([]uint8, W*H*3)}
	for y := range H {
		for x := range W {
			p := img.Pix[(y*W+x)*3:]
			p[0], p[1], p[2] = uint8(x), uint8(y), uint8(x+y)
		}
	}
	p, err := proc.ProcessImage(img)
	if err != nil {
		t.Fatal(err)
	}
	const ps, m, tp = 14, 2, 2
	gh, gw := H/ps, W/ps
	if p.Grid != [3]int{1, gh, gw} || p.RowLen != 3*tp*ps*ps || p.NumTokens() != gh*gw/4 {
		t.Fatalf("grid %v row %d tokens %d", p.Grid, p.RowLen, p.NumTokens())
	}
	for bh := range gh / m {
		for bw := range gw / m {
			for ih := range m {
				for iw := range m {
					row := ((bh*(gw/m)+bw)*m+ih)*m + iw
					for c := range 3 {
						for tt := range tp {
							for py := range ps {
								for px := range ps {
									col := ((c*tp+tt)*ps+py)*ps + px
									y, x := (bh*m+ih)*ps+py, (bw*m+iw)*ps+px
									want := float32(img.Pix[(y*W+x)*3+c])
									if got := p.Values[row*p.RowLen+col]; got != want {
										t.Fatalf("row %d col %d = %v, want %v", row, col, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestNormalizeBackends(t *testing.T) {
	cfg := DefaultConfig()
	tv, _ := NewProcessor(cfg, Torchvision)
	pil, _ := NewProcessor(cfg, Pillow)
	for c := range 3 {
		for v := range 256 {
			want := (float64(v)/255 - cfg.ImageMean[c]) / cfg.ImageStd[c]
			for _, got := range []float32{tv.norm[c][v], pil.norm[c][v]} {
				if math.Abs(float64(got)-want) > 1e-6 {
					t.Fatalf("channel %d level %d: %v, want %v", c, v, got, want)
				}
			}
		}
	}
	if _, err := NewProcessor(Config{}, Torchvision); err == nil {
		t.Error("zero config: no error")
	}
	if _, err := NewProcessor(cfg, Resampler(9)); err == nil {
		t.Error("unknown resampler: no error")
	}
	if _, err := tv.ProcessImage(&Image{Width: 3, Height: 3}); err == nil {
		t.Error("image without pixels: no error")
	}
	if _, err := tv.ProcessImage(&Image{Width: 1000, Height: 2, Pix: make([]uint8, 6000)}); !errors.Is(err, ErrAspectRatio) {
		t.Errorf("1000×2 image: %v, want the aspect-ratio error", err)
	}
}

func BenchmarkProcessImage1024x768(b *testing.B) {
	img := synthFrames(1, 1024, 768)[0]
	for _, r := range []Resampler{Torchvision, Pillow} {
		proc, err := NewProcessor(DefaultConfig(), r)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(r.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := proc.ProcessImage(img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
