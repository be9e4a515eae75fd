// Package jpeg decodes JPEG files to 8-bit RGB exactly as Pillow does with
// its default settings, that is as libjpeg-turbo decodes them by default
// (ISLOW integer inverse DCT, "fancy" triangle-filter chroma upsampling,
// libjpeg's fixed-point YCbCr→RGB tables) followed by Pillow's own
// conversion to RGB (grayscale replicated; CMYK and YCCK files read with
// Adobe's inverted polarity, as Pillow assumes, then Pillow's CMYK→RGB).
//
// Baseline and extended sequential (SOF0, SOF1) and progressive (SOF2)
// 8-bit files are supported, Huffman- or arithmetic-coded (SOF9, SOF10),
// with any number of scans, restart intervals, and any integral sampling
// factors. Lossless and hierarchical JPEG and 12-bit samples are refused
// with ErrUnsupported (Pillow cannot open 12-bit files either).
//
// The decoder is pure Go, allocates in proportion to the declared image
// size only after checking it against a pixel limit, and returns an error,
// never a panic, on malformed input.
package jpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decode and DecodeConfig, wrapped with details.
var (
	// ErrFormat: the data is not a well-formed JPEG file.
	ErrFormat = errors.New("jpeg: invalid JPEG data")
	// ErrUnsupported: a valid JPEG using a feature this decoder lacks.
	ErrUnsupported = errors.New("jpeg: unsupported JPEG")
	// ErrTruncated: the data ends before the image does.
	ErrTruncated = errors.New("jpeg: truncated JPEG data")
	// ErrTooLarge: the declared size exceeds the pixel limit.
	ErrTooLarge = errors.New("jpeg: image too large")
)

// DefaultMaxPixels is the pixel limit used when Options.MaxPixels is 0:
// Pillow's decompression-bomb threshold.
const DefaultMaxPixels = 89_478_485

// maxScans bounds the work a small file can ask for: each scan may cost a
// pass over every block of the image, so a few kilobytes of scan headers
// could otherwise keep a large image decoding for minutes. Encoders write
// about ten (cjpeg, mozjpeg) and hand-written scan scripts a few dozen.
const maxScans = 100

// Options tunes Decode. The zero value is ready to use.
type Options struct {
	// MaxPixels refuses images whose declared width·height is larger;
	// 0 means DefaultMaxPixels.
	MaxPixels int64
}

// ColorSpace is the colour model of the coded samples, as libjpeg infers it
// from the component count and the JFIF / Adobe markers.
type ColorSpace int

// The colour spaces a JPEG may be coded in.
const (
	Gray ColorSpace = iota
	YCbCr
	RGB
	CMYK
	YCCK
)

func (c ColorSpace) String() string {
	switch c {
	case Gray:
		return "gray"
	case YCbCr:
		return "YCbCr"
	case RGB:
		return "RGB"
	case CMYK:
		return "CMYK"
	case YCCK:
		return "YCCK"
	}
	return fmt.Sprintf("ColorSpace(%d)", int(c))
}

// Config describes a JPEG file without decoding its pixels.
type Config struct {
	Width, Height int
	// Components is 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK).
	Components  int
	ColorSpace  ColorSpace
	Progressive bool
}

// Image is the decoded picture: 8-bit RGB, rows top to bottom, pixels
// interleaved, Pix[(y*Width+x)*3+c].
type Image struct {
	Width, Height int
	Pix           []uint8
}

// natural maps zigzag index to natural (row-major) order; the 16 extra
// entries absorb run lengths that overshoot the block in corrupt data, as
// libjpeg's table does.
var natural = [64 + 16]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}

type component struct {
	id     uint8
	h, v   int   // sampling factors
	tq     uint8 // quantisation table slot
	q      *[64]int16
	dw, dh int // samples: ceil(width·h/maxH) × ceil(height·v/maxV)
	bw, bh int // blocks covering dw × dh
	plane  []uint8
	stride int
	coef   []int16 // progressive: bw·bh blocks of 64 (natural order)
	dcPred int32
	dcCtx  int   // arithmetic coding: DC conditioning context
	td, ta uint8 // entropy table slots of the current scan
	seen   bool  // appeared in a scan
}

type decoder struct {
	data        []byte
	pos         int
	maxPixels   int64
	width       int
	height      int
	sof         bool
	progressive bool
	arith       bool        // arithmetic-coded (SOF9, SOF10)
	ar          *arithState // its statistics and decoder
	comps       []component
	maxH, maxV  int
	mcusX       int
	mcusY       int
	qt          [4][64]int16
	qtSet       [4]bool
	dc, ac      [4]*huffTable
	restart     int
	jfif        bool
	adobe       bool
	transform   uint8
	scans       int
	eobrun      int32
	br          bitReader
	starved     bool // libjpeg's insufficient_data: the scan ran out of bits
	block       [64]int16
}

// DecodeConfig reads the header of a JPEG file up to its frame header.
func DecodeConfig(data []byte) (Config, error) {
	d := &decoder{data: data, maxPixels: -1, ar: newArithState()}
	if err := d.run(true); err != nil {
		return Config{}, err
	}
	return d.config(), nil
}

// Decode decodes a whole JPEG file to RGB the way Pillow's
// Image.open(f).convert("RGB") does.
func Decode(data []byte, opts *Options) (*Image, error) {
	limit := int64(DefaultMaxPixels)
	if opts != nil && opts.MaxPixels > 0 {
		limit = opts.MaxPixels
	}
	d := &decoder{data: data, maxPixels: limit, ar: newArithState()}
	if err := d.run(false); err != nil {
		return nil, err
	}
	return d.output(), nil
}

func (d *decoder) config() Config {
	return Config{Width: d.width, Height: d.height, Components: len(d.comps), ColorSpace: d.colorSpace(), Progressive: d.progressive}
}

// colorSpace applies libjpeg's default_decompress_parms guess.
func (d *decoder) colorSpace() ColorSpace {
	switch len(d.comps) {
	case 1:
		return Gray
	case 3:
		switch {
		case d.jfif:
			return YCbCr
		case d.adobe:
			if d.transform == 0 {
				return RGB
			}
			return YCbCr
		}
		if d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B' {
			return RGB
		}
		return YCbCr
	default:
		if d.adobe && d.transform == 0 {
			return CMYK
		}
		if d.adobe {
			return YCCK
		}
		return CMYK
	}
}

func (d *decoder) u16(at int) int { return int(binary.BigEndian.Uint16(d.data[at:])) }

// nextMarker finds the next marker at or after d.pos, skipping garbage and
// fill bytes as libjpeg does, and leaves d.pos after it.
func (d *decoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return 0, fmt.Errorf("%w: no end-of-image marker", ErrTruncated)
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// segment returns the payload of the length-prefixed segment at d.pos and
// moves past it.
func (d *decoder) segment(m byte) ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, fmt.Errorf("%w: marker %#02x cut short", ErrTruncated, m)
	}
	n := d.u16(d.pos)
	if n < 2 {
		return nil, fmt.Errorf("%w: marker %#02x has length %d", ErrFormat, m, n)
	}
	if d.pos+n > len(d.data) {
		return nil, fmt.Errorf("%w: marker %#02x segment cut short", ErrTruncated, m)
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

// run walks the markers; headerOnly stops at the frame header.
func (d *decoder) run(headerOnly bool) error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return fmt.Errorf("%w: missing start-of-image marker", ErrFormat)
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			if d.scans > 0 && !headerOnly {
				// libjpeg treats a missing EOI after complete scans as the end.
				return d.finish()
			}
			return err
		}
		switch {
		case m == 0xD8:
			return fmt.Errorf("%w: second start-of-image marker", ErrFormat)
		case m == 0xD9: // EOI
			if headerOnly || !d.sof {
				return fmt.Errorf("%w: end of image before the frame header", ErrFormat)
			}
			if d.scans == 0 {
				return fmt.Errorf("%w: image has no scan", ErrFormat)
			}
			return d.finish()
		case m >= 0xD0 && m <= 0xD7, m == 0x01: // stray RSTn, TEM: no payload
			continue
		}
		seg, err := d.segment(m)
		if err != nil {
			return err
		}
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC9 || m == 0xCA:
			d.arith = m >= 0xC9
			if err := d.parseSOF(seg, m == 0xC2 || m == 0xCA); err != nil {
				return err
			}
			if headerOnly {
				return nil
			}
		case m == 0xC3 || (m >= 0xC5 && m <= 0xC7) || m == 0xCB || (m >= 0xCD && m <= 0xCF):
			return fmt.Errorf("%w: SOF%d (lossless or hierarchical JPEG)", ErrUnsupported, m-0xC0)
		case m == 0xC4:
			if err := d.parseDHT(seg); err != nil {
				return err
			}
		case m == 0xCC:
			if err := d.parseDAC(seg); err != nil {
				return err
			}
		case m == 0xDB:
			if err := d.parseDQT(seg); err != nil {
				return err
			}
		case m == 0xDD:
			if len(seg) < 2 {
				return fmt.Errorf("%w: short DRI segment", ErrFormat)
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xDA:
			if !d.sof {
				return fmt.Errorf("%w: scan before the frame header", ErrFormat)
			}
			if headerOnly {
				return fmt.Errorf("%w: scan before the frame header", ErrFormat)
			}
			if err := d.scan(seg); err != nil {
				return err
			}
		case m == 0xE0:
			if len(seg) >= 14 && string(seg[:5]) == "JFIF\x00" {
				d.jfif = true
			}
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = true
				d.transform = seg[11]
			}
		}
	}
}

func (d *decoder) parseSOF(seg []byte, progressive bool) error {
	if d.sof {
		return fmt.Errorf("%w: more than one frame header", ErrFormat)
	}
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", ErrFormat)
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", ErrUnsupported, seg[0])
	}
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return fmt.Errorf("%w: image declares size %d×%d", ErrFormat, d.width, d.height)
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return fmt.Errorf("%w: %d colour components", ErrUnsupported, nc)
	}
	if len(seg) < 6+3*nc {
		return fmt.Errorf("%w: short frame header", ErrFormat)
	}
	d.progressive = progressive
	d.comps = make([]component, nc)
	d.maxH, d.maxV = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		p := seg[6+3*i:]
		c.id, c.h, c.v, c.tq = p[0], int(p[1]>>4), int(p[1]&15), p[2]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return fmt.Errorf("%w: sampling factors %d×%d", ErrFormat, c.h, c.v)
		}
		if c.tq > 3 {
			return fmt.Errorf("%w: quantisation table %d", ErrFormat, c.tq)
		}
		for j := range i {
			if d.comps[j].id == c.id {
				// libjpeg accepts this with a warning, but scans could then
				// not say which component they code.
				return fmt.Errorf("%w: duplicate component id %d", ErrUnsupported, c.id)
			}
		}
		d.maxH, d.maxV = max(d.maxH, c.h), max(d.maxV, c.v)
	}
	d.sof = true
	if d.maxPixels < 0 { // header only
		return nil
	}
	if px := int64(d.width) * int64(d.height); px > d.maxPixels {
		return fmt.Errorf("%w: %d×%d pixels, limit %d", ErrTooLarge, d.width, d.height, d.maxPixels)
	}
	for i := range d.comps {
		c := &d.comps[i]
		if d.maxH%c.h != 0 || d.maxV%c.v != 0 {
			return fmt.Errorf("%w: fractional sampling factors", ErrUnsupported)
		}
	}
	d.mcusX = ceilDiv(d.width, 8*d.maxH)
	d.mcusY = ceilDiv(d.height, 8*d.maxV)
	for i := range d.comps {
		c := &d.comps[i]
		c.dw = ceilDiv(d.width*c.h, d.maxH)
		c.dh = ceilDiv(d.height*c.v, d.maxV)
		c.bw, c.bh = ceilDiv(c.dw, 8), ceilDiv(c.dh, 8)
		c.stride = c.bw * 8
		c.plane = make([]uint8, c.stride*c.bh*8)
		if progressive {
			c.coef = make([]int16, c.bw*c.bh*64)
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (d *decoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return fmt.Errorf("%w: quantisation table %d precision %d", ErrFormat, tq, pq)
		}
		n := 64 << pq
		if len(seg) < 1+n {
			return fmt.Errorf("%w: short DQT segment", ErrFormat)
		}
		t := &d.qt[tq]
		for k := range 64 {
			if pq == 0 {
				t[natural[k]] = int16(seg[1+k])
			} else {
				// libjpeg-turbo keeps the multipliers in 16-bit ints.
				t[natural[k]] = int16(binary.BigEndian.Uint16(seg[1+2*k:]))
			}
		}
		d.qtSet[tq] = true
		seg = seg[1+n:]
	}
	return nil
}

func (d *decoder) parseDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("%w: short DHT segment", ErrFormat)
		}
		class, slot := seg[0]>>4, seg[0]&15
		if class > 1 || slot > 3 {
			return fmt.Errorf("%w: Huffman table class %d slot %d", ErrFormat, class, slot)
		}
		var counts [16]uint8
		copy(counts[:], seg[1:17])
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if len(seg) < 17+total {
			return fmt.Errorf("%w: short DHT segment", ErrFormat)
		}
		t := new(huffTable)
		if err := t.build(&counts, seg[17:17+total], class == 0); err != nil {
			return err
		}
		if class == 0 {
			d.dc[slot] = t
		} else {
			d.ac[slot] = t
		}
		seg = seg[17+total:]
	}
	return nil
}
