package compute

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a software model of the AMX tile unit (palette 1: 8 tile
// registers of up to 16 rows × 64 bytes), following the operation sections
// of Intel's SDM for the instructions the amx kernels use. It lets the
// kernels' tiling logic run, and be tested, on machines without AMX: each
// asm kernel in amx_amd64.s has a Go twin in amx.go that issues the same
// instruction sequence to this model (see amxKernelDesc).
//
// What the hardware would raise (#GP for a bad configuration, #UD for an
// invalid tile use) the model raises as a panic of type amxFault, and so is
// an out-of-bounds memory access of a tile load or store.

// amxTileConfig is the 64-byte memory operand of LDTILECFG: byte 0 the
// palette, byte 1 start_row, bytes 16+2i the bytes per row (colsb) of tile
// i, byte 48+i its number of rows; all other bytes are reserved (zero).
type amxTileConfig [64]byte

// newAMXTileConfig returns the palette-1 configuration with the given rows
// and bytes per row for tiles 0–7.
func newAMXTileConfig(rows, colsb [8]int) *amxTileConfig {
	var c amxTileConfig
	c[0] = 1
	for i := range 8 {
		binary.LittleEndian.PutUint16(c[16+2*i:], uint16(colsb[i]))
		c[48+i] = byte(rows[i])
	}
	return &c
}

// amxFault is what the model panics with where the hardware would fault.
type amxFault string

func (f amxFault) Error() string { return "amx model: " + string(f) }

func amxFaultf(format string, args ...any) {
	panic(amxFault(fmt.Sprintf(format, args...)))
}

// amxPtr is the model's view of a general-purpose register holding an
// address: a byte slice and an offset into it. Tile loads and stores are
// bounds-checked against the slice.
type amxPtr struct {
	mem []byte
	off int
}

func (p amxPtr) add(n int) amxPtr { return amxPtr{p.mem, p.off + n} }

// amxUnit is the architectural tile state.
type amxUnit struct {
	configured  bool
	rows, colsb [8]int
	t           [8][16][64]byte
}

// ldtilecfg loads a configuration (LDTILECFG m512): palette 0 releases the
// tiles; palette 1 is checked field by field (#GP when invalid) and zeroes
// every tile.
func (u *amxUnit) ldtilecfg(c *amxTileConfig) {
	switch c[0] {
	case 0:
		u.tilerelease()
		return
	case 1:
	default:
		amxFaultf("#GP: LDTILECFG palette %d", c[0])
	}
	if c[1] != 0 {
		// start_row only matters when an interrupted tile load or store
		// restarts; the kernels never set it.
		amxFaultf("LDTILECFG start_row %d: not modelled", c[1])
	}
	for i := 2; i < 16; i++ {
		if c[i] != 0 {
			amxFaultf("#GP: LDTILECFG reserved byte %d set", i)
		}
	}
	var rows, colsb [8]int
	for i := range 16 {
		cb := int(binary.LittleEndian.Uint16(c[16+2*i:]))
		r := int(c[48+i])
		if i >= 8 {
			if cb != 0 || r != 0 {
				amxFaultf("#GP: LDTILECFG tile %d beyond palette 1", i)
			}
			continue
		}
		if cb > 64 || r > 16 || (cb == 0) != (r == 0) {
			amxFaultf("#GP: LDTILECFG tile %d: %d rows × %d bytes", i, r, cb)
		}
		rows[i], colsb[i] = r, cb
	}
	*u = amxUnit{configured: true, rows: rows, colsb: colsb}
}

// tilerelease returns the unit to its initial state (TILERELEASE).
func (u *amxUnit) tilerelease() { *u = amxUnit{} }

// valid raises #UD unless the tiles are configured and tile t is in use.
func (u *amxUnit) valid(op string, t int) {
	if !u.configured {
		amxFaultf("#UD: %s with tiles not configured", op)
	}
	if t < 0 || t >= 8 || u.rows[t] == 0 {
		amxFaultf("#UD: %s of unconfigured tile %d", op, t)
	}
}

// tilezero zeroes tile t (TILEZERO).
func (u *amxUnit) tilezero(t int) {
	u.valid("TILEZERO", t)
	u.t[t] = [16][64]byte{}
}

// tileloadd loads tile t's rows from base + r·stride (TILELOADD): colsb
// bytes a row, the rest of the tile zeroed.
func (u *amxUnit) tileloadd(t int, base amxPtr, stride int) {
	u.valid("TILELOADD", t)
	if u.colsb[t]%4 != 0 {
		amxFaultf("#UD: TILELOADD tile %d with %d bytes per row", t, u.colsb[t])
	}
	u.t[t] = [16][64]byte{}
	for r := range u.rows[t] {
		o := base.off + r*stride
		if o < 0 || o+u.colsb[t] > len(base.mem) {
			amxFaultf("#PF: TILELOADD tile %d row %d reads [%d, %d) of %d bytes", t, r, o, o+u.colsb[t], len(base.mem))
		}
		copy(u.t[t][r][:u.colsb[t]], base.mem[o:])
	}
}

// tilestored stores tile t's rows to base + r·stride (TILESTORED).
func (u *amxUnit) tilestored(t int, base amxPtr, stride int) {
	u.valid("TILESTORED", t)
	if u.colsb[t]%4 != 0 {
		amxFaultf("#UD: TILESTORED tile %d with %d bytes per row", t, u.colsb[t])
	}
	for r := range u.rows[t] {
		o := base.off + r*stride
		if o < 0 || o+u.colsb[t] > len(base.mem) {
			amxFaultf("#PF: TILESTORED tile %d row %d writes [%d, %d) of %d bytes", t, r, o, o+u.colsb[t], len(base.mem))
		}
		copy(base.mem[o:o+u.colsb[t]], u.t[t][r][:u.colsb[t]])
	}
}

// dotShape checks the operands of a tile dot product as the SDM's #UD
// conditions do and returns M (rows of c and a), K (dwords per row of a,
// rows of b) and N (dwords per row of c and b).
func (u *amxUnit) dotShape(op string, c, a, b int) (m, k, n int) {
	if c == a || c == b || a == b {
		amxFaultf("#UD: %s with repeated tiles %d, %d, %d", op, c, a, b)
	}
	for _, t := range []int{c, a, b} {
		u.valid(op, t)
		if u.colsb[t]%4 != 0 {
			amxFaultf("#UD: %s tile %d with %d bytes per row", op, t, u.colsb[t])
		}
	}
	m, k, n = u.rows[c], u.colsb[a]/4, u.colsb[c]/4
	if u.rows[a] != m || u.rows[b] != k || u.colsb[b]/4 != n {
		amxFaultf("#UD: %s shapes c %d×%d, a %d×%d, b %d×%d", op,
			u.rows[c], u.colsb[c], u.rows[a], u.colsb[a], u.rows[b], u.colsb[b])
	}
	return m, k, n
}

func (u *amxUnit) dword(t, r, i int) uint32 {
	return binary.LittleEndian.Uint32(u.t[t][r][4*i:])
}

func (u *amxUnit) setDword(t, r, i int, v uint32) {
	binary.LittleEndian.PutUint32(u.t[t][r][4*i:], v)
}

// tdpbssd is TDPBSSD c, a, b: c[m][n] += Σ_k Σ_i a[m].byte[4k+i]·b[k].byte[4n+i],
// bytes signed, 32-bit wrapping sums.
func (u *amxUnit) tdpbssd(c, a, b int) {
	mm, kk, nn := u.dotShape("TDPBSSD", c, a, b)
	for m := range mm {
		for k := range kk {
			ar := u.t[a][m][4*k : 4*k+4]
			for n := range nn {
				br := u.t[b][k][4*n : 4*n+4]
				var s int32
				for i := range 4 {
					s += int32(int8(ar[i])) * int32(int8(br[i]))
				}
				u.setDword(c, m, n, u.dword(c, m, n)+uint32(s))
			}
		}
	}
}

// tdpbf16ps is TDPBF16PS c, a, b as the SDM's operation section defines it:
// for each row m, two f32 partial sums per output column n (the even and
// the odd bf16 of each pair), accumulated over k by fused multiply-adds,
// then c[m][n] += (even + odd); round to nearest even throughout, input
// denormals read as zero, output denormals flushed to zero.
func (u *amxUnit) tdpbf16ps(c, a, b int) {
	mm, kk, nn := u.dotShape("TDPBF16PS", c, a, b)
	// The bf16 inputs widened (and denormals zeroed) once.
	var af, bf [16][32]float32
	widen := func(dst *[16][32]float32, t, rows, n int) {
		for r := range rows {
			for i := range n {
				dst[r][i] = daz(math.Float32frombits(uint32(binary.LittleEndian.Uint16(u.t[t][r][2*i:])) << 16))
			}
		}
	}
	widen(&af, a, mm, 2*kk)
	widen(&bf, b, kk, 2*nn)
	for m := range mm {
		var tmp [32]float32
		for k := range kk {
			for n := range nn {
				tmp[2*n] = fmaFTZ(af[m][2*k], bf[k][2*n], tmp[2*n])
				tmp[2*n+1] = fmaFTZ(af[m][2*k+1], bf[k][2*n+1], tmp[2*n+1])
			}
		}
		for n := range nn {
			s := ftz(daz(tmp[2*n]) + daz(tmp[2*n+1]))
			d := math.Float32frombits(u.dword(c, m, n))
			u.setDword(c, m, n, math.Float32bits(ftz(daz(d)+s)))
		}
	}
}

// daz reads a denormal float32 as a zero of the same sign.
func daz(f float32) float32 {
	if b := math.Float32bits(f); b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return f
}

// ftz flushes a denormal result to a zero of the same sign.
func ftz(f float32) float32 { return daz(f) }

// fmaFTZ returns a·b + c rounded once to float32 (then flushed), where a
// and b are bfloat16 values widened to float32. Their product has at most
// 16 significant bits, so it is exact in float64, and so is the float64
// sum with c (24 bits) unless the two differ in exponent by more than
// about 29 — and then the smaller one lies below half an ulp of the larger
// at float32 precision with its bits far from the rounding point, so the
// final rounding to float32 is still the single correct one.
func fmaFTZ(a, b, c float32) float32 {
	return ftz(float32(float64(a)*float64(b) + float64(c)))
}
