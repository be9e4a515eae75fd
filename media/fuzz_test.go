package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	mjpeg "github.com/glmv/glmv/media/jpeg"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// FuzzDecodeImage feeds arbitrary bytes to the image entry point and, when
// they decode, through the processor: nothing may panic, and a success must
// be a consistent image.
func FuzzDecodeImage(f *testing.F) {
	m := testPattern(9, 6)
	f.Add(encodePNG(f, m))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err == nil {
		f.Add(bytes.Clone(b.Bytes()))
	}
	b.Reset()
	if err := gif.Encode(&b, m, nil); err == nil {
		f.Add(bytes.Clone(b.Bytes()))
	}
	b.Reset()
	if err := bmp.Encode(&b, m); err == nil {
		f.Add(bytes.Clone(b.Bytes()))
	}
	b.Reset()
	if err := tiff.Encode(&b, m, nil); err == nil {
		f.Add(bytes.Clone(b.Bytes()))
	}
	if w, err := os.ReadFile(filepath.Join("..", "testdata", "media", "lossless_24x16.webp")); err == nil {
		f.Add(w)
	}
	exif := append([]byte("Exif\x00\x00"), exifBlock(6, binary.LittleEndian)...)
	f.Add(append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, byte(len(exif) + 2)}, exif...))
	f.Add([]byte("not an image"))
	for _, name := range []string{"rose_420_rst1b.jpg", "noise_420_rst2b_prog.jpg", "plasma_ycck_422_prog.jpg"} {
		if b, err := os.ReadFile(filepath.Join(jpegGoldenDir, name)); err == nil {
			f.Add(b)
		}
	}

	proc, err := NewProcessor(DefaultConfig(), Torchvision)
	if err != nil {
		f.Fatal(err)
	}
	opts := &DecodeOptions{MaxPixels: 1 << 16, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImage(data, opts)
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			return
		}
		if img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height*3 ||
			int64(img.Width)*int64(img.Height) > opts.MaxPixels {
			t.Fatalf("inconsistent image %d×%d with %d bytes", img.Width, img.Height, len(img.Pix))
		}
		if isJPEG(data) {
			if _, err := mjpeg.DecodeConfig(data); err != nil {
				t.Fatalf("decoded although jpeg.DecodeConfig fails: %v", err)
			}
		} else if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil {
			t.Fatalf("decoded although DecodeConfig fails: %v", err)
		}
		p, err := proc.ProcessImage(img)
		if err != nil {
			return // e.g. an aspect ratio above 200
		}
		if len(p.Values) != p.Rows()*p.RowLen || p.NumTokens()*4 != p.Rows() {
			t.Fatalf("inconsistent patches: grid %v, %d values", p.Grid, len(p.Values))
		}
	})
}
