package media

import (
	"bytes"
	"encoding/json"
	stdjpeg "image/jpeg"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// jpegGoldenDir holds JPEGs of every kind with the RGB Pillow decodes from
// each (see gen.sh there); files with an EXIF orientation also have the
// upright RGB transformers' load_image sees.
var jpegGoldenDir = filepath.Join("..", "testdata", "media", "jpeg")

type jpegManifest struct {
	Files map[string]struct {
		Upright string `json:"upright"`
	} `json:"files"`
}

func readJPEGManifest(t *testing.T) jpegManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jpegGoldenDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m jpegManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 {
		t.Fatal("empty JPEG manifest")
	}
	return m
}

// pillowGolden returns the file Pillow's RGB for a golden JPEG is stored in,
// after EXIF orientation.
func pillowGolden(name, upright string) string {
	if upright != "" {
		return filepath.Join(jpegGoldenDir, upright)
	}
	return filepath.Join(jpegGoldenDir, strings.TrimSuffix(name, ".jpg")+".png")
}

func loadFile(t *testing.T, path string) *Image {
	t.Helper()
	img, err := LoadImage(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// DecodeImage of every golden JPEG equals Pillow's RGB value for value,
// EXIF orientation included.
func TestDecodeJPEGMatchesPillow(t *testing.T) {
	m := readJPEGManifest(t)
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		t.Run(strings.TrimSuffix(name, ".jpg"), func(t *testing.T) {
			got := loadFile(t, filepath.Join(jpegGoldenDir, name))
			want := loadFile(t, pillowGolden(name, m.Files[name].Upright))
			if got.Width != want.Width || got.Height != want.Height {
				t.Fatalf("size %d×%d, Pillow %d×%d", got.Width, got.Height, want.Width, want.Height)
			}
			if n := countDiff(got.Pix, want.Pix); n != 0 {
				t.Fatalf("%d of %d values differ from Pillow", n, len(want.Pix))
			}
		})
	}
}

func countDiff(a, b []uint8) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// The processor sees exactly Pillow's pixels for JPEG input: its patches
// from a JPEG equal, bit for bit, those from Pillow's decoded RGB (stored
// losslessly), for both resamplers. Go's own decoder would not get there,
// which the last check shows so that this test can fail.
func TestProcessJPEGUsesPillowPixels(t *testing.T) {
	m := readJPEGManifest(t)
	names := []string{
		"landscape_420_q90.jpg",
		"exif_orientation6_landscape_422_q80_prog.jpg",
		"rose_440_progressive.jpg",
		"rose_ycck_420.jpg",
		"rose_gray.jpg",
	}
	for _, r := range []Resampler{Torchvision, Pillow} {
		proc, err := NewProcessor(DefaultConfig(), r)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			info, ok := m.Files[name]
			if !ok {
				t.Fatalf("%s not in the manifest", name)
			}
			got, err := proc.ProcessImage(loadFile(t, filepath.Join(jpegGoldenDir, name)))
			if err != nil {
				t.Fatal(err)
			}
			want, err := proc.ProcessImage(loadFile(t, pillowGolden(name, info.Upright)))
			if err != nil {
				t.Fatal(err)
			}
			if got.Grid != want.Grid || !bitsEqual(got.Values, want.Values) {
				t.Errorf("%s (resampler %v): patches differ from those of Pillow's RGB", name, r)
			}
		}
	}

	// Go's image/jpeg on the same file gives other pixels, hence other patches.
	data, err := os.ReadFile(filepath.Join(jpegGoldenDir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	std, err := stdjpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	stdImg := toRGB(std, AlphaDrop)
	want := loadFile(t, pillowGolden(names[0], ""))
	if countDiff(stdImg.Pix, want.Pix) == 0 {
		t.Fatal("image/jpeg matches Pillow on this file; pick a file that tells them apart")
	}
	proc, _ := NewProcessor(DefaultConfig(), Torchvision)
	a, _ := proc.ProcessImage(stdImg)
	b, _ := proc.ProcessImage(want)
	if bitsEqual(a.Values, b.Values) {
		t.Error("patches of image/jpeg's pixels equal Pillow's; the check above proves nothing")
	}
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
