package jpeg

// Upsampling and colour conversion, as libjpeg-turbo does them with
// do_fancy_upsampling left at its default (TRUE): jdsample.c chooses per
// component between a plain copy, the triangle ("fancy") filters for 2:1
// horizontal (h2v1), 2:1 vertical (h1v2) and 2:1 both ways (h2v2), and
// box replication for every other integral ratio, or for h2v1/h2v2 when
// the subsampled row is at most 2 samples wide. Merged upsampling
// (jdmerge.c) is only used when fancy upsampling is off, so it plays no
// part here. Rows and columns beyond the component's real samples repeat
// its last real one, which is what libjpeg's context-row pointers and edge
// special cases amount to.

type upMethod int

const (
	upFull upMethod = iota
	upH2V1Fancy
	upH1V2Fancy
	upH2V2Fancy
	upBox
)

type upsampler struct {
	c          *component
	method     upMethod
	hexp, vexp int
	width      int
	row        []uint8 // output row of the image width
	colsum     []int32 // h2v2: vertical sums of the current row
}

func (d *decoder) newUpsampler(c *component) *upsampler {
	u := &upsampler{c: c, hexp: d.maxH / c.h, vexp: d.maxV / c.v, width: d.width}
	switch {
	case u.hexp == 1 && u.vexp == 1:
		u.method = upFull
		return u
	case u.hexp == 2 && u.vexp == 1 && c.dw > 2:
		u.method = upH2V1Fancy
	case u.hexp == 1 && u.vexp == 2:
		u.method = upH1V2Fancy
	case u.hexp == 2 && u.vexp == 2 && c.dw > 2:
		u.method = upH2V2Fancy
		u.colsum = make([]int32, c.dw)
	default:
		u.method = upBox
	}
	u.row = make([]uint8, d.width+1)
	return u
}

// rowAt returns the component upsampled to image resolution for image row y.
func (u *upsampler) rowAt(y int) []uint8 {
	c := u.c
	w := u.width
	switch u.method {
	case upFull:
		return c.plane[y*c.stride : y*c.stride+w]
	case upH2V1Fancy:
		u.h2v1(c.plane[y*c.stride : y*c.stride+c.dw])
	case upH1V2Fancy:
		near, far, bias := u.vertical(y)
		out := u.row[:c.dw]
		for x := range out {
			out[x] = uint8((3*int32(near[x]) + int32(far[x]) + bias) >> 2)
		}
	case upH2V2Fancy:
		near, far, _ := u.vertical(y)
		cs := u.colsum
		for x := range cs {
			cs[x] = 3*int32(near[x]) + int32(far[x])
		}
		u.h2v2(cs)
	case upBox:
		src := c.plane[(y/u.vexp)*c.stride:]
		out := u.row[:w]
		if u.hexp == 1 {
			copy(out, src[:w])
			break
		}
		for x := range out {
			out[x] = src[x/u.hexp]
		}
	}
	return u.row[:w]
}

// vertical returns the nearer and the farther subsampled row for image row
// y of a component subsampled 2:1 vertically, and the rounding bias libjpeg
// uses for it (1 when the farther row is above, 2 when below).
func (u *upsampler) vertical(y int) (near, far []uint8, bias int32) {
	c := u.c
	cy := y / 2
	fy := cy + 1
	bias = 2
	if y%2 == 0 {
		fy, bias = cy-1, 1
	}
	fy = min(max(fy, 0), c.dh-1)
	cy = min(cy, c.dh-1)
	return c.plane[cy*c.stride : cy*c.stride+c.dw], c.plane[fy*c.stride : fy*c.stride+c.dw], bias
}

// h2v1 doubles one row horizontally with the 3:1 triangle filter.
func (u *upsampler) h2v1(in []uint8) {
	out := u.row
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((3*int32(in[0]) + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int32(in[i])
		out[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	last := int32(in[n-1])
	out[2*n-2] = uint8((3*last + int32(in[n-2]) + 1) >> 2)
	out[2*n-1] = uint8(last)
}

// h2v2 doubles a row of vertical sums (3·near + far) horizontally.
func (u *upsampler) h2v2(cs []int32) {
	out := u.row
	n := len(cs)
	out[0] = uint8((cs[0]*4 + 8) >> 4)
	out[1] = uint8((cs[0]*3 + cs[1] + 7) >> 4)
	for i := 1; i < n-1; i++ {
		v := 3 * cs[i]
		out[2*i] = uint8((v + cs[i-1] + 8) >> 4)
		out[2*i+1] = uint8((v + cs[i+1] + 7) >> 4)
	}
	out[2*n-2] = uint8((cs[n-1]*3 + cs[n-2] + 8) >> 4)
	out[2*n-1] = uint8((cs[n-1]*4 + 7) >> 4)
}

// YCbCr→RGB tables of jdcolor.c (16 fraction bits, rounding folded in).
var (
	crToR [256]int32
	cbToB [256]int32
	crToG [256]int32
	cbToG [256]int32
)

func init() {
	const (
		scaleBits = 16
		half      = 1 << (scaleBits - 1)
	)
	fix := func(x float64) int64 { return int64(x*(1<<scaleBits) + 0.5) }
	for i := range 256 {
		x := int64(i - 128)
		crToR[i] = int32((fix(1.40200)*x + half) >> scaleBits)
		cbToB[i] = int32((fix(1.77200)*x + half) >> scaleBits)
		crToG[i] = int32(-fix(0.71414) * x)
		cbToG[i] = int32(-fix(0.34414)*x + half)
	}
}

func clamp8(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// muldiv255 is Pillow's rounded a·b/255.
func muldiv255(a, b int32) int32 {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// output upsamples the planes and converts them to RGB.
func (d *decoder) output() *Image {
	w, h := d.width, d.height
	img := &Image{Width: w, Height: h, Pix: make([]uint8, w*h*3)}
	ups := make([]*upsampler, len(d.comps))
	for i := range d.comps {
		ups[i] = d.newUpsampler(&d.comps[i])
	}
	cs := d.colorSpace()
	var rows [4][]uint8
	for y := range h {
		for i, u := range ups {
			rows[i] = u.rowAt(y)
		}
		out := img.Pix[y*w*3 : (y+1)*w*3]
		switch cs {
		case Gray:
			for x, v := range rows[0][:w] {
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		case RGB:
			r, g, b := rows[0][:w], rows[1][:w], rows[2][:w]
			for x := range w {
				out[3*x], out[3*x+1], out[3*x+2] = r[x], g[x], b[x]
			}
		case YCbCr:
			yy, cb, cr := rows[0][:w], rows[1][:w], rows[2][:w]
			for x := range w {
				l, b, r := int32(yy[x]), cb[x], cr[x]
				o := out[3*x : 3*x+3 : 3*x+3]
				o[0] = clamp8(l + crToR[r])
				o[1] = clamp8(l + (cbToG[b]+crToG[r])>>16)
				o[2] = clamp8(l + cbToB[b])
			}
		case CMYK, YCCK:
			c0, c1, c2, k := rows[0][:w], rows[1][:w], rows[2][:w], rows[3][:w]
			for x := range w {
				var c, m, yl int32
				if cs == YCCK {
					// jdcolor.c ycck_cmyk_convert.
					l := int32(c0[x])
					c = int32(clamp8(255 - (l + crToR[c2[x]])))
					m = int32(clamp8(255 - (l + (cbToG[c1[x]]+crToG[c2[x]])>>16)))
					yl = int32(clamp8(255 - (l + cbToB[c1[x]])))
				} else {
					c, m, yl = int32(c0[x]), int32(c1[x]), int32(c2[x])
				}
				// Pillow reads the samples as inverted ("CMYK;I") and then
				// converts CMYK to RGB: with inverted inputs the ink values
				// are 255-c and the remaining black level is k itself.
				nk := int32(k[x])
				out[3*x] = clamp8(nk - muldiv255(255-c, nk))
				out[3*x+1] = clamp8(nk - muldiv255(255-m, nk))
				out[3*x+2] = clamp8(nk - muldiv255(255-yl, nk))
			}
		}
	}
	return img
}
