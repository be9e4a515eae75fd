package jpeg

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenDir holds JPEG files of every kind and the RGB Pillow decodes from
// each (made by gen.sh there).
var goldenDir = filepath.Join("..", "..", "testdata", "media", "jpeg")

type manifest struct {
	Pillow string `json:"pillow"`
	Files  map[string]struct {
		Mode        string `json:"mode"`
		Size        [2]int `json:"size"`
		Progressive bool   `json:"progressive"`
		Upright     string `json:"upright"`
	} `json:"files"`
}

func readManifest(t testing.TB) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readRGB loads a PNG golden as packed RGB.
func readRGB(t testing.TB, path string) (int, int, []uint8) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := m.Bounds()
	pix := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch c := m.(type) {
			case *image.RGBA:
				i := c.PixOffset(x, y)
				pix = append(pix, c.Pix[i], c.Pix[i+1], c.Pix[i+2])
			case *image.NRGBA:
				i := c.PixOffset(x, y)
				pix = append(pix, c.Pix[i], c.Pix[i+1], c.Pix[i+2])
			default:
				r, g, bb, _ := m.At(x, y).RGBA()
				pix = append(pix, uint8(r>>8), uint8(g>>8), uint8(bb>>8))
			}
		}
	}
	return b.Dx(), b.Dy(), pix
}

// TestPillowGoldens decodes every JPEG in the golden folder and requires
// each RGB value to equal Pillow's.
func TestPillowGoldens(t *testing.T) {
	m := readManifest(t)
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden JPEGs in %s (%v)", goldenDir, err)
	}
	if len(files) != len(m.Files) {
		t.Fatalf("%d JPEG files but %d in the manifest", len(files), len(m.Files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".jpg"), func(t *testing.T) {
			info, ok := m.Files[name]
			if !ok {
				t.Fatalf("%s missing from manifest.json", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := DecodeConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != info.Size[0] || cfg.Height != info.Size[1] || cfg.Progressive != info.Progressive {
				t.Fatalf("config %+v, Pillow says %+v", cfg, info)
			}
			img, err := Decode(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			w, h, want := readRGB(t, strings.TrimSuffix(path, ".jpg")+".png")
			if img.Width != w || img.Height != h {
				t.Fatalf("decoded %d×%d, Pillow %d×%d", img.Width, img.Height, w, h)
			}
			diff, maxd, first := 0, 0, -1
			for i := range want {
				if d := absDiff(img.Pix[i], want[i]); d != 0 {
					if first < 0 {
						first = i
					}
					diff++
					maxd = max(maxd, d)
				}
			}
			if diff != 0 {
				p := first / 3
				t.Errorf("%d of %d values differ from Pillow %s (max %d); first at x=%d y=%d channel %d: got %d want %d",
					diff, len(want), m.Pillow, maxd, p%w, p/w, first%3, img.Pix[first], want[first])
			}
		})
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestRefusals(t *testing.T) {
	rose, err := os.ReadFile(filepath.Join(goldenDir, "rose_420_baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	sofAt := bytes.Index(rose, []byte{0xFF, 0xC0})
	withSOF := func(marker byte) []byte {
		b := bytes.Clone(rose)
		b[sofAt+1] = marker
		return b
	}
	cut := bytes.Index(rose, []byte{0xFF, 0xDA})
	cases := []struct {
		name string
		data []byte
		opts *Options
		want error
	}{
		{"empty", nil, nil, ErrFormat},
		{"not jpeg", []byte("GIF89a......"), nil, ErrFormat},
		{"hierarchical", withSOF(0xC5), nil, ErrUnsupported},
		{"lossless arithmetic", withSOF(0xCB), nil, ErrUnsupported},
		{"lossless", withSOF(0xC3), nil, ErrUnsupported},
		{"too large", rose, &Options{MaxPixels: 70*46 - 1}, ErrTooLarge},
		{"header only", rose[:cut], nil, ErrTruncated},
		{"scan cut short", rose[:cut+200], nil, ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := Decode(c.data, c.opts)
			if !errors.Is(err, c.want) || img != nil {
				t.Fatalf("Decode: image %v, error %v; want error %v", img != nil, err, c.want)
			}
		})
	}
}
