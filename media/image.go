package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	"github.com/glmv/glmv/media/jpeg"

	// Decoders registered with package image. JPEG is not among them: it
	// goes to media/jpeg, which decodes exactly as Pillow does.
	_ "image/gif"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Image is an 8-bit RGB picture, rows top to bottom, pixels interleaved
// R, G, B: Pix[(y*Width+x)*3+c].
type Image struct {
	Width, Height int
	Pix           []uint8
}

// Errors returned by DecodeImage (wrapped with context; test with errors.Is).
var (
	// ErrNotImage: the bytes are not in a supported image format.
	ErrNotImage = errors.New("media: not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF)")
	// ErrTruncated: the file ends before its image data does.
	ErrTruncated = errors.New("media: image file is truncated")
	// ErrTooLarge: the declared size exceeds the pixel or byte limit.
	ErrTooLarge = errors.New("media: image too large")
)

// DefaultMaxPixels is the default limit on width·height of a decoded
// image: Pillow's decompression-bomb threshold (89,478,485 pixels, about
// 256 MiB of RGB).
const DefaultMaxPixels = 89_478_485

// DefaultMaxBytes is the default limit on the size of an encoded image file.
const DefaultMaxBytes = 512 << 20

// DecodeOptions tunes DecodeImage. The zero value is ready to use.
type DecodeOptions struct {
	// MaxPixels refuses images whose declared width·height is larger;
	// 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes refuses encoded files larger than this; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Alpha chooses how transparency is flattened; the zero value AlphaDrop
	// matches the reference fixtures.
	Alpha AlphaMode
	// IgnoreOrientation skips the EXIF orientation (the reference applies it).
	IgnoreOrientation bool
}

func (o *DecodeOptions) maxPixels() int64 {
	if o == nil || o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o *DecodeOptions) maxBytes() int64 {
	if o == nil || o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

// LoadImage reads and decodes an image file; see DecodeImage.
func LoadImage(path string, opts *DecodeOptions) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	limit := opts.maxBytes()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("media: read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, path, limit)
	}
	img, err := DecodeImage(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// DecodeImage decodes JPEG, PNG (8/16-bit, gray, palette, alpha), GIF (first
// frame), WebP, BMP or TIFF bytes into RGB the way the reference loader
// does: the EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF, TIFF IFD0) is
// applied, gray is replicated to RGB and alpha is dropped (or, with
// AlphaWhite, composited onto white with Pillow's integer arithmetic).
//
// Before any pixel is decoded it refuses data that is no known image
// (ErrNotImage), files visibly cut short (ErrTruncated: PNG without IEND,
// JPEG without an end-of-image marker after its scan, WebP/BMP shorter than
// their headers declare) and declared sizes over the pixel limit
// (ErrTooLarge). Truncation the cheap checks cannot see is reported by the
// decoder. It never panics on bad input.
//
// JPEG is decoded by media/jpeg, bit-exact with Pillow's
// Image.open(f).convert("RGB") (libjpeg-turbo's ISLOW IDCT, fancy chroma
// upsampling and colour tables; CMYK/YCCK as Pillow converts them); the
// lossless formats decode identically to Pillow as well.
func DecodeImage(data []byte, opts *DecodeOptions) (img *Image, err error) {
	if int64(len(data)) > opts.maxBytes() {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), opts.maxBytes())
	}
	if isJPEG(data) {
		return decodeJPEG(data, opts)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, ErrNotImage
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: header: %v", ErrTruncated, err)
		}
		return nil, fmt.Errorf("media: bad image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("media: %s image declares size %d×%d", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); cfg.Width > 1<<24 || cfg.Height > 1<<24 || px > opts.maxPixels() {
		return nil, fmt.Errorf("%w: %s image declares %d×%d pixels, limit %d", ErrTooLarge, format, cfg.Width, cfg.Height, opts.maxPixels())
	}
	if err := checkComplete(format, data, cfg); err != nil {
		return nil, err
	}

	defer func() {
		// A decoder bug must not take the process down with it.
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("media: %s decoder failed: %v", format, r)
		}
	}()
	decoded, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: %v", ErrTruncated, format, err)
		}
		return nil, fmt.Errorf("media: decode %s: %w", format, err)
	}
	b := decoded.Bounds()
	if int64(b.Dx())*int64(b.Dy()) > opts.maxPixels() || b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: decoded %s image is %d×%d", ErrTooLarge, format, b.Dx(), b.Dy())
	}
	alpha := AlphaDrop
	if opts != nil {
		alpha = opts.Alpha
	}
	img = toRGB(decoded, alpha)
	if opts == nil || !opts.IgnoreOrientation {
		if o := exifOrientation(format, data); o > 1 {
			img = orient(img, o)
		}
	}
	return img, nil
}

func isJPEG(data []byte) bool { return len(data) >= 2 && data[0] == 0xFF && data[1] == 0xD8 }

// decodeJPEG is DecodeImage for JPEG data, through media/jpeg.
func decodeJPEG(data []byte, opts *DecodeOptions) (img *Image, err error) {
	defer func() {
		// A decoder bug must not take the process down with it.
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("media: jpeg decoder failed: %v", r)
		}
	}()
	cfg, err := jpeg.DecodeConfig(data)
	if err != nil {
		return nil, jpegError("bad JPEG header", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > opts.maxPixels() {
		return nil, fmt.Errorf("%w: jpeg image declares %d×%d pixels, limit %d", ErrTooLarge, cfg.Width, cfg.Height, opts.maxPixels())
	}
	if err := checkComplete("jpeg", data, image.Config{Width: cfg.Width, Height: cfg.Height}); err != nil {
		return nil, err
	}
	dec, err := jpeg.Decode(data, &jpeg.Options{MaxPixels: opts.maxPixels()})
	if err != nil {
		return nil, jpegError("decode jpeg", err)
	}
	img = &Image{Width: dec.Width, Height: dec.Height, Pix: dec.Pix}
	if opts == nil || !opts.IgnoreOrientation {
		if o := exifOrientation("jpeg", data); o > 1 {
			img = orient(img, o)
		}
	}
	return img, nil
}

// jpegError files a media/jpeg error under this package's error kinds.
func jpegError(what string, err error) error {
	switch {
	case errors.Is(err, jpeg.ErrTruncated):
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	case errors.Is(err, jpeg.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return fmt.Errorf("media: %s: %w", what, err)
}

// checkComplete looks for the structural end of the formats where that is
// cheap, so a cut-off download is refused before its pixels are decoded.
func checkComplete(format string, data []byte, cfg image.Config) error {
	switch format {
	case "png":
		if !bytes.Contains(data, []byte("IEND")) {
			return fmt.Errorf("%w: PNG has no IEND chunk", ErrTruncated)
		}
	case "jpeg":
		sos := jpegScanStart(data)
		if sos < 0 || !bytes.Contains(data[sos:], []byte{0xFF, 0xD9}) {
			return fmt.Errorf("%w: JPEG has no end-of-image marker after its scan", ErrTruncated)
		}
	case "webp":
		if len(data) >= 12 {
			if n := int64(binary.LittleEndian.Uint32(data[4:8])) + 8; n > int64(len(data)) {
				return fmt.Errorf("%w: WebP declares %d bytes, has %d", ErrTruncated, n, len(data))
			}
		}
	case "bmp":
		if len(data) >= 30 {
			off := int64(binary.LittleEndian.Uint32(data[10:14]))
			bpp := int64(binary.LittleEndian.Uint16(data[28:30]))
			compression := uint32(0)
			if len(data) >= 34 {
				compression = binary.LittleEndian.Uint32(data[30:34])
			}
			if compression == 0 || compression == 3 { // BI_RGB, BI_BITFIELDS: fixed row size
				row := (int64(cfg.Width)*bpp + 31) / 32 * 4
				if need := off + row*int64(cfg.Height); need > int64(len(data)) {
					return fmt.Errorf("%w: BMP needs %d bytes, has %d", ErrTruncated, need, len(data))
				}
			}
		}
	}
	return nil
}

// jpegScanStart returns the offset of the first top-level start-of-scan
// marker, walking the marker segments (so a thumbnail inside APP1 does not
// count), or -1.
func jpegScanStart(d []byte) int {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return -1
	}
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			i++ // junk between segments: skipped by libjpeg and Pillow
			continue
		}
		m := d[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0xDA:
			return i
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8):
			i += 2
			continue
		case m == 0xD9:
			return -1
		}
		n := int(binary.BigEndian.Uint16(d[i+2 : i+4]))
		if n < 2 {
			return -1
		}
		i += 2 + n
	}
	return -1
}
