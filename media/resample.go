package media

import (
	"fmt"
	"math"
)

// Resampler selects which reference implementation of antialiased bicubic
// resizing (Keys kernel, a = −0.5) on uint8 pixels is reproduced.
//
// Both are separable, run the horizontal pass first, widen the kernel by the
// downscale ratio, normalise the weights of each output pixel, turn them
// into fixed-point integers and round/clamp to uint8 after each pass. They
// differ in how the weights are quantised, which moves 0.3–0.5 % of the
// output values by one or two levels.
type Resampler int

const (
	// Torchvision reproduces torchvision/ATen's uint8 antialias path
	// (interpolate(..., mode="bicubic", antialias=True) on a uint8 tensor):
	// int16 weights whose number of fraction bits is chosen per axis from the
	// largest weight. This is what transformers 5's default (fast) GLM-4V
	// image processor and its video processor use.
	Torchvision Resampler = iota
	// Pillow reproduces PIL's Image.resize(..., BICUBIC): 22 fraction bits
	// for every axis. This is the "slow"/PIL GLM-4V image processor.
	Pillow
)

// String names the resampler.
func (r Resampler) String() string {
	switch r {
	case Torchvision:
		return "torchvision"
	case Pillow:
		return "pillow"
	}
	return fmt.Sprintf("Resampler(%d)", int(r))
}

// pillowPrecisionBits is Pillow's fixed-point precision for 8-bit images
// (32 bits minus 8 for the pixel minus 2 for the sign and headroom).
const pillowPrecisionBits = 22

// axisFilter holds the fixed-point filter of one axis: for output i the
// input taps start[i] .. start[i]+n[i]-1 with coefficients
// coef[i*ksize : i*ksize+n[i]].
type axisFilter struct {
	start []int
	n     []int
	ksize int
	coef  []int32
	bits  uint
}

// The kernels below wrap every product in float64(…): an explicit
// conversion forbids the compiler from fusing a multiply and an add into
// one FMA, which would round differently from the C reference.

// keysPillow is Pillow's bicubic_filter (a = −0.5), term for term.
func keysPillow(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64(x-5)*x) + 8
		t = float64(t*x) - 4
		return t * a
	}
	return 0
}

// keysATen is ATen's aa_filter for bicubic (cubic_convolution1/2 with
// A = −0.5), term for term.
func keysATen(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(a*x) - 5*a
		t = float64(t*x) + 8*a
		return float64(t*x) - 4*a
	}
	return 0
}

// newAxisFilter computes the fixed-point filter resizing inSize samples to
// outSize samples along one axis.
func newAxisFilter(inSize, outSize int, r Resampler) (*axisFilter, error) {
	if inSize <= 0 || outSize <= 0 {
		return nil, fmt.Errorf("media: resize %d → %d samples", inSize, outSize)
	}
	kernel := keysATen
	if r == Pillow {
		kernel = keysPillow
	}
	scale := float64(inSize) / float64(outSize)
	filterScale := scale
	if filterScale < 1 {
		filterScale = 1
	}
	support := 2 * filterScale
	ksize := int(math.Ceil(support))*2 + 1
	invScale := 1 / filterScale

	f := &axisFilter{
		start: make([]int, outSize),
		n:     make([]int, outSize),
		ksize: ksize,
		coef:  make([]int32, outSize*ksize),
	}
	w := make([]float64, outSize*ksize)
	maxW := 0.0
	for i := range outSize {
		center := scale * (float64(i) + 0.5)
		lo := int(center - support + 0.5) // truncation toward zero, as C
		if lo < 0 {
			lo = 0
		}
		hi := int(center + support + 0.5)
		if hi > inSize {
			hi = inSize
		}
		n := min(max(hi-lo, 0), ksize)
		row := w[i*ksize : i*ksize+ksize]
		total := 0.0
		for j := range n {
			v := kernel(float64(float64(j+lo)-center+0.5) * invScale)
			row[j] = v
			total += v
		}
		if total != 0 {
			for j := range n {
				row[j] /= total
				maxW = max(maxW, row[j])
			}
		}
		f.start[i], f.n[i] = lo, n
	}

	switch r {
	case Pillow:
		f.bits = pillowPrecisionBits
	default:
		// ATen: the most fraction bits (< 22) that keep 2·max weight below 2^15.
		var bits uint
		for bits = 0; bits < 22; bits++ {
			if int64(0.5+maxW*float64(int64(1)<<(bits+1))) >= 1<<15 {
				break
			}
		}
		f.bits = bits
	}
	// Both round half away from zero after scaling: (int)(±0.5 + w·2^bits).
	one := float64(int64(1) << f.bits)
	for k, v := range w {
		v *= one
		var q int64
		if v < 0 {
			q = int64(-0.5 + v)
		} else {
			q = int64(0.5 + v)
		}
		if r == Torchvision {
			q = int64(int16(q)) // ATen stores the coefficients as int16
		}
		f.coef[k] = int32(q)
	}
	return f, nil
}

// clampShift rounds a fixed-point accumulator back to a uint8 level.
func clampShift(acc int32, bits uint) uint8 {
	v := acc >> bits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resizeHorizontal resizes each row of an interleaved RGB image.
func resizeHorizontal(dst, src []uint8, h, inW, outW int, f *axisFilter) {
	half := int32(1) << (f.bits - 1)
	if f.bits == 0 {
		half = 0
	}
	for y := range h {
		srow := src[y*inW*3 : (y+1)*inW*3]
		drow := dst[y*outW*3 : (y+1)*outW*3]
		for x := range outW {
			lo, n := f.start[x], f.n[x]
			k := f.coef[x*f.ksize : x*f.ksize+n]
			s := srow[lo*3 : (lo+n)*3]
			r, g, b := half, half, half
			for j, kv := range k {
				p := s[j*3 : j*3+3 : j*3+3]
				r += int32(p[0]) * kv
				g += int32(p[1]) * kv
				b += int32(p[2]) * kv
			}
			d := drow[x*3 : x*3+3 : x*3+3]
			d[0] = clampShift(r, f.bits)
			d[1] = clampShift(g, f.bits)
			d[2] = clampShift(b, f.bits)
		}
	}
}

// resizeVertical resizes the columns of an interleaved image whose rows hold
// rowLen bytes.
func resizeVertical(dst, src []uint8, rowLen, outH int, f *axisFilter) {
	half := int32(1) << (f.bits - 1)
	if f.bits == 0 {
		half = 0
	}
	acc := make([]int32, rowLen)
	for y := range outH {
		lo, n := f.start[y], f.n[y]
		k := f.coef[y*f.ksize : y*f.ksize+n]
		for i := range acc {
			acc[i] = half
		}
		for j, kv := range k {
			srow := src[(lo+j)*rowLen : (lo+j+1)*rowLen]
			for i, s := range srow {
				acc[i] += int32(s) * kv
			}
		}
		drow := dst[y*rowLen : (y+1)*rowLen]
		for i, a := range acc {
			drow[i] = clampShift(a, f.bits)
		}
	}
}

// Resize returns img resized to w×h with antialiased bicubic filtering as
// the chosen reference does it. A pass whose size does not change is
// skipped, as both references do; an unchanged size returns a copy.
func Resize(img *Image, w, h int, r Resampler) (*Image, error) {
	if img == nil || img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height*3 {
		return nil, fmt.Errorf("media: resize: invalid source image")
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("media: resize to %d×%d", w, h)
	}
	if r != Torchvision && r != Pillow {
		return nil, fmt.Errorf("media: unknown resampler %v", r)
	}
	const ch = 3
	cur, curW := img.Pix, img.Width
	if w != img.Width {
		f, err := newAxisFilter(img.Width, w, r)
		if err != nil {
			return nil, err
		}
		out := make([]uint8, img.Height*w*ch)
		resizeHorizontal(out, cur, img.Height, curW, w, f)
		cur, curW = out, w
	}
	if h != img.Height {
		f, err := newAxisFilter(img.Height, h, r)
		if err != nil {
			return nil, err
		}
		out := make([]uint8, h*curW*ch)
		resizeVertical(out, cur, curW*ch, h, f)
		cur = out
	}
	if w == img.Width && h == img.Height {
		cur = append([]uint8(nil), img.Pix...)
	}
	return &Image{Width: w, Height: h, Pix: cur}, nil
}
