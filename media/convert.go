package media

import (
	"image"
	"image/color"
)

// compositeOnWhite blends one straight-alpha 8-bit sample onto an opaque
// white background exactly as Pillow's Image.alpha_composite does (7 extra
// fraction bits, divisions by 255 done with shifts), which is what
// transformers' convert_to_rgb calls for every non-RGB image.
func compositeOnWhite(c, a uint8) uint8 {
	if a == 0 {
		return 255
	}
	if a == 255 {
		return c
	}
	const precisionBits = 7
	// With an opaque background Pillow's general formula reduces to
	// coef1 = a·2^7 and coef2 = (255−a)·2^7.
	coef1 := uint32(a) << precisionBits
	coef2 := uint32(255-uint32(a)) << precisionBits
	tmp := uint32(c)*coef1 + 255*coef2 + (0x80 << precisionBits)
	return uint8((((tmp >> 8) + tmp) >> 8) >> precisionBits)
}

// AlphaMode says how transparent pixels become RGB.
type AlphaMode int

const (
	// AlphaDrop keeps the colour samples and discards alpha, like Pillow's
	// Image.convert("RGB"). This is what transformers 5.2 did when the
	// reference fixtures were made (the RGBA golden proves it), so it is the
	// default.
	AlphaDrop AlphaMode = iota
	// AlphaWhite composites onto opaque white with Pillow's
	// Image.alpha_composite integer arithmetic, as transformers 4.x's
	// convert_to_rgb does.
	AlphaWhite
)

type converter struct{ alpha AlphaMode }

// toRGB converts any decoded image to 8-bit RGB like Pillow's conversions:
// RGB data is copied, gray is replicated, alpha is handled per mode. 16-bit
// samples keep their high byte, as Pillow does when it opens 16-bit RGB(A)
// PNGs.
func toRGB(src image.Image, alpha AlphaMode) *Image {
	cv := converter{alpha}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &Image{Width: w, Height: h, Pix: make([]uint8, w*h*3)}
	p := out.Pix
	switch m := src.(type) {
	case *image.RGBA:
		// Premultiplied; opaque pixels (the common case) are exact.
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w*4]
			for x := range w {
				s := row[x*4 : x*4+4]
				if s[3] == 255 {
					copy(p[(y*w+x)*3:], s[:3])
					continue
				}
				n := color.NRGBAModel.Convert(color.RGBA{s[0], s[1], s[2], s[3]}).(color.NRGBA)
				cv.set(p[(y*w+x)*3:], n.R, n.G, n.B, n.A)
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w*4]
			for x := range w {
				s := row[x*4 : x*4+4]
				cv.set(p[(y*w+x)*3:], s[0], s[1], s[2], s[3])
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w*8]
			for x := range w {
				s := row[x*8 : x*8+8]
				cv.set(p[(y*w+x)*3:], s[0], s[2], s[4], s[6])
			}
		}
	case *image.RGBA64:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w*8]
			for x := range w {
				s := row[x*8 : x*8+8]
				if s[6] == 0xFF && s[7] == 0xFF {
					d := p[(y*w+x)*3:]
					d[0], d[1], d[2] = s[0], s[2], s[4]
					continue
				}
				c := color.NRGBA64Model.Convert(m.RGBA64At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				cv.set(p[(y*w+x)*3:], uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8), uint8(c.A>>8))
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				d := p[(y*w+x)*3:]
				d[0], d[1], d[2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				d := p[(y*w+x)*3:]
				d[0], d[1], d[2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w*2]
			for x := range w {
				v := row[2*x]
				d := p[(y*w+x)*3:]
				d[0], d[1], d[2] = v, v, v
			}
		}
	case *image.Paletted:
		lut := make([][3]uint8, len(m.Palette))
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			cv.set(lut[i][:], n.R, n.G, n.B, n.A)
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, idx := range row {
				d := p[(y*w+x)*3:]
				if int(idx) < len(lut) {
					copy(d, lut[idx][:])
				} else { // out-of-palette index: Go renders it opaque black
					d[0], d[1], d[2] = 0, 0, 0
				}
			}
		}
	default:
		for y := range h {
			for x := range w {
				n := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				cv.set(p[(y*w+x)*3:], n.R, n.G, n.B, n.A)
			}
		}
	}
	return out
}

func (cv converter) set(d []uint8, r, g, b, a uint8) {
	if cv.alpha == AlphaDrop {
		d[0], d[1], d[2] = r, g, b
		return
	}
	d[0] = compositeOnWhite(r, a)
	d[1] = compositeOnWhite(g, a)
	d[2] = compositeOnWhite(b, a)
}
