package compute

import "encoding/binary"

// Dequantization of one ggml block per format. Each follows ggml's
// to_float arithmetic step for step, in float32 with every product
// rounded separately (the explicit float32 conversions keep the compiler
// from fusing a multiply-add), so the results are bit-identical to
// llama.cpp's.

func f16le(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

func dequantBlockQ8_0(y []float32, b []byte) {
	d := f16le(b)
	for i, v := range b[2:34] {
		y[i] = float32(int8(v)) * d
	}
}

func dequantBlockQ4_0(y []float32, b []byte) {
	d := f16le(b)
	for j, v := range b[2:18] {
		y[j] = float32(int(v&15)-8) * d
		y[j+16] = float32(int(v>>4)-8) * d
	}
}

func dequantBlockQ4_1(y []float32, b []byte) {
	d, m := f16le(b), f16le(b[2:])
	for j, v := range b[4:20] {
		y[j] = float32(float32(v&15)*d) + m
		y[j+16] = float32(float32(v>>4)*d) + m
	}
}

func dequantBlockQ5_0(y []float32, b []byte) {
	d := f16le(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	for j, v := range b[6:22] {
		h0 := byte(qh>>j<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(int(v&15|h0)-16) * d
		y[j+16] = float32(int(v>>4|h1)-16) * d
	}
}

func dequantBlockQ5_1(y []float32, b []byte) {
	d, m := f16le(b), f16le(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	for j, v := range b[8:24] {
		h0 := byte(qh>>j<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(float32(v&15|h0)*d) + m
		y[j+16] = float32(float32(v>>4|h1)*d) + m
	}
}

func dequantBlockQ2_K(y []float32, b []byte) {
	sc, qs := b[0:16], b[16:80]
	d, dmin := f16le(b[80:]), f16le(b[82:])
	for k := range 16 {
		// Sub-block k holds columns 16k..16k+15: 2-bit values at shift
		// 2·((k/2)%4) of bytes 32·(k/8) + 16·(k%2) + l.
		q := qs[32*(k/8)+16*(k%2):][:16]
		shift := uint(2 * ((k / 2) % 4))
		dl := d * float32(sc[k]&15)
		ml := dmin * float32(sc[k]>>4)
		for l, v := range q {
			y[16*k+l] = float32(dl*float32((v>>shift)&3)) - ml
		}
	}
}

// q3kScales unpacks Q3_K's twelve bytes of 6-bit scales into 16 values
// (still offset by 32).
func q3kScales(s []byte) [16]int8 {
	var out [16]int8
	for k := range 16 {
		lo := s[k%8] >> (4 * uint(k/8)) & 15
		hi := s[8+k%4] >> (2 * uint(k/4)) & 3
		out[k] = int8(lo | hi<<4)
	}
	return out
}

func dequantBlockQ3_K(y []float32, b []byte) {
	hm, qs := b[0:32], b[32:96]
	sc := q3kScales(b[96:108])
	d := f16le(b[108:])
	for k := range 16 {
		n, j, h := k/8, (k/2)%4, k%2
		q := qs[32*n+16*h:][:16]
		hmk := hm[16*h:][:16]
		shift := uint(2 * j)
		m := byte(1) << uint(4*n+j)
		dl := d * float32(int(sc[k])-32)
		for l, v := range q {
			x := int((v >> shift) & 3)
			if hmk[l]&m == 0 {
				x -= 4
			}
			y[16*k+l] = dl * float32(x)
		}
	}
}

// scaleMinK4 returns the 6-bit scale and min of sub-block j (0..7) of a
// Q4_K or Q5_K block's twelve scale bytes.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&15 | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

func dequantBlockQ4_K(y []float32, b []byte) {
	d, dmin := f16le(b), f16le(b[2:])
	scales, qs := b[4:16], b[16:144]
	for j := range 4 {
		sc1, m1 := scaleMinK4(2*j, scales)
		sc2, m2 := scaleMinK4(2*j+1, scales)
		d1, mm1 := d*float32(sc1), dmin*float32(m1)
		d2, mm2 := d*float32(sc2), dmin*float32(m2)
		q := qs[32*j:][:32]
		for l, v := range q {
			y[64*j+l] = float32(d1*float32(v&15)) - mm1
			y[64*j+32+l] = float32(d2*float32(v>>4)) - mm2
		}
	}
}

func dequantBlockQ5_K(y []float32, b []byte) {
	d, dmin := f16le(b), f16le(b[2:])
	scales, qh, qs := b[4:16], b[16:48], b[48:176]
	for j := range 4 {
		sc1, m1 := scaleMinK4(2*j, scales)
		sc2, m2 := scaleMinK4(2*j+1, scales)
		d1, mm1 := d*float32(sc1), dmin*float32(m1)
		d2, mm2 := d*float32(sc2), dmin*float32(m2)
		u1, u2 := byte(1)<<uint(2*j), byte(2)<<uint(2*j)
		q := qs[32*j:][:32]
		for l, v := range q {
			lo, hi := v&15, v>>4
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			y[64*j+l] = float32(d1*float32(lo)) - mm1
			y[64*j+32+l] = float32(d2*float32(hi)) - mm2
		}
	}
}

func dequantBlockQ6_K(y []float32, b []byte) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := f16le(b[208:])
	for n := range 2 {
		for l := range 32 {
			q1, q2, q3, q4 := q6k(ql, qh, n, l)
			is := 8*n + l/16
			y[128*n+l] = float32(d*float32(int8(sc[is]))) * float32(q1)
			y[128*n+32+l] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			y[128*n+64+l] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			y[128*n+96+l] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
	}
}

// q6k returns the four 6-bit values (minus 32) that Q6_K stores at
// position l of half n: columns 128n + l, +32, +64, +96.
func q6k(ql, qh []byte, n, l int) (q1, q2, q3, q4 int32) {
	h := qh[32*n+l]
	a, b := ql[64*n+l], ql[64*n+32+l]
	return int32(a&15|(h&3)<<4) - 32, int32(b&15|(h>>2&3)<<4) - 32,
		int32(a>>4|(h>>4&3)<<4) - 32, int32(b>>4|(h>>6&3)<<4) - 32
}
