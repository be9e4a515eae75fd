package jpeg

import (
	"bytes"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// benchJPEG encodes a smooth, photo-like 1024×768 picture with the standard
// library (4:2:0, quality 90; progressive is not available there).
func benchJPEG(b *testing.B) []byte {
	b.Helper()
	const w, h = 1024, 768
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/w, float64(y)/h
			r := 128 + 100*math.Sin(9*fx+3*fy)
			g := 128 + 90*math.Cos(7*fy-2*fx*fx)
			bl := 128 + 60*math.Sin(25*fx*fy) + float64((x*7+y*13)%17)
			m.Set(x, y, color.RGBA{uint8(r), uint8(g), uint8(min(bl, 255)), 255})
		}
	}
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, m, &stdjpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecode1024x768 is this package: bytes to RGB.
func BenchmarkDecode1024x768(b *testing.B) {
	data := benchJPEG(b)
	b.SetBytes(1024 * 768 * 3)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decode(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlib1024x768 is image/jpeg on the same bytes, to YCbCr planes
// and then to RGB with color.YCbCrToRGB (what media did before).
func BenchmarkStdlib1024x768(b *testing.B) {
	data := benchJPEG(b)
	b.SetBytes(1024 * 768 * 3)
	b.ResetTimer()
	for b.Loop() {
		m, err := stdjpeg.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		yc := m.(*image.YCbCr)
		bd := yc.Bounds()
		pix := make([]uint8, bd.Dx()*bd.Dy()*3)
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			for x := bd.Min.X; x < bd.Max.X; x++ {
				yi, ci := yc.YOffset(x, y), yc.COffset(x, y)
				i := (y*bd.Dx() + x) * 3
				pix[i], pix[i+1], pix[i+2] = color.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
			}
		}
	}
}

// BenchmarkStdlibPlanes1024x768 is image/jpeg alone (no RGB conversion).
func BenchmarkStdlibPlanes1024x768(b *testing.B) {
	data := benchJPEG(b)
	b.SetBytes(1024 * 768 * 3)
	b.ResetTimer()
	for b.Loop() {
		if _, err := stdjpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFile(b *testing.B, name string, std bool) {
	data, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := DecodeConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(cfg.Width * cfg.Height * 3))
	b.ResetTimer()
	for b.Loop() {
		if std {
			_, err = stdjpeg.Decode(bytes.NewReader(data))
		} else {
			_, err = Decode(data, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The demo landscape (200×150) as a progressive 4:2:2 file.
func BenchmarkDecodeProgressive200x150(b *testing.B) {
	benchFile(b, "landscape_422_q80_prog.jpg", false)
}

func BenchmarkStdlibPlanesProgressive200x150(b *testing.B) {
	benchFile(b, "landscape_422_q80_prog.jpg", true)
}
