package jpeg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic,
// must refuse what exceeds the pixel limit before allocating for it, and a
// success must be a consistent image of the size DecodeConfig reports.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.jpg"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	opts := &Options{MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cfgErr := DecodeConfig(data)
		img, err := Decode(data, opts)
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) &&
				!errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if cfgErr != nil {
			t.Fatalf("decoded although DecodeConfig fails: %v", cfgErr)
		}
		if img.Width != cfg.Width || img.Height != cfg.Height || len(img.Pix) != img.Width*img.Height*3 ||
			int64(img.Width)*int64(img.Height) > opts.MaxPixels {
			t.Fatalf("inconsistent image %d×%d with %d bytes (config %+v)", img.Width, img.Height, len(img.Pix), cfg)
		}
	})
}
