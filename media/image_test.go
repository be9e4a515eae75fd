package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// testPattern is a small RGB picture with distinct corners.
func testPattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := m.PixOffset(x, y)
			m.Pix[o] = uint8(x * 255 / max(w-1, 1))
			m.Pix[o+1] = uint8(y * 255 / max(h-1, 1))
			m.Pix[o+2] = uint8((x*31 + y*17) % 256)
			m.Pix[o+3] = 255
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rgbAt(img *Image, x, y int) [3]uint8 {
	o := (y*img.Width + x) * 3
	return [3]uint8{img.Pix[o], img.Pix[o+1], img.Pix[o+2]}
}

func wantPattern(t *testing.T, got *Image, m *image.NRGBA) {
	t.Helper()
	b := m.Bounds()
	if got.Width != b.Dx() || got.Height != b.Dy() {
		t.Fatalf("size %d×%d, want %d×%d", got.Width, got.Height, b.Dx(), b.Dy())
	}
	for y := range b.Dy() {
		for x := range b.Dx() {
			o := m.PixOffset(x, y)
			if w := [3]uint8{m.Pix[o], m.Pix[o+1], m.Pix[o+2]}; rgbAt(got, x, y) != w {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, rgbAt(got, x, y), w)
			}
		}
	}
}

func TestDecodeLosslessFormats(t *testing.T) {
	src := testPattern(13, 7)
	var bmpBuf, tiffBuf bytes.Buffer
	if err := bmp.Encode(&bmpBuf, src); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tiffBuf, src, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	// 16-bit RGB PNG: Pillow keeps the high byte.
	rgb16 := image.NewRGBA64(src.Bounds())
	gray16 := image.NewGray16(src.Bounds())
	gray := image.NewGray(src.Bounds())
	for y := range 7 {
		for x := range 13 {
			o := src.PixOffset(x, y)
			r, g, b := src.Pix[o], src.Pix[o+1], src.Pix[o+2]
			rgb16.SetRGBA64(x, y, color.RGBA64{uint16(r)<<8 | 0x7F, uint16(g)<<8 | 0x80, uint16(b)<<8 | 0xFF, 0xFFFF})
			gray16.SetGray16(x, y, color.Gray16{uint16(r)<<8 | 0xAB})
			gray.SetGray(x, y, color.Gray{r})
		}
	}
	grayWant := image.NewNRGBA(src.Bounds())
	for y := range 7 {
		for x := range 13 {
			v := gray.GrayAt(x, y).Y
			grayWant.SetNRGBA(x, y, color.NRGBA{v, v, v, 255})
		}
	}
	cases := []struct {
		name string
		data []byte
		want *image.NRGBA
	}{
		{"png", encodePNG(t, src), src},
		{"png16", encodePNG(t, rgb16), src},
		{"gray", encodePNG(t, gray), grayWant},
		{"gray16", encodePNG(t, gray16), grayWant},
		{"bmp", bmpBuf.Bytes(), src},
		{"tiff", tiffBuf.Bytes(), src},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := DecodeImage(tc.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantPattern(t, img, tc.want)
		})
	}
	t.Run("webp", func(t *testing.T) {
		img, err := LoadImage(filepath.Join("..", "testdata", "media", "lossless_24x16.webp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := LoadImage(filepath.Join("..", "testdata", "media", "lossless_24x16.png"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if img.Width != 24 || img.Height != 16 || !slices.Equal(img.Pix, ref.Pix) {
			t.Fatal("lossless WebP differs from its PNG source")
		}
	})
}

func TestDecodePaletteGIFAndAlpha(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 4, 2), palette.Plan9)
	pal.Palette = color.Palette{color.NRGBA{10, 20, 30, 255}, color.NRGBA{200, 100, 50, 255}, color.NRGBA{1, 2, 3, 0}}
	pal.Pix = []uint8{0, 1, 2, 0, 1, 1, 0, 2}
	img, err := DecodeImage(encodePNG(t, pal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rgbAt(img, 1, 0) != [3]uint8{200, 100, 50} || rgbAt(img, 2, 0) != [3]uint8{1, 2, 3} {
		t.Fatalf("palette PNG: %v %v", rgbAt(img, 1, 0), rgbAt(img, 2, 0))
	}
	white, err := DecodeImage(encodePNG(t, pal), &DecodeOptions{Alpha: AlphaWhite})
	if err != nil {
		t.Fatal(err)
	}
	if rgbAt(white, 2, 0) != [3]uint8{255, 255, 255} || rgbAt(white, 0, 0) != [3]uint8{10, 20, 30} {
		t.Fatalf("palette PNG on white: %v %v", rgbAt(white, 2, 0), rgbAt(white, 0, 0))
	}

	// GIF: the first frame is used.
	g := &gif.GIF{}
	for k := range 2 {
		fr := image.NewPaletted(image.Rect(0, 0, 3, 3), color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
		for i := range fr.Pix {
			fr.Pix[i] = uint8(1 + k)
		}
		g.Image = append(g.Image, fr)
		g.Delay = append(g.Delay, 10)
	}
	var gb bytes.Buffer
	if err := gif.EncodeAll(&gb, g); err != nil {
		t.Fatal(err)
	}
	img, err = DecodeImage(gb.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rgbAt(img, 1, 1) != [3]uint8{255, 0, 0} {
		t.Fatalf("GIF first frame pixel %v", rgbAt(img, 1, 1))
	}

	// Straight alpha: dropped by default, composited on white on request
	// with Pillow's integer rounding.
	a := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(a.Pix, []uint8{0, 100, 200, 0, 0, 100, 200, 128, 0, 100, 200, 255})
	img, err = DecodeImage(encodePNG(t, a), nil)
	if err != nil {
		t.Fatal(err)
	}
	for x := range 3 {
		if rgbAt(img, x, 0) != [3]uint8{0, 100, 200} {
			t.Fatalf("alpha dropped: pixel %d = %v", x, rgbAt(img, x, 0))
		}
	}
	img, err = DecodeImage(encodePNG(t, a), &DecodeOptions{Alpha: AlphaWhite})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]uint8{{255, 255, 255}, {127, 177, 227}, {0, 100, 200}}
	for x := range 3 {
		if rgbAt(img, x, 0) != want[x] {
			t.Fatalf("on white: pixel %d = %v, want %v", x, rgbAt(img, x, 0), want[x])
		}
	}
}

func TestDecodeJPEG(t *testing.T) {
	src := testPattern(32, 16)
	for i := 2; i < len(src.Pix); i += 4 { // a smooth blue channel
		src.Pix[i] = uint8(i / 4 % 32 * 8)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, src, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	img, err := DecodeImage(b.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 32 || img.Height != 16 {
		t.Fatalf("size %d×%d", img.Width, img.Height)
	}
	// Lossy: only close on average.
	total := 0
	for i, v := range img.Pix {
		o := i / 3 * 4
		d := int(v) - int(src.Pix[o+i%3])
		total += max(d, -d)
	}
	if mean := float64(total) / float64(len(img.Pix)); mean > 8 {
		t.Fatalf("JPEG decoded with mean error %.1f", mean)
	}
}

// exifBlock builds a little- or big-endian TIFF block whose IFD0 holds one
// orientation tag.
func exifBlock(o uint16, bo binary.ByteOrder) []byte {
	b := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(b, "II*\x00")
	} else {
		copy(b, "MM\x00*")
	}
	bo.PutUint32(b[4:], 8)
	bo.PutUint16(b[8:], 1)
	bo.PutUint16(b[10:], 0x0112)
	bo.PutUint16(b[12:], 3)
	bo.PutUint32(b[14:], 1)
	bo.PutUint16(b[18:], o)
	return b
}

// pngWithExif inserts an eXIf chunk after IHDR.
func pngWithExif(t *testing.T, m image.Image, exif []byte) []byte {
	t.Helper()
	p := encodePNG(t, m)
	const ihdrEnd = 8 + 8 + 13 + 4
	chunk := make([]byte, 8+len(exif)+4)
	binary.BigEndian.PutUint32(chunk, uint32(len(exif)))
	copy(chunk[4:], "eXIf")
	copy(chunk[8:], exif)
	binary.BigEndian.PutUint32(chunk[8+len(exif):], crc32.ChecksumIEEE(chunk[4:8+len(exif)]))
	return slices.Concat(p[:ihdrEnd], chunk, p[ihdrEnd:])
}

func TestEXIFOrientation(t *testing.T) {
	const w, h = 5, 3
	src := testPattern(w, h)
	px := func(x, y int) [3]uint8 {
		o := src.PixOffset(x, y)
		return [3]uint8{src.Pix[o], src.Pix[o+1], src.Pix[o+2]}
	}
	tl, tr, bl, br := px(0, 0), px(w-1, 0), px(0, h-1), px(w-1, h-1)
	// Where each source corner must land (EXIF semantics): TL, TR, BL, BR
	// of the displayed image.
	want := map[uint16][4][3]uint8{
		1: {tl, tr, bl, br},
		2: {tr, tl, br, bl},
		3: {br, bl, tr, tl},
		4: {bl, br, tl, tr},
		5: {tl, bl, tr, br},
		6: {bl, tl, br, tr},
		7: {br, tr, bl, tl},
		8: {tr, br, tl, bl},
	}
	for o := uint16(1); o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			img, err := DecodeImage(pngWithExif(t, src, exifBlock(o, bo)), nil)
			if err != nil {
				t.Fatal(err)
			}
			gw, gh := w, h
			if o >= 5 {
				gw, gh = h, w
			}
			if img.Width != gw || img.Height != gh {
				t.Fatalf("orientation %d: size %d×%d, want %d×%d", o, img.Width, img.Height, gw, gh)
			}
			got := [4][3]uint8{rgbAt(img, 0, 0), rgbAt(img, gw-1, 0), rgbAt(img, 0, gh-1), rgbAt(img, gw-1, gh-1)}
			if got != want[o] {
				t.Fatalf("orientation %d (%v): corners %v, want %v", o, bo, got, want[o])
			}
		}
	}
	// IgnoreOrientation keeps the stored layout.
	img, err := DecodeImage(pngWithExif(t, src, exifBlock(6, binary.LittleEndian)), &DecodeOptions{IgnoreOrientation: true})
	if err != nil || img.Width != w {
		t.Fatalf("IgnoreOrientation: %v, %v", img, err)
	}
	// JPEG APP1.
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, testPattern(16, 8), nil); err != nil {
		t.Fatal(err)
	}
	exif := slices.Concat([]byte("Exif\x00\x00"), exifBlock(6, binary.BigEndian))
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(exif)+2))
	j := slices.Concat(jb.Bytes()[:2], app1, exif, jb.Bytes()[2:])
	img, err = DecodeImage(j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 8 || img.Height != 16 {
		t.Fatalf("JPEG orientation 6: size %d×%d, want 8×16", img.Width, img.Height)
	}
	// Malformed or out-of-range metadata is ignored.
	for _, bad := range [][]byte{exifBlock(9, binary.LittleEndian), exifBlock(0, binary.LittleEndian), []byte("II*\x00\xff\xff\xff\xff"), []byte("XX")} {
		if o := tiffOrientation(bad); o != 0 {
			t.Errorf("tiffOrientation(%q) = %d", bad, o)
		}
	}
	// WebP EXIF chunk.
	webp := slices.Concat([]byte("RIFF\x00\x00\x00\x00WEBP"), []byte("EXIF"), []byte{26, 0, 0, 0}, exifBlock(3, binary.LittleEndian))
	if o := webpExif(webp); tiffOrientation(o) != 3 {
		t.Errorf("WebP EXIF orientation = %d", tiffOrientation(o))
	}
}

func TestDecodeRefusals(t *testing.T) {
	good := encodePNG(t, testPattern(40, 30))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, testPattern(40, 30), nil); err != nil {
		t.Fatal(err)
	}
	// A PNG header declaring 100000×100000 pixels, with a valid CRC.
	bomb := slices.Clone(good[:33])
	binary.BigEndian.PutUint32(bomb[16:], 100000)
	binary.BigEndian.PutUint32(bomb[20:], 100000)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
	bomb = append(bomb, good[33:]...)

	// A JPEG cut inside its scan whose APP1 holds a complete thumbnail
	// (its own SOS and EOI markers must not hide the truncation).
	full := jb.Bytes()
	thumb := []byte("Exif\x00\x00\xFF\xD8\xFF\xDA\x00\x02\xFF\xD9")
	app1 := []byte{0xFF, 0xE1, 0, byte(len(thumb) + 2)}
	sos := jpegScanStart(full)
	if sos < 0 {
		t.Fatal("no scan in the test JPEG")
	}
	cutThumb := slices.Concat(full[:2], app1, thumb, full[2:sos+20])

	cases := []struct {
		name string
		data []byte
		opts *DecodeOptions
		want error
	}{
		{"jpeg cut with thumbnail", cutThumb, nil, ErrTruncated},
		{"empty", nil, nil, ErrNotImage},
		{"text", []byte("hello, world: definitely not an image"), nil, ErrNotImage},
		{"png cut", good[:len(good)/2], nil, ErrTruncated},
		{"png header only", good[:20], nil, ErrTruncated},
		{"jpeg cut", jb.Bytes()[:jb.Len()/2], nil, ErrTruncated},
		{"bomb", bomb, nil, ErrTooLarge},
		{"pixel limit", good, &DecodeOptions{MaxPixels: 100}, ErrTooLarge},
		{"byte limit", good, &DecodeOptions{MaxBytes: 10}, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := DecodeImage(tc.data, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", img, err, tc.want)
			}
		})
	}
	if _, err := LoadImage(filepath.Join(t.TempDir(), "missing.png"), nil); err == nil {
		t.Error("missing file: no error")
	}
}
