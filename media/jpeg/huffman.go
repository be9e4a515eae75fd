package jpeg

import "fmt"

// lookBits is the width of the fast Huffman lookup: codes up to this long
// (nearly all of them) are decoded with one table access.
const lookBits = 9

// huffTable is a decoding table built from a DHT segment (or from the
// standard tables when a file relies on them, as Motion-JPEG does).
type huffTable struct {
	// fast[code] = length<<8 | symbol for codes of at most lookBits bits,
	// indexed by the next lookBits bits of the stream; 0 when longer.
	fast [1 << lookBits]uint16
	// maxCode[l] is the largest code of length l (-1 if none), valOff[l]
	// turns a code of length l into an index into vals.
	maxCode [18]int32
	valOff  [17]int32
	vals    [256]uint8
}

// build fills t from the 16 code-length counts and the symbols of a DHT.
// DC tables may only hold magnitude categories 0–15.
func (t *huffTable) build(counts *[16]uint8, vals []uint8, isDC bool) error {
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	if total > 256 || total > len(vals) {
		return fmt.Errorf("%w: Huffman table has %d symbols", ErrFormat, total)
	}
	if isDC {
		for _, v := range vals[:total] {
			if v > 15 {
				return fmt.Errorf("%w: DC Huffman table holds symbol %d", ErrFormat, v)
			}
		}
	}
	*t = huffTable{}
	copy(t.vals[:], vals[:total])
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if n == 0 {
			t.maxCode[l] = -1
		} else {
			t.valOff[l] = k - code
			for range n {
				// Each code must fit in l bits, and none may be all ones
				// (libjpeg refuses such tables too).
				if code >= 1<<l-1 {
					return fmt.Errorf("%w: bad Huffman table", ErrFormat)
				}
				if l <= lookBits {
					shift := lookBits - l
					base := code << shift
					entry := uint16(l)<<8 | uint16(t.vals[k])
					for j := range int32(1) << shift {
						t.fast[base+j] = entry
					}
				}
				code++
				k++
			}
			t.maxCode[l] = code - 1
		}
		code <<= 1
	}
	t.maxCode[17] = 0x7FFFFFFF // sentinel: any 17-bit "code" ends the search
	return nil
}

// bitReader reads the entropy-coded segment of a scan: it removes stuffed
// zero bytes and, like libjpeg, feeds zero bits once it reaches a marker.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // next bits, most significant first
	n      uint   // valid bits in acc
	marker bool   // reached a marker (or the end of data): only zeros follow
	eof    bool   // the data ended with no marker
	pad    uint   // zero bits appended since the marker or the end of data
}

// fill tops the accumulator up to at least 57 bits.
func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		if !b.marker {
			if b.pos >= len(b.data) {
				b.marker, b.eof = true, true
			} else {
				c = b.data[b.pos]
				if c == 0xFF {
					// Skip fill bytes (FF FF ... FF 00 is one stuffed FF).
					j := b.pos + 1
					for j < len(b.data) && b.data[j] == 0xFF {
						j++
					}
					switch {
					case j >= len(b.data):
						b.marker, b.eof = true, true
						b.pos = len(b.data)
						c = 0
					case b.data[j] == 0x00:
						b.pos = j + 1
					default:
						// A real marker: stop in front of it.
						b.pos = j - 1
						b.marker = true
						c = 0
					}
				} else {
					b.pos++
				}
			}
		}
		if b.marker {
			b.pad += 8
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// overrun reports whether bits beyond the end of the data were consumed.
func (b *bitReader) overrun() bool { return b.eof && b.n < b.pad }

func (b *bitReader) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if b.n < n {
		b.fill()
	}
	v := int32(b.acc >> (64 - n))
	b.acc <<= n
	b.n -= n
	return v
}

func (b *bitReader) bit() bool {
	if b.n == 0 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}

// receiveExtend reads an s-bit magnitude category value and sign-extends it
// (JPEG F.2.2.1).
func (b *bitReader) receiveExtend(s uint8) int32 {
	if s == 0 {
		return 0
	}
	if s > 16 {
		s = 16
	}
	v := b.bits(uint(s))
	if v < int32(1)<<(s-1) {
		v += (-1 << s) + 1
	}
	return v
}

// decode reads one Huffman symbol.
func (b *bitReader) decode(t *huffTable) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.fast[b.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return uint8(e), nil
	}
	code := int32(b.acc >> (64 - lookBits - 1))
	l := lookBits + 1
	for ; code > t.maxCode[l]; l++ {
		if l == 16 {
			return 0, fmt.Errorf("%w: bad Huffman code", ErrFormat)
		}
		code = int32(b.acc >> (64 - uint(l) - 1))
	}
	b.acc <<= uint(l)
	b.n -= uint(l)
	i := code + t.valOff[l]
	if i < 0 || i > 255 {
		return 0, fmt.Errorf("%w: bad Huffman code", ErrFormat)
	}
	return t.vals[i], nil
}

// Standard Huffman tables (ITU T.81 Annex K.3), which libjpeg-turbo uses
// when a scan refers to table 0 or 1 that the file never defined.
var (
	stdDCLumaCounts   = [16]uint8{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}
	stdDCChromaCounts = [16]uint8{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	stdDCVals         = []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	stdACLumaCounts   = [16]uint8{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d}
	stdACLumaVals     = []uint8{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
		0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
		0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
		0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
		0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
		0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
		0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}
	stdACChromaCounts = [16]uint8{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77}
	stdACChromaVals   = []uint8{
		0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
		0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
		0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
		0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
		0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
		0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
		0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
		0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
		0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}
)

// stdTable returns the standard table for class (0 DC, 1 AC) and slot 0
// (luminance) or 1 (chrominance), or nil for other slots.
func stdTable(class, slot int) *huffTable {
	var counts *[16]uint8
	var vals []uint8
	switch {
	case class == 0 && slot == 0:
		counts, vals = &stdDCLumaCounts, stdDCVals
	case class == 0 && slot == 1:
		counts, vals = &stdDCChromaCounts, stdDCVals
	case class == 1 && slot == 0:
		counts, vals = &stdACLumaCounts, stdACLumaVals
	case class == 1 && slot == 1:
		counts, vals = &stdACChromaCounts, stdACChromaVals
	default:
		return nil
	}
	t := new(huffTable)
	if err := t.build(counts, vals, class == 0); err != nil {
		return nil
	}
	return t
}
