package jpeg

// The inverse DCT below reproduces libjpeg's "ISLOW" method (jidctint.c,
// the default of libjpeg-turbo and so of Pillow) operation for operation:
// the Loeffler–Ligtenberg–Moschytz factorisation in 13-bit fixed point,
// two extra bits kept between the column and the row pass, and the final
// "range limit" that maps the descaled value through a 1024-entry table
// (wrapping far-out values the way libjpeg does, clamping near ones).

const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// idctLimit maps (descaled IDCT output & 1023) to a sample: the value plus
// 128 clamped to 0..255 when it is within ±512, wrapped beyond, as the
// table libjpeg builds in prepare_range_limit_table.
var idctLimit = func() (t [1024]uint8) {
	for i := range t {
		switch {
		case i < 128:
			t[i] = uint8(i + 128)
		case i < 512:
			t[i] = 255
		case i < 896:
			t[i] = 0
		default:
			t[i] = uint8(i - 896)
		}
	}
	return t
}()

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// idctBlock dequantises the coefficients (natural order) with q and writes
// the 8×8 samples to dst, rows stride bytes apart.
func idctBlock(coef *[64]int16, q *[64]int16, dst []uint8, stride int) {
	var ws [64]int32
	for c := range 8 {
		if coef[8+c] == 0 && coef[16+c] == 0 && coef[24+c] == 0 && coef[32+c] == 0 &&
			coef[40+c] == 0 && coef[48+c] == 0 && coef[56+c] == 0 {
			dc := int32(int64(coef[c]) * int64(q[c]) << pass1Bits)
			for r := range 8 {
				ws[r*8+c] = dc
			}
			continue
		}
		var in [8]int64 // dequantised column (16-bit multipliers, as libjpeg-turbo's)
		for r := range in {
			in[r] = int64(int32(coef[r*8+c]) * int32(q[r*8+c]))
		}

		// Even part.
		z2, z3 := in[2], in[6]
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2, z3 = in[0], in[4]
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		// Odd part.
		o0, o1, o2, o3 := oddPart(in[7], in[5], in[3], in[1])

		const sh = constBits - pass1Bits
		ws[0*8+c] = int32(descale(tmp10+o3, sh))
		ws[7*8+c] = int32(descale(tmp10-o3, sh))
		ws[1*8+c] = int32(descale(tmp11+o2, sh))
		ws[6*8+c] = int32(descale(tmp11-o2, sh))
		ws[2*8+c] = int32(descale(tmp12+o1, sh))
		ws[5*8+c] = int32(descale(tmp12-o1, sh))
		ws[3*8+c] = int32(descale(tmp13+o0, sh))
		ws[4*8+c] = int32(descale(tmp13-o0, sh))
	}

	for r := range 8 {
		w := ws[r*8 : r*8+8 : r*8+8]
		out := dst[r*stride : r*stride+8 : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := idctLimit[descale(int64(w[0]), pass1Bits+3)&1023]
			for i := range out {
				out[i] = v
			}
			continue
		}
		z2, z3 := int64(w[2]), int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		o0, o1, o2, o3 := oddPart(int64(w[7]), int64(w[5]), int64(w[3]), int64(w[1]))

		const sh = constBits + pass1Bits + 3
		out[0] = idctLimit[descale(tmp10+o3, sh)&1023]
		out[7] = idctLimit[descale(tmp10-o3, sh)&1023]
		out[1] = idctLimit[descale(tmp11+o2, sh)&1023]
		out[6] = idctLimit[descale(tmp11-o2, sh)&1023]
		out[2] = idctLimit[descale(tmp12+o1, sh)&1023]
		out[5] = idctLimit[descale(tmp12-o1, sh)&1023]
		out[3] = idctLimit[descale(tmp13+o0, sh)&1023]
		out[4] = idctLimit[descale(tmp13-o0, sh)&1023]
	}
}

// oddPart is the odd half of the 8-point IDCT (inputs 7, 5, 3, 1).
func oddPart(t0, t1, t2, t3 int64) (int64, int64, int64, int64) {
	z1 := t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1_175875602

	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 *= -fix1_961570560
	z4 *= -fix0_390180644

	z3 += z5
	z4 += z5

	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return t0, t1, t2, t3
}
