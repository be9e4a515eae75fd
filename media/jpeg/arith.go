package jpeg

import "fmt"

// Arithmetic-coded JPEG (SOF9 sequential, SOF10 progressive): the QM-coder
// of ITU T.81 Annex D and the coefficient models of Annex F / G, with
// libjpeg's handling of markers (zero bytes are fed once one is reached)
// and of corrupt data (a bad code stops the decoding until the next
// restart marker).

// qeTable is Table D.2: for each probability-estimation state, Qe<<16 |
// next state after an MPS<<8 | switch-MPS flag<<7 | next state after an
// LPS. State 113 is a non-adapting estimate of ½ (T.851) used for sign
// and refinement bits.
var qeTable = func() (t [114]uint32) {
	rows := [114][4]uint32{
		{0x5a1d, 1, 1, 1}, {0x2586, 14, 2, 0}, {0x1114, 16, 3, 0}, {0x080b, 18, 4, 0},
		{0x03d8, 20, 5, 0}, {0x01da, 23, 6, 0}, {0x00e5, 25, 7, 0}, {0x006f, 28, 8, 0},
		{0x0036, 30, 9, 0}, {0x001a, 33, 10, 0}, {0x000d, 35, 11, 0}, {0x0006, 9, 12, 0},
		{0x0003, 10, 13, 0}, {0x0001, 12, 13, 0}, {0x5a7f, 15, 15, 1}, {0x3f25, 36, 16, 0},
		{0x2cf2, 38, 17, 0}, {0x207c, 39, 18, 0}, {0x17b9, 40, 19, 0}, {0x1182, 42, 20, 0},
		{0x0cef, 43, 21, 0}, {0x09a1, 45, 22, 0}, {0x072f, 46, 23, 0}, {0x055c, 48, 24, 0},
		{0x0406, 49, 25, 0}, {0x0303, 51, 26, 0}, {0x0240, 52, 27, 0}, {0x01b1, 54, 28, 0},
		{0x0144, 56, 29, 0}, {0x00f5, 57, 30, 0}, {0x00b7, 59, 31, 0}, {0x008a, 60, 32, 0},
		{0x0068, 62, 33, 0}, {0x004e, 63, 34, 0}, {0x003b, 32, 35, 0}, {0x002c, 33, 9, 0},
		{0x5ae1, 37, 37, 1}, {0x484c, 64, 38, 0}, {0x3a0d, 65, 39, 0}, {0x2ef1, 67, 40, 0},
		{0x261f, 68, 41, 0}, {0x1f33, 69, 42, 0}, {0x19a8, 70, 43, 0}, {0x1518, 72, 44, 0},
		{0x1177, 73, 45, 0}, {0x0e74, 74, 46, 0}, {0x0bfb, 75, 47, 0}, {0x09f8, 77, 48, 0},
		{0x0861, 78, 49, 0}, {0x0706, 79, 50, 0}, {0x05cd, 48, 51, 0}, {0x04de, 50, 52, 0},
		{0x040f, 50, 53, 0}, {0x0363, 51, 54, 0}, {0x02d4, 52, 55, 0}, {0x025c, 53, 56, 0},
		{0x01f8, 54, 57, 0}, {0x01a4, 55, 58, 0}, {0x0160, 56, 59, 0}, {0x0125, 57, 60, 0},
		{0x00f6, 58, 61, 0}, {0x00cb, 59, 62, 0}, {0x00ab, 61, 63, 0}, {0x008f, 61, 32, 0},
		{0x5b12, 65, 65, 1}, {0x4d04, 80, 66, 0}, {0x412c, 81, 67, 0}, {0x37d8, 82, 68, 0},
		{0x2fe8, 83, 69, 0}, {0x293c, 84, 70, 0}, {0x2379, 86, 71, 0}, {0x1edf, 87, 72, 0},
		{0x1aa9, 87, 73, 0}, {0x174e, 72, 74, 0}, {0x1424, 72, 75, 0}, {0x119c, 74, 76, 0},
		{0x0f6b, 74, 77, 0}, {0x0d51, 75, 78, 0}, {0x0bb6, 77, 79, 0}, {0x0a40, 77, 48, 0},
		{0x5832, 80, 81, 1}, {0x4d1c, 88, 82, 0}, {0x438e, 89, 83, 0}, {0x3bdd, 90, 84, 0},
		{0x34ee, 91, 85, 0}, {0x2eae, 92, 86, 0}, {0x299a, 93, 87, 0}, {0x2516, 86, 71, 0},
		{0x5570, 88, 89, 1}, {0x4ca9, 95, 90, 0}, {0x44d9, 96, 91, 0}, {0x3e22, 97, 92, 0},
		{0x3824, 99, 93, 0}, {0x32b4, 99, 94, 0}, {0x2e17, 93, 86, 0}, {0x56a8, 95, 96, 1},
		{0x4f46, 101, 97, 0}, {0x47e5, 102, 98, 0}, {0x41cf, 103, 99, 0}, {0x3c3d, 104, 100, 0},
		{0x375e, 99, 93, 0}, {0x5231, 105, 102, 0}, {0x4c0f, 106, 103, 0}, {0x4639, 107, 104, 0},
		{0x415e, 103, 99, 0}, {0x5627, 105, 106, 1}, {0x50e7, 108, 107, 0}, {0x4b85, 109, 103, 0},
		{0x5597, 110, 109, 0}, {0x504f, 111, 107, 0}, {0x5a10, 110, 111, 1}, {0x5522, 112, 109, 0},
		{0x59eb, 112, 111, 1}, {0x5a1d, 113, 113, 0},
	}
	// rows: Qe, next after LPS, next after MPS, switch.
	for i, r := range rows {
		t[i] = r[0]<<16 | r[2]<<8 | r[3]<<7 | r[1]
	}
	return t
}()

// fixedState is the state of the non-adapting ½ estimate.
const fixedState = 113

// arithReader is the QM decoder's C and A registers and its byte input.
type arithReader struct {
	data   []byte
	pos    int
	c, a   int64
	ct     int  // bits left in the byte part of c; -16 before the first two bytes, -1 after an error
	marker bool // reached a marker (or the end of data): zero bytes follow
	eof    bool // the data ended with no marker
	pad    int  // zero bytes fed since the marker or the end of data
	fixed  uint8
}

func (r *arithReader) reset(pos int) {
	*r = arithReader{data: r.data, pos: pos, ct: -16, fixed: fixedState}
}

// next returns the next data byte, undoing 0xFF00 stuffing; at a marker it
// stops in front of it and returns zeros, as libjpeg does.
func (r *arithReader) next() int64 {
	if r.marker {
		r.pad++
		return 0
	}
	if r.pos >= len(r.data) {
		r.marker, r.eof = true, true
		r.pad++
		return 0
	}
	b := r.data[r.pos]
	r.pos++
	if b != 0xFF {
		return int64(b)
	}
	for r.pos < len(r.data) && r.data[r.pos] == 0xFF {
		r.pos++
	}
	if r.pos >= len(r.data) {
		r.marker, r.eof = true, true
		r.pad++
		return 0
	}
	if r.data[r.pos] == 0 {
		r.pos++
		return 0xFF
	}
	r.pos-- // stand on the 0xFF before the marker code
	r.marker = true
	r.pad++
	return 0
}

// decode decodes one binary decision with the adaptive state *st
// (MPS in bit 7, state index below), updating it (T.81 D.2.4–D.2.6).
func (r *arithReader) decode(st *uint8) int {
	for r.a < 0x8000 {
		r.ct--
		if r.ct < 0 {
			r.c = r.c<<8 | r.next()
			r.ct += 8
			if r.ct < 0 {
				r.ct++
				if r.ct == 0 {
					r.a = 0x8000 // the first two bytes are in: A starts at 0x10000
				}
			}
		}
		r.a <<= 1
	}
	sv := *st
	e := qeTable[sv&0x7F]
	qe := int64(e >> 16)
	nl := uint8(e)      // next state after an LPS, with the switch flag
	nm := uint8(e >> 8) // next state after an MPS
	r.a -= qe
	t := r.a
	if r.ct > 0 { // ct is never negative here in a well-formed stream
		t <<= uint(r.ct)
	}
	switch {
	case r.c >= t:
		r.c -= t
		if r.a < qe {
			r.a = qe
			*st = sv&0x80 ^ nm
		} else {
			r.a = qe
			*st = sv&0x80 ^ nl
			sv ^= 0x80
		}
	case r.a < 0x8000:
		if r.a < qe {
			*st = sv&0x80 ^ nl
			sv ^= 0x80
		} else {
			*st = sv&0x80 ^ nm
		}
	}
	return int(sv >> 7)
}

// value decodes the bits below the leading one of a magnitude whose top
// bit is m (T.81 F.1.4.4.1.3, Figure F.24) with the bin st[0], and applies
// the sign: the coefficient (or DC difference) itself.
func (r *arithReader) value(st []uint8, m, sign int) int {
	v := m
	for m >>= 1; m != 0; m >>= 1 {
		if r.decode(&st[0]) != 0 {
			v |= m
		}
	}
	v++
	if sign != 0 {
		v = -v
	}
	return v
}

// arithState is the per-image statistics of an arithmetic-coded file.
type arithState struct {
	r       arithReader
	dcStats [16][64]uint8 // arithmetic coding allows 16 tables of each class
	acStats [16][256]uint8
	dcL     [16]uint8 // DAC conditioning: lower and upper DC bounds, AC split
	dcU     [16]uint8
	acK     [16]uint8
}

func newArithState() *arithState {
	a := &arithState{}
	for i := range a.dcU {
		a.dcU[i], a.acK[i] = 1, 5
	}
	return a
}

// parseDAC reads a define-arithmetic-conditioning segment.
func (d *decoder) parseDAC(seg []byte) error {
	if len(seg)%2 != 0 {
		return fmt.Errorf("%w: DAC segment has odd length", ErrFormat)
	}
	for ; len(seg) >= 2; seg = seg[2:] {
		idx, v := seg[0], seg[1]
		switch {
		case idx < 16:
			d.ar.dcL[idx], d.ar.dcU[idx] = v&15, v>>4
			if v&15 > v>>4 {
				return fmt.Errorf("%w: DAC lower bound above upper bound", ErrFormat)
			}
		case idx < 32:
			d.ar.acK[idx-16] = v
		default:
			return fmt.Errorf("%w: DAC table index %d", ErrFormat, idx)
		}
	}
	return nil
}

// arithStartScan resets the statistics the scan uses, as at a restart.
func (d *decoder) arithStartScan(s *scanState) {
	a := d.ar
	for _, c := range s.comps {
		if !d.progressive || (s.ss == 0 && s.ah == 0) {
			a.dcStats[c.td] = [64]uint8{}
			c.dcPred, c.dcCtx = 0, 0
		}
		if !d.progressive || s.ss != 0 {
			a.acStats[c.ta] = [256]uint8{}
		}
	}
}

// arithBlock decodes one block of an arithmetic-coded scan.
func (d *decoder) arithBlock(s *scanState, c *component, blk *[64]int16) {
	r := &d.ar.r
	if r.ct == -1 && !(d.progressive && s.ss == 0 && s.ah != 0) {
		return // after a bad code libjpeg leaves the rest of the interval alone
	}
	switch {
	case !d.progressive:
		if d.arithDC(c, blk, 0) {
			d.arithAC(c, blk, 1, 63, 0)
		}
	case s.ss == 0 && s.ah == 0:
		d.arithDC(c, blk, s.al)
	case s.ss == 0:
		if r.decode(&r.fixed) != 0 {
			blk[0] |= int16(1 << s.al)
		}
	case s.ah == 0:
		d.arithAC(c, blk, s.ss, s.se, s.al)
	default:
		d.arithACRefine(c, blk, s)
	}
}

// arithDC decodes a DC difference (T.81 F.2.4.1) and stores the predicted
// value shifted by al; false after a corrupt code.
func (d *decoder) arithDC(c *component, blk *[64]int16, al int) bool {
	r := &d.ar.r
	st := &d.ar.dcStats[c.td]
	i := c.dcCtx
	if r.decode(&st[i]) == 0 {
		c.dcCtx = 0
	} else {
		sign := r.decode(&st[i+1])
		i += 2 + sign
		m := r.decode(&st[i])
		if m != 0 {
			i = 20
			for r.decode(&st[i]) != 0 {
				if m <<= 1; m == 0x8000 {
					r.ct = -1
					return false
				}
				i++
			}
		}
		switch {
		case m < (1<<d.ar.dcL[c.td])>>1:
			c.dcCtx = 0
		case m > (1<<d.ar.dcU[c.td])>>1:
			c.dcCtx = 12 + 4*sign
		default:
			c.dcCtx = 4 + 4*sign
		}
		c.dcPred = (c.dcPred + int32(r.value(st[i+14:], m, sign))) & 0xFFFF
	}
	blk[0] = int16(c.dcPred << al)
	return true
}

// arithAC decodes the AC coefficients ss..se of a block (F.2.4.2, G.1.3.2).
func (d *decoder) arithAC(c *component, blk *[64]int16, ss, se, al int) {
	r := &d.ar.r
	st := &d.ar.acStats[c.ta]
	for k := ss; k <= se; k++ {
		i := 3 * (k - 1)
		if r.decode(&st[i]) != 0 {
			return // end of block
		}
		for r.decode(&st[i+1]) == 0 {
			i += 3
			if k++; k > se {
				r.ct = -1
				return
			}
		}
		sign := r.decode(&r.fixed)
		i += 2
		m := r.decode(&st[i])
		if m != 0 && r.decode(&st[i]) != 0 {
			m <<= 1
			i = 217
			if k <= int(d.ar.acK[c.ta]) {
				i = 189
			}
			for r.decode(&st[i]) != 0 {
				if m <<= 1; m == 0x8000 {
					r.ct = -1
					return
				}
				i++
			}
		}
		blk[natural[k]] = int16(uint32(r.value(st[i+14:], m, sign)) << al)
	}
}

// arithACRefine adds one bit of precision to coefficients ss..se (G.1.3.3).
func (d *decoder) arithACRefine(c *component, blk *[64]int16, s *scanState) {
	r := &d.ar.r
	st := &d.ar.acStats[c.ta]
	p1 := int16(1) << s.al
	m1 := int16(-1) << s.al
	kex := s.se // end of block as of the previous stage
	for ; kex > 0; kex-- {
		if blk[natural[kex]] != 0 {
			break
		}
	}
	for k := s.ss; k <= s.se; k++ {
		i := 3 * (k - 1)
		if k > kex && r.decode(&st[i]) != 0 {
			return
		}
		for {
			coef := &blk[natural[k]]
			if *coef != 0 {
				if r.decode(&st[i+2]) != 0 {
					if *coef < 0 {
						*coef += m1
					} else {
						*coef += p1
					}
				}
				break
			}
			if r.decode(&st[i+1]) != 0 {
				if r.decode(&r.fixed) != 0 {
					*coef = m1
				} else {
					*coef = p1
				}
				break
			}
			i += 3
			if k++; k > s.se {
				r.ct = -1
				return
			}
		}
	}
}
