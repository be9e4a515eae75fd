package jpeg

import "fmt"

// scanState is what one start-of-scan header selects.
type scanState struct {
	comps          []*component
	ss, se, ah, al int
}

// scan parses a start-of-scan header and decodes the entropy-coded data
// that follows it, leaving d.pos at the first byte after that data.
func (d *decoder) scan(seg []byte) error {
	d.scans++
	if d.scans > maxScans {
		return fmt.Errorf("%w: more than %d scans", ErrUnsupported, maxScans)
	}
	if len(seg) < 1 {
		return fmt.Errorf("%w: short scan header", ErrFormat)
	}
	n := int(seg[0])
	if n < 1 || n > 4 || len(seg) < 1+2*n+3 {
		return fmt.Errorf("%w: scan header with %d components", ErrFormat, n)
	}
	var s scanState
	blocksPerMCU := 0
	for i := range n {
		id, tables := seg[1+2*i], seg[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return fmt.Errorf("%w: scan names unknown component %d", ErrFormat, id)
		}
		for _, o := range s.comps {
			if o == c {
				return fmt.Errorf("%w: scan names component %d twice", ErrFormat, id)
			}
		}
		c.td, c.ta = tables>>4, tables&15
		if !d.arith && (c.td > 3 || c.ta > 3) {
			return fmt.Errorf("%w: Huffman table slot above 3", ErrFormat)
		}
		s.comps = append(s.comps, c)
		blocksPerMCU += c.h * c.v
	}
	if n > 1 && blocksPerMCU > 10 {
		return fmt.Errorf("%w: %d blocks per MCU", ErrFormat, blocksPerMCU)
	}
	p := seg[1+2*n:]
	s.ss, s.se, s.ah, s.al = int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)

	if d.progressive {
		bad := false
		if s.ss == 0 {
			bad = s.se != 0
		} else {
			bad = s.ss > s.se || s.se > 63 || n != 1
		}
		if s.ah != 0 && s.al != s.ah-1 {
			bad = true
		}
		if s.al > 13 {
			bad = true
		}
		if bad {
			return fmt.Errorf("%w: invalid progressive scan Ss=%d Se=%d Ah=%d Al=%d", ErrFormat, s.ss, s.se, s.ah, s.al)
		}
	} else {
		// libjpeg ignores these fields (with a warning) in sequential files.
		s.ss, s.se, s.ah, s.al = 0, 63, 0, 0
	}

	// Latch the quantisation tables and check the Huffman tables.
	for _, c := range s.comps {
		if !c.seen {
			if !d.qtSet[c.tq] {
				return fmt.Errorf("%w: quantisation table %d not defined", ErrFormat, c.tq)
			}
			q := d.qt[c.tq]
			c.q = &q
			c.seen = true
		}
		c.dcPred = 0
		if d.arith {
			continue
		}
		needDC := s.ss == 0 && s.ah == 0
		needAC := s.se > 0
		if needDC && d.dc[c.td] == nil {
			if d.dc[c.td] = stdTable(0, int(c.td)); d.dc[c.td] == nil {
				return fmt.Errorf("%w: DC Huffman table %d not defined", ErrFormat, c.td)
			}
		}
		if needAC && d.ac[c.ta] == nil {
			if d.ac[c.ta] = stdTable(1, int(c.ta)); d.ac[c.ta] == nil {
				return fmt.Errorf("%w: AC Huffman table %d not defined", ErrFormat, c.ta)
			}
		}
	}

	d.eobrun = 0
	d.starved = false
	if d.arith {
		d.ar.r.data = d.data
		d.ar.r.reset(d.pos)
		d.arithStartScan(&s)
	} else {
		d.br = bitReader{data: d.data, pos: d.pos}
	}
	if err := d.decodeScan(&s); err != nil {
		return err
	}
	if d.arith {
		if d.ar.r.eof {
			return fmt.Errorf("%w: scan data ends early", ErrTruncated)
		}
		d.pos = d.ar.r.pos
		return nil
	}
	if d.br.overrun() {
		return fmt.Errorf("%w: scan data ends early", ErrTruncated)
	}
	d.pos = d.br.pos
	return nil
}

// decodeScan walks the MCUs of one scan.
func (d *decoder) decodeScan(s *scanState) error {
	var mcusX, mcusY int
	single := len(s.comps) == 1
	if single {
		// A non-interleaved scan codes exactly the blocks covering the
		// component, one per MCU.
		mcusX, mcusY = s.comps[0].bw, s.comps[0].bh
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
	}
	restartsLeft := d.restart
	for my := range mcusY {
		for mx := range mcusX {
			if d.restart > 0 {
				if restartsLeft == 0 {
					d.processRestart(s)
					restartsLeft = d.restart
				}
				restartsLeft--
			}
			if single {
				if err := d.decodeBlockAt(s, s.comps[0], mx, my); err != nil {
					return err
				}
			} else {
				for _, c := range s.comps {
					for by := range c.v {
						for bx := range c.h {
							if err := d.decodeBlockAt(s, c, mx*c.h+bx, my*c.v+by); err != nil {
								return err
							}
						}
					}
				}
			}
			if !d.arith && !d.starved && d.br.marker && d.br.n < d.br.pad {
				// The MCU needed bits past a marker: libjpeg decodes it from
				// zero bits and leaves the rest of the scan alone.
				d.starved = true
			}
		}
	}
	return nil
}

// processRestart handles a restart boundary: drop what is left of the
// interval, consume the RSTn marker and reset the predictors (and, for
// arithmetic coding, the statistics).
func (d *decoder) processRestart(s *scanState) {
	pos := d.br.pos
	if d.arith {
		pos = d.ar.r.pos
	}
	// Find the next marker the way libjpeg's next_marker does: skip data up
	// to an 0xFF, fill bytes, and stuffed zero bytes.
	for {
		for pos < len(d.data) && d.data[pos] != 0xFF {
			pos++
		}
		for pos+1 < len(d.data) && d.data[pos+1] == 0xFF {
			pos++
		}
		if pos+1 >= len(d.data) {
			pos = len(d.data)
			break
		}
		if d.data[pos+1] != 0 {
			break
		}
		pos += 2
	}
	found := pos+1 < len(d.data) && d.data[pos+1] >= 0xD0 && d.data[pos+1] <= 0xD7
	if found {
		pos += 2
	}
	d.eobrun = 0
	if d.arith {
		d.ar.r.reset(pos)
		d.arithStartScan(s)
		return
	}
	if found {
		d.starved = false
	}
	d.br = bitReader{data: d.data, pos: pos}
	for _, c := range s.comps {
		c.dcPred = 0
	}
}

// decodeBlockAt decodes the block at block coordinates (bx, by) of c;
// blocks outside the component (MCU padding) are decoded and dropped.
func (d *decoder) decodeBlockAt(s *scanState, c *component, bx, by int) error {
	inside := bx < c.bw && by < c.bh
	if !d.progressive {
		blk := &d.block
		*blk = [64]int16{}
		if d.arith {
			d.arithBlock(s, c, blk)
		} else if !d.starved {
			if err := d.decodeBaseline(c, blk); err != nil {
				return err
			}
		}
		if inside {
			idctBlock(blk, c.q, c.plane[by*8*c.stride+bx*8:], c.stride)
		}
		return nil
	}
	var blk *[64]int16
	if inside {
		blk = (*[64]int16)(c.coef[(by*c.bw+bx)*64:])
	} else {
		blk = &d.block
		*blk = [64]int16{}
	}
	if d.arith {
		d.arithBlock(s, c, blk)
		return nil
	}
	if d.starved {
		return nil
	}
	switch {
	case s.ss == 0 && s.ah == 0:
		return d.decodeDCFirst(c, blk, s.al)
	case s.ss == 0:
		if d.br.bit() {
			blk[0] |= int16(1 << s.al)
		}
		return nil
	case s.ah == 0:
		return d.decodeACFirst(c, blk, s)
	default:
		return d.decodeACRefine(c, blk, s)
	}
}

func (d *decoder) decodeBaseline(c *component, blk *[64]int16) error {
	br := &d.br
	t, err := br.decode(d.dc[c.td])
	if err != nil {
		return err
	}
	c.dcPred += br.receiveExtend(t)
	blk[0] = int16(c.dcPred)
	ac := d.ac[c.ta]
	for k := 1; k < 64; k++ {
		rs, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), rs&15
		if sz != 0 {
			k += r
			blk[natural[k]] = int16(br.receiveExtend(sz))
		} else {
			if r != 15 {
				break
			}
			k += 15
		}
	}
	return nil
}

func (d *decoder) decodeDCFirst(c *component, blk *[64]int16, al int) error {
	t, err := d.br.decode(d.dc[c.td])
	if err != nil {
		return err
	}
	c.dcPred += d.br.receiveExtend(t)
	blk[0] = int16(c.dcPred << al)
	return nil
}

func (d *decoder) decodeACFirst(c *component, blk *[64]int16, s *scanState) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br := &d.br
	ac := d.ac[c.ta]
	for k := s.ss; k <= s.se; k++ {
		rs, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), rs&15
		if sz != 0 {
			k += r
			blk[natural[k]] = int16(br.receiveExtend(sz) << s.al)
			continue
		}
		if r != 15 {
			d.eobrun = 1 << r
			if r != 0 {
				d.eobrun += br.bits(uint(r))
			}
			d.eobrun--
			break
		}
		k += 15
	}
	return nil
}

func (d *decoder) decodeACRefine(c *component, blk *[64]int16, s *scanState) error {
	br := &d.br
	p1 := int16(1) << s.al
	m1 := int16(-1) << s.al
	refine := func(coef *int16) {
		if br.bit() && *coef&p1 == 0 {
			if *coef >= 0 {
				*coef += p1
			} else {
				*coef += m1
			}
		}
	}
	k := s.ss
	if d.eobrun == 0 {
		ac := d.ac[c.ta]
		for ; k <= s.se; k++ {
			rs, err := br.decode(ac)
			if err != nil {
				return err
			}
			r, sz := int(rs>>4), rs&15
			var val int16
			if sz != 0 {
				// The magnitude of a newly non-zero coefficient is always 1.
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r != 0 {
					d.eobrun += br.bits(uint(r))
				}
				break
			}
			for k <= s.se {
				coef := &blk[natural[k]]
				if *coef != 0 {
					refine(coef)
				} else {
					if r == 0 {
						break
					}
					r--
				}
				k++
			}
			if val != 0 {
				blk[natural[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= s.se; k++ {
			if coef := &blk[natural[k]]; *coef != 0 {
				refine(coef)
			}
		}
		d.eobrun--
	}
	return nil
}

// finish turns what the scans produced into sample planes.
func (d *decoder) finish() error {
	for i := range d.comps {
		c := &d.comps[i]
		if !c.seen {
			// Never coded: all-zero coefficients, i.e. mid-grey.
			for j := range c.plane {
				c.plane[j] = 128
			}
			continue
		}
		if !d.progressive {
			continue
		}
		for by := range c.bh {
			for bx := range c.bw {
				blk := (*[64]int16)(c.coef[(by*c.bw+bx)*64:])
				idctBlock(blk, c.q, c.plane[by*8*c.stride+bx*8:], c.stride)
			}
		}
		c.coef = nil // the largest buffer; let it go before the RGB output
	}
	return nil
}
