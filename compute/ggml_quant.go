package compute

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/glmv/glmv/internal/half"
)

// Quantizers to the ggml block formats. They follow the behaviour of
// llama.cpp's reference quantizers (the quantize_row_*_ref functions that
// llama-quantize runs when no importance matrix is given): the same scale
// searches, the same rounding and the same packing, in float32.

// QuantizeBlocks quantizes x (a whole number of blocks of format dt) into
// dst (exactly len(x)/BlockSize blocks of raw ggml bytes). dt must be a
// ggml block format; Q2_K and Q3_K are not implemented as targets.
func QuantizeBlocks(dt DType, dst []byte, x []float32) error {
	q := blockFormats[dt].quant
	if !dt.IsBlock() || q == nil {
		return fmt.Errorf("compute: no quantizer for %v", dt)
	}
	f := &blockFormats[dt]
	if len(x)%f.bs != 0 || len(dst) != len(x)/f.bs*f.ts {
		return fmt.Errorf("compute: quantize %v: %d values into %d bytes", dt, len(x), len(dst))
	}
	for b := range len(x) / f.bs {
		q(dst[b*f.ts:(b+1)*f.ts], x[b*f.bs:(b+1)*f.bs])
	}
	return nil
}

// nearestInt rounds f to the nearest integer, ties to even, as ggml's
// nearest_int does (valid for |f| < 2^22).
func nearestInt(f float32) int { return int(roundEven(f)) }

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, half.F32ToF16(f)) }

// signedAbsMax returns the value of largest magnitude in x (the first one
// on ties) and that magnitude.
func signedAbsMax(x []float32) (mx, amax float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, mx = a, v
		}
	}
	return mx, amax
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

func quantBlockQ8_0(b []byte, x []float32) {
	_, amax := signedAbsMax(x)
	d := amax / 127
	id := inv(d)
	putF16(b, d)
	for i, v := range x[:32] {
		b[2+i] = byte(int8(roundAway(v * id)))
	}
}

// roundAway rounds half away from zero, as C's roundf.
func roundAway(f float32) float32 { return float32(math.Round(float64(f))) }

// quantNibbles packs 32 levels q(x[i]) into 16 bytes, column j in the low
// nibble and j+16 in the high one.
func quantNibbles(dst []byte, x []float32, q func(float32) byte) {
	for j := range 16 {
		dst[j] = q(x[j])&15 | q(x[j+16])<<4
	}
}

func quantBlockQ4_0(b []byte, x []float32) {
	mx, _ := signedAbsMax(x)
	d := mx / -8
	id := inv(d)
	putF16(b, d)
	quantNibbles(b[2:18], x, func(v float32) byte { return byte(min(15, int8(v*id+8.5))) })
}

func quantBlockQ4_1(b []byte, x []float32) {
	lo, hi := minMax(x[:32])
	d := (hi - lo) / 15
	id := inv(d)
	putF16(b, d)
	putF16(b[2:], lo)
	quantNibbles(b[4:20], x, func(v float32) byte { return byte(min(15, int8((v-lo)*id+0.5))) })
}

// quantFive packs 32 five-bit levels: fifth bits into qh (little-endian
// uint32 at h), low nibbles at qs.
func quantFive(h, qs []byte, x []float32, q func(float32) byte) {
	var qh uint32
	for j := range 16 {
		a, c := q(x[j]), q(x[j+16])
		qs[j] = a&15 | (c&15)<<4
		qh |= uint32(a>>4&1)<<j | uint32(c>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(h, qh)
}

func quantBlockQ5_0(b []byte, x []float32) {
	mx, _ := signedAbsMax(x)
	d := mx / -16
	id := inv(d)
	putF16(b, d)
	quantFive(b[2:6], b[6:22], x, func(v float32) byte { return byte(min(31, int8(v*id+16.5))) })
}

func quantBlockQ5_1(b []byte, x []float32) {
	lo, hi := minMax(x[:32])
	d := (hi - lo) / 31
	id := inv(d)
	putF16(b, d)
	putF16(b[2:], lo)
	quantFive(b[4:8], b[8:24], x, func(v float32) byte { return byte(uint8((v-lo)*id + 0.5)) })
}

// fitScaleMin is ggml's make_qkx2_quants: it chooses levels L in
// [0, nmax] and a scale and offset so that scale·L - negMin fits x under
// the weights w, trying nstep+1 scales around nmax/(max-min). Laux is
// scratch of len(x).
func fitScaleMin(nmax int, x, w []float32, L, Laux []uint8, rmin, rdelta float32, nstep int) (scale, negMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := w[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		lo, hi = min(lo, x[i]), max(hi, x[i])
		sumW += w[i]
		sumX += w[i] * x[i]
	}
	lo = min(lo, 0)
	if hi == lo {
		clear(L[:n])
		return 0, -lo
	}
	fn := float32(nmax)
	iscale := fn / (hi - lo)
	scale = 1 / iscale
	var best float32
	for i := range n {
		l := max(0, min(nmax, nearestInt(iscale*(x[i]-lo))))
		L[i] = uint8(l)
		diff := scale*float32(l) + lo - x[i]
		best += w[i] * (diff * diff)
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + rdelta*float32(is) + fn) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(nmax, nearestInt(iscale*(x[i]-lo))))
			Laux[i] = uint8(l)
			fl := float32(l)
			sumL += w[i] * fl
			sumL2 += w[i] * fl * fl
			sumXL += w[i] * fl * x[i]
		}
		D := sumW*sumL2 - sumL*sumL
		if D <= 0 {
			continue
		}
		thisScale := (sumW*sumXL - sumX*sumL) / D
		thisMin := (sumL2*sumX - sumL*sumXL) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var cur float32
		for i := range n {
			diff := thisScale*float32(Laux[i]) + thisMin - x[i]
			cur += w[i] * (diff * diff)
		}
		if cur < best {
			copy(L[:n], Laux[:n])
			best, scale, lo = cur, thisScale, thisMin
		}
	}
	return scale, -lo
}

// quantK45 is the shared part of the Q4_K and Q5_K reference quantizers:
// it fits the eight 32-value sub-blocks (levels 0..nmax), stores d, dmin
// and the packed 6-bit scales and mins at b[0:16], and returns the final
// levels (requantized with the stored scales).
func quantK45(b []byte, x []float32, nmax int, rmin, rdelta float32, nstep int) (L [qkBlock]uint8) {
	var scales, mins [8]float32
	var w [32]float32
	var Laux [32]uint8
	var maxScale, maxMin float32
	for j := range 8 {
		xj := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xj {
			sumX2 += v * v
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xj {
			w[l] = avX + abs32(v)
		}
		scales[j], mins[j] = fitScaleMin(nmax, xj, w[:], L[32*j:32*j+32], Laux[:], rmin, rdelta, nstep)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := b[4:16]
	clear(sc)
	for j := range 8 {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&15 | (lm&15)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putF16(b, maxScale/63)
	putF16(b[2:], maxMin/63)
	d, dmin := f16le(b), f16le(b[2:])
	for j := range 8 {
		s, m := scaleMinK4(j, sc)
		dj := d * float32(s)
		if dj == 0 {
			continue
		}
		dm := dmin * float32(m)
		for i, v := range x[32*j : 32*j+32] {
			L[32*j+i] = uint8(max(0, min(nmax, nearestInt((v+dm)/dj))))
		}
	}
	return L
}

func quantBlockQ4_K(b []byte, x []float32) {
	L := quantK45(b, x, 15, -1, 0.1, 20)
	qs := b[16:144]
	for j := range 4 {
		for l := range 32 {
			qs[32*j+l] = L[64*j+l] | L[64*j+32+l]<<4
		}
	}
}

func quantBlockQ5_K(b []byte, x []float32) {
	L := quantK45(b, x, 31, -0.5, 0.1, 15)
	qh, qs := b[16:48], b[48:176]
	clear(qh)
	for j := range 4 {
		m1, m2 := byte(1)<<uint(2*j), byte(2)<<uint(2*j)
		for l := range 32 {
			l1, l2 := L[64*j+l], L[64*j+32+l]
			if l1 > 15 {
				l1 -= 16
				qh[l] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[l] |= m2
			}
			qs[32*j+l] = l1 | l2<<4
		}
	}
}

// fitSymmetric is ggml's make_qx_quants with the x² weighting (rmse_type
// 1): levels L in [0, 2·nmax) stand for L-nmax, and the scale is the
// least-squares one over 19 candidate inverse scales around -nmax/max.
func fitSymmetric(nmax int, x []float32, L []int8) float32 {
	mx, amax := signedAbsMax(x)
	if amax < 1e-15 {
		clear(L[:len(x)])
		return 0
	}
	fn := float32(nmax)
	levels := func(iscale float32) (sumLX, sumL2 float32) {
		for _, v := range x {
			l := float32(max(-nmax, min(nmax-1, nearestInt(iscale*v))))
			w := v * v
			sumLX += w * v * l
			sumL2 += w * l * l
		}
		return sumLX, sumL2
	}
	store := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + max(-nmax, min(nmax-1, nearestInt(iscale*v))))
		}
	}
	iscale := -fn / mx
	sumLX, sumL2 := levels(iscale)
	store(iscale)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fn + 0.1*float32(is)) / mx
		sumLX, sumL2 = levels(iscale)
		if sumL2 > 0 && sumLX*sumLX > best*sumL2 {
			store(iscale)
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

func quantBlockQ6_K(b []byte, x []float32) {
	var L [qkBlock]int8
	var scales [16]float32
	var maxScale, maxAbs float32
	for ib := range 16 {
		s := fitSymmetric(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
		scales[ib] = s
		if a := abs32(s); a > maxAbs {
			maxAbs, maxScale = a, s
		}
	}
	clear(b[:210])
	if maxAbs < 1e-15 {
		return
	}
	iscale := -128 / maxScale
	putF16(b[208:], 1/iscale)
	sc := b[192:208]
	for ib := range 16 {
		sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	d := f16le(b[208:])
	for j := range 16 {
		dj := d * float32(int8(sc[j]))
		if dj == 0 {
			continue
		}
		for i, v := range x[16*j : 16*j+16] {
			L[16*j+i] = int8(max(-32, min(31, nearestInt(v/dj))) + 32)
		}
	}
	ql, qh := b[0:128], b[128:192]
	for n := range 2 {
		Ln := L[128*n:]
		for l := range 32 {
			q1, q2, q3, q4 := byte(Ln[l]), byte(Ln[l+32]), byte(Ln[l+64]), byte(Ln[l+96])
			ql[64*n+l] = q1&15 | (q3&15)<<4
			ql[64*n+32+l] = q2&15 | (q4&15)<<4
			qh[32*n+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}
