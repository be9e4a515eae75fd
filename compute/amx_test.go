package compute

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/glmv/glmv/internal/half"
)

// amxFaultOf runs f and returns the amxFault it panics with ("" if none).
func amxFaultOf(f func()) (fault string) {
	defer func() {
		if r := recover(); r != nil {
			af, ok := r.(amxFault)
			if !ok {
				panic(r)
			}
			fault = string(af)
		}
	}()
	f()
	return ""
}

func TestAMXModelConfig(t *testing.T) {
	good := [8]int{16, 16, 16, 16, 16, 16, 16, 16}
	cb := [8]int{64, 64, 64, 64, 64, 64, 64, 64}
	for _, tc := range []struct {
		name  string
		edit  func(c *amxTileConfig)
		fault string
	}{
		{"valid", func(*amxTileConfig) {}, ""},
		{"palette 2", func(c *amxTileConfig) { c[0] = 2 }, "#GP"},
		{"reserved byte", func(c *amxTileConfig) { c[9] = 1 }, "#GP"},
		{"colsb 68", func(c *amxTileConfig) { c[16] = 68 }, "#GP"},
		{"rows 17", func(c *amxTileConfig) { c[48] = 17 }, "#GP"},
		{"rows without colsb", func(c *amxTileConfig) { c[16], c[17] = 0, 0 }, "#GP"},
		{"tile 8", func(c *amxTileConfig) { c[56] = 1 }, "#GP"},
	} {
		c := newAMXTileConfig(good, cb)
		tc.edit(c)
		var u amxUnit
		got := amxFaultOf(func() { u.ldtilecfg(c) })
		if !strings.HasPrefix(got, tc.fault) || (tc.fault == "") != (got == "") {
			t.Errorf("%s: fault %q, want %q", tc.name, got, tc.fault)
		}
	}
	// Palette 0 releases; a released unit faults on use.
	var u amxUnit
	u.ldtilecfg(newAMXTileConfig(good, cb))
	u.ldtilecfg(&amxTileConfig{})
	if f := amxFaultOf(func() { u.tilezero(0) }); !strings.HasPrefix(f, "#UD") {
		t.Errorf("TILEZERO after palette 0: fault %q, want #UD", f)
	}
}

func TestAMXModelLoadStore(t *testing.T) {
	var u amxUnit
	u.ldtilecfg(newAMXTileConfig([8]int{3, 16}, [8]int{8, 64}))
	mem := make([]byte, 64)
	for i := range mem {
		mem[i] = byte(i + 1)
	}
	u.t[0][5][0] = 99 // stale data the load must clear
	u.tileloadd(0, amxPtr{mem, 4}, 20)
	for r := range 16 {
		for c := range 64 {
			want := byte(0)
			if r < 3 && c < 8 {
				want = mem[4+r*20+c]
			}
			if u.t[0][r][c] != want {
				t.Fatalf("tile[%d][%d] = %d, want %d", r, c, u.t[0][r][c], want)
			}
		}
	}
	out := make([]byte, 64)
	u.tilestored(0, amxPtr{out, 1}, 21)
	for r := range 3 {
		if !bytes.Equal(out[1+r*21:1+r*21+8], mem[4+r*20:4+r*20+8]) {
			t.Fatalf("stored row %d = %v", r, out[1+r*21:1+r*21+8])
		}
	}
	if f := amxFaultOf(func() { u.tileloadd(0, amxPtr{mem, 20}, 20) }); !strings.HasPrefix(f, "#PF") {
		t.Errorf("load past the end: fault %q, want #PF", f)
	}
	if f := amxFaultOf(func() { u.tileloadd(2, amxPtr{mem, 0}, 0) }); !strings.HasPrefix(f, "#UD") {
		t.Errorf("load of an unconfigured tile: fault %q, want #UD", f)
	}
}

// fillTile sets tile t's configured bytes from f.
func fillTile(u *amxUnit, t int, f func() byte) {
	for r := range u.rows[t] {
		for c := range u.colsb[t] {
			u.t[t][r][c] = f()
		}
	}
}

func TestAMXModelTDPBSSD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var u amxUnit
	// c 5×(3 dwords), a 5×(4 dwords), b 4×(3 dwords).
	u.ldtilecfg(newAMXTileConfig([8]int{5, 5, 4}, [8]int{12, 16, 12}))
	fillTile(&u, 0, func() byte { return byte(rng.Uint32()) })
	fillTile(&u, 1, func() byte { return byte(rng.Uint32()) })
	fillTile(&u, 2, func() byte { return byte(rng.Uint32()) })
	u.t[1][0][0], u.t[2][0][0] = 0x80, 0x80 // -128·-128
	before := u.t[0]
	u.tdpbssd(0, 1, 2)
	for m := range 5 {
		for n := range 3 {
			want := int32(binary.LittleEndian.Uint32(before[m][4*n:]))
			for k := range 16 {
				want += int32(int8(u.t[1][m][k])) * int32(int8(u.t[2][k/4][4*n+k%4]))
			}
			if got := int32(u.dword(0, m, n)); got != want {
				t.Fatalf("c[%d][%d] = %d, want %d", m, n, got, want)
			}
		}
		for c := 12; c < 64; c++ {
			if u.t[0][m][c] != 0 {
				t.Fatalf("byte %d of row %d set past colsb", c, m)
			}
		}
	}
	if f := amxFaultOf(func() { u.tdpbssd(0, 1, 1) }); !strings.HasPrefix(f, "#UD") {
		t.Errorf("repeated tiles: fault %q, want #UD", f)
	}
	if f := amxFaultOf(func() { u.tdpbssd(0, 2, 1) }); !strings.HasPrefix(f, "#UD") {
		t.Errorf("mismatched shapes: fault %q, want #UD", f)
	}
}

func TestAMXModelTDPBF16PS(t *testing.T) {
	var u amxUnit
	// c 1×(1 f32), a 1×(2 pairs), b 2×(1 pair).
	u.ldtilecfg(newAMXTileConfig([8]int{1, 1, 2}, [8]int{4, 8, 4}))
	set := func(tile, r, i int, v float32) {
		binary.LittleEndian.PutUint16(u.t[tile][r][2*i:], half.F32ToBF16(v))
	}
	get := func() float32 { return math.Float32frombits(u.dword(0, 0, 0)) }
	put := func(v float32) { u.setDword(0, 0, 0, math.Float32bits(v)) }
	// a = [1, 2 | 3, 4], b columns (1, 2) then (3, 4): even lane
	// 1·1 + 3·3 = 10, odd lane 2·2 + 4·4 = 20.
	set(1, 0, 0, 1)
	set(1, 0, 1, 2)
	set(1, 0, 2, 3)
	set(1, 0, 3, 4)
	set(2, 0, 0, 1)
	set(2, 0, 1, 2)
	set(2, 1, 0, 3)
	set(2, 1, 1, 4)
	put(0.5)
	u.tdpbf16ps(0, 1, 2)
	if got := get(); got != 30.5 {
		t.Fatalf("dot = %v, want 30.5", got)
	}
	// The order of the SDM: the even and odd lanes are summed first,
	// then added to c. With c = 2^24, even lane 1, odd lane 1:
	// c + (1+1) = 2^24+2 exactly, whereas (c+1)+1 would round to 2^24.
	clear(u.t[1][0][:])
	clear(u.t[2][0][:])
	clear(u.t[2][1][:])
	set(1, 0, 0, 1)
	set(1, 0, 1, 1)
	set(2, 0, 0, 1)
	set(2, 0, 1, 1)
	put(1 << 24)
	u.tdpbf16ps(0, 1, 2)
	if got := get(); got != 1<<24+2 {
		t.Fatalf("dot = %v, want 2^24+2", got)
	}
	// Denormal inputs read as zero; denormal results flush to zero.
	clear(u.t[1][0][:])
	binary.LittleEndian.PutUint16(u.t[1][0][0:], 0x0001) // smallest bf16 denormal
	set(2, 0, 0, 1<<20)
	put(0)
	u.tdpbf16ps(0, 1, 2)
	if got := get(); got != 0 {
		t.Fatalf("denormal input: %v, want 0", got)
	}
	set(1, 0, 0, 0x1p-70)
	set(2, 0, 0, 0x1p-70) // product 2^-140: denormal in f32
	u.tdpbf16ps(0, 1, 2)
	if got := get(); got != 0 {
		t.Fatalf("denormal result: %v, want 0", got)
	}
}

// TestAMXEncode checks amxInst.encode against bytes GNU as 2.40 produced
// for the same instructions (kept here so this runs without binutils;
// amx_amd64_test.go checks every instruction the kernels use against as
// and objdump when they are installed).
func TestAMXEncode(t *testing.T) {
	for _, tc := range []struct {
		in   amxInst
		gnu  string
		want string
	}{
		{ldtilecfg(rAX), "ldtilecfg (%rax)", "c4e2784900"},
		{tilerelease(), "tilerelease", "c4e27849c0"},
		{tilezero(3), "tilezero %tmm3", "c4e27b49d8"},
		{tileloadd(4, 0, rAX, rBX), "tileloadd (%rax,%rbx,1),%tmm4", "c4e27b4b2418"},
		{tilestored(2, 0, rCX, rDX), "tilestored %tmm2,(%rcx,%rdx,1)", "c4e27a4b1411"},
		{tdpbssd(0, 4, 6), "tdpbssd %tmm6,%tmm4,%tmm0", "c4e24b5ec4"},
		{tdpbf16ps(3, 5, 7), "tdpbf16ps %tmm7,%tmm5,%tmm3", "c4e2425cdd"},
		{tileloadd(5, 64, rSI, rBX), "tileloadd 0x40(%rsi,%rbx,1),%tmm5", "c4e27b4b6c1e40"},
	} {
		if got := fmt.Sprintf("%x", tc.in.encode()); got != tc.want {
			t.Errorf("%s: encode %s, want %s", tc.gnu, got, tc.want)
		}
		if got := tc.in.gnu(); got != tc.gnu {
			t.Errorf("gnu() = %q, want %q", got, tc.gnu)
		}
	}
}

// amxTestMatrix returns rows×cols random weights in dt and their f32
// values.
func amxTestMatrix(rng *rand.Rand, dt DType, rows, cols int) (*Matrix, []float32) {
	wf := randF32(rng, rows*cols)
	var w *Matrix
	if dt.IsBlock() {
		var err error
		if w, err = Quantize(&Matrix{DType: F32, Rows: rows, Cols: cols, F32: wf}, dt); err != nil {
			panic(err)
		}
	} else {
		w = amxTestWeights(genericKernels, dt, rows, cols, wf)
	}
	exact := make([]float32, cols)
	for r := range rows {
		w.Row(r, exact)
		copy(wf[r*cols:], exact)
	}
	return w, wf
}

// amxPrecisionCases are the weight formats the tiles take with the
// f32-accurate kernels (bf16 false) and with the one-part bf16 kernel.
var amxPrecisionCases = []struct {
	dt   DType
	bf16 bool
}{{BF16, false}, {F16, false}, {Q8_0, false}, {Q4_0, false}, {GGMLQ8_0, false}, {GGMLQ4_0, false},
	{F32, true}, {BF16, true}, {F16, true}}

// TestAMXTilesModel runs the AMX MatMul driver with the kernels' Go twins
// on the tile model over odd shapes (partial token and weight blocks,
// padded columns, several weight groups and column chunks; the kernel
// sets' packing and rounding) and checks it: the f32-accurate kernels against the generic kernels, bf16 within
// the f32 GEMM tolerance, Q8_0 within the rows path's (same 8-bit
// activations); the one-part bf16 kernel against the exact product of the
// bf16-rounded operands (as TestMatMulBF16 checks the bf16 GEMM) and
// against the bf16 GEMM of every set, within twice that (the same
// operands, summed in another order).
func TestAMXTilesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := [][3]int{{1, 1, 1}, {31, 17, 33}, {32, 32, 32}, {33, 45, 100}, {70, 70, 31}, {5, 3, 130}, {33, 270, 600}, {33, 40, 4096 + 5}, {45, 50, 96}, {33, 100, 640}}
	// The default blocking, and one small enough for several weight
	// groups and column chunks (a partial last one of each) here.
	blockings := []amxBlocking{amxDefaultBlocking, {group: 2, bf16KC: 3, bf16x1KC: 2, q8KC: 2}, amxDefaultBlocking}
	for _, sh := range shapes {
		T, N, K := sh[0], sh[1], sh[2]
		x := randF32(rng, T*K)
		for _, c := range amxPrecisionCases {
			dt := c.dt
			if dt.IsBlock() && K%qBlock != 0 {
				continue // ggml's layouts hold whole blocks
			}
			w, _ := amxTestMatrix(rng, dt, N, K)
			want, mag := refMatMul(x, T, w), []float64(nil)
			tol := func(i int) float64 { return matMulTol(x, i/N, i%N, w, true) }
			var gemm [][]float32 // the bf16 GEMM of each set
			if c.bf16 {
				want, mag = refBF16MatMul(x, T, w)
				tol = func(i int) float64 { return 4e-6*mag[i] + 1e-6 }
				for _, k := range bf16Sets() {
					g := make([]float32, T*N)
					(*Pool)(nil).gemmBF16(k, g, x, T, w)
					gemm = append(gemm, g)
				}
			}
			for i, p := range testPools(t) {
				out := make([]float32, T*N+1)
				out[T*N] = 42
				// Each pool with another kernel set (the packing and
				// rounding routines, SIMD where the set has them).
				k := bf16Sets()[i%len(bf16Sets())]
				if !p.amxMatMulBlocked(amxModelTiles{}, k, out, x, T, w, c.bf16, blockings[i]) {
					t.Fatalf("%v not handled", dt)
				}
				if out[T*N] != 42 {
					t.Fatal("wrote past the end")
				}
				for i, g := range out[:T*N] {
					if d := math.Abs(float64(g) - want[i]); !(d <= tol(i)) {
						t.Fatalf("%v bf16 %v T=%d N=%d K=%d: out[%d,%d] = %v, want %v (tol %g)", dt, c.bf16, T, N, K, i/N, i%N, g, want[i], tol(i))
					}
					for j, ref := range gemm {
						if d := math.Abs(float64(g) - float64(ref[i])); !(d <= 2*tol(i)) {
							t.Fatalf("%v T=%d N=%d K=%d: out[%d,%d] = %v, bf16 GEMM of %s %v", dt, T, N, K, i/N, i%N, g, bf16Sets()[j].name, ref[i])
						}
					}
				}
			}
		}
	}
}

// countingTiles is the tile model counting its kernel calls (from the
// pool's workers at once).
type countingTiles struct {
	amxModelTiles
	calls *atomic.Int64
}

func (c countingTiles) bf16(a, b0, b1, b0lo, b1lo, cc []byte, n int) {
	c.calls.Add(1)
	c.amxModelTiles.bf16(a, b0, b1, b0lo, b1lo, cc, n)
}

func (c countingTiles) bf16x1(a []byte, lda int, b0, b1, cc []byte, n int) {
	c.calls.Add(1)
	c.amxModelTiles.bf16x1(a, lda, b0, b1, cc, n)
}

func (c countingTiles) q8(a []byte, xd []float32, b []byte, ws []float32, cc []byte, nb int) {
	c.calls.Add(1)
	c.amxModelTiles.q8(a, xd, b, ws, cc, nb)
}

// countingKinds counts the calls of the one-part kernel apart from the
// others.
type countingKinds struct {
	countingTiles
	x1 *atomic.Int64
}

func (c countingKinds) bf16x1(a []byte, lda int, b0, b1, cc []byte, n int) {
	c.x1.Add(1)
	c.countingTiles.bf16x1(a, lda, b0, b1, cc, n)
}

// TestAMXMatMulHook builds the amx set as a machine with AMX would (from
// the best set here, given bf16 dot products in Go where it has none, with
// the tile model standing in for the hardware) and checks MatMul with it
// under each precision: the tiles take F32, BF16 and F16 weights with the
// one-part bf16 kernel exactly where the bf16 GEMM would be chosen
// (useBF16), BF16, F16, Q8_0 and Q4_0 with the f32-accurate kernels from
// 32 tokens up otherwise, and the other paths the rest; all within
// MatMul's tolerances (the bf16 ones where bf16 was asked for).
func TestAMXMatMulHook(t *testing.T) {
	sets := bf16Sets()
	var calls, x1 atomic.Int64
	k, note := newAMXKernels(amxProbe{cpu: true, osEnabled: true, permit: func() error { return nil },
		tiles: countingKinds{countingTiles{calls: &calls}, &x1}, base: sets[len(sets)-1]})
	if k == nil || k.name != "amx" {
		t.Fatalf("no amx set: %q", note)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][2]int{{20, 40}, {33, 100}, {70, 31}, {40, 64}} {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{F32, BF16, F16, Q8_0, Q4_0, GGMLQ8_0, GGMLQ4_0} {
			if dt.IsBlock() && cols%qBlock != 0 {
				continue
			}
			w, err := convertTo(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{3, 31, 32, 40, 63, 64, 100} {
				x := randF32(rng, T*cols)
				want := refMatMul(x, T, w)
				wantBF, mag := refBF16MatMul(x, T, w)
				for _, pr := range []Precision{PrecisionAuto, PrecisionF32, PrecisionBF16} {
					bf16 := T >= bf16MinT && (pr == PrecisionAuto && (dt == BF16 || dt == F16) ||
						pr == PrecisionBF16 && (dt == F32 || dt == BF16 || dt == F16))
					tiles := T >= amxMinT && (bf16 || dt != F32)
					for _, p := range testPools(t)[:2] {
						if p == nil {
							if pr != PrecisionAuto {
								continue // a nil pool is PrecisionAuto
							}
						} else {
							p.SetPrecision(pr)
						}
						out := make([]float32, T*rows)
						before, before1 := calls.Load(), x1.Load()
						p.matMul(k, out, x, T, w)
						if got := calls.Load() > before; got != tiles {
							t.Errorf("%v T=%d %v: tile path taken %v, want %v", dt, T, pr, got, tiles)
						}
						if got := x1.Load() > before1; got != bf16 {
							t.Errorf("%v T=%d %v: one-part kernel taken %v, want %v", dt, T, pr, got, bf16)
						}
						for i, g := range out {
							if bf16 {
								if d := math.Abs(float64(g) - wantBF[i]); !(d <= 4e-6*mag[i]+1e-6) {
									t.Fatalf("%v %dx%d T=%d %v: out[%d] = %v, want %v (bf16)", dt, rows, cols, T, pr, i, g, wantBF[i])
								}
								continue
							}
							if d := math.Abs(float64(g) - want[i]); !(d <= matMulTol(x, i/rows, i%rows, w, true)) {
								t.Fatalf("%v %dx%d T=%d %v: out[%d] = %v, want %v", dt, rows, cols, T, pr, i, g, want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestNewAMXKernels checks the decision on the amx set: no set and no
// note without AMX; no set and a note saying why when the OS has not
// enabled or refuses the tile state or the self-test fails.
func TestNewAMXKernels(t *testing.T) {
	ok := func() error { return nil }
	for _, tc := range []struct {
		name string
		pr   amxProbe
		note string // "" when the set is made
	}{
		{"no AMX", amxProbe{permit: ok, tiles: amxModelTiles{}}, "-"},
		{"XCR0", amxProbe{cpu: true, permit: ok, tiles: amxModelTiles{}}, "has not enabled"},
		{"refused", amxProbe{cpu: true, osEnabled: true, permit: func() error { return errors.New("EPERM") }, tiles: amxModelTiles{}}, "refused the tile state (EPERM)"},
		{"self-test", amxProbe{cpu: true, osEnabled: true, permit: ok, tiles: brokenTiles{fault: "q8 bit"}}, "self-test failed"},
		{"good", amxProbe{cpu: true, osEnabled: true, permit: ok, tiles: amxModelTiles{}}, ""},
	} {
		tc.pr.base = genericKernels
		k, note := newAMXKernels(tc.pr)
		switch tc.note {
		case "":
			if k == nil || k.name != "amx" || k.tileMatMul == nil || note != "" {
				t.Errorf("%s: set %v, note %q", tc.name, k != nil, note)
			}
		case "-":
			if k != nil || note != "" {
				t.Errorf("%s: set %v, note %q; want neither", tc.name, k != nil, note)
			}
		default:
			if k != nil || !strings.Contains(note, tc.note) || !strings.HasSuffix(note, "using go") {
				t.Errorf("%s: set %v, note %q; want a note with %q", tc.name, k != nil, note, tc.note)
			}
		}
	}
}

// brokenTiles is the tile model with one deliberate fault, to show the
// self-test catches it.
type brokenTiles struct {
	amxModelTiles
	fault string
}

func (b brokenTiles) bf16(a, b0, b1, b0lo, b1lo, c []byte, n int) {
	if b.fault == "bf16 part" {
		// Drop the last part of A (as if a tile load were missing).
		a = bytes.Clone(a)
		for s := range n {
			clear(a[s*amxBF16AStep+2*2048 : (s+1)*amxBF16AStep])
		}
	}
	if b.fault == "f16 lo" && b0lo != nil {
		b0lo, b1lo = make([]byte, len(b0lo)), make([]byte, len(b1lo))
	}
	b.amxModelTiles.bf16(a, b0, b1, b0lo, b1lo, c, n)
	if b.fault == "bf16 bit" {
		c[4] ^= 1 // the lowest mantissa bit of out[0, 1]
	}
}

func (b brokenTiles) bf16x1(a []byte, lda int, b0, b1, c []byte, n int) {
	if b.fault == "bf16x1 row" {
		// Drop token 31's row (as if the A tile had 15 rows).
		a = bytes.Clone(a)
		clear(a[31*lda:])
	}
	b.amxModelTiles.bf16x1(a, lda, b0, b1, c, n)
	if b.fault == "bf16x1 bit" {
		c[4] ^= 1
	}
}

func (b brokenTiles) q8(a []byte, xd []float32, bp []byte, ws []float32, c []byte, nb int) {
	b.amxModelTiles.q8(a, xd, bp, ws, c, nb)
	if b.fault == "q8 bit" {
		c[4096+4] ^= 1
	}
}

func TestAMXSelfTest(t *testing.T) {
	if err := amxSelfTest(amxModelTiles{}, genericKernels); err != nil {
		t.Fatalf("the tile model fails the self-test: %v", err)
	}
	for _, fault := range []string{"bf16 part", "bf16 bit", "f16 lo", "q8 bit", "bf16x1 row", "bf16x1 bit"} {
		if err := amxSelfTest(brokenTiles{fault: fault}, genericKernels); err == nil {
			t.Errorf("self-test missed the fault %q", fault)
		} else {
			t.Logf("%s: %v", fault, err)
		}
	}
}

func TestBF16Split3(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var v [3]uint16
	for i := range 100000 {
		x := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(80)-40)))
		if i < 10 {
			x = []float32{0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, math.MaxFloat32, -math.MaxFloat32,
				float32(math.Inf(1)), float32(math.Inf(-1)), 0x1p-126, 65504}[i]
		}
		v0, v1, v2 := bf16Split3(x)
		bf16Split(x, v[:])
		if [3]uint16{v0, v1, v2} != v {
			t.Fatalf("split3(%v) = %x %x %x, bf16Split %x", x, v0, v1, v2, v)
		}
		if a := math.Abs(float64(x)); a > 3.3e38 || a < 0x1p-100 {
			continue // Inf, rounded to Inf, or parts below bf16's range
		}
		s := float64(half.BF16ToF32(v0)) + float64(half.BF16ToF32(v1)) + float64(half.BF16ToF32(v2))
		if math.Abs(s-float64(x)) > math.Abs(float64(x))*0x1p-24 {
			t.Fatalf("split3(%v) = %x %x %x sums to %v", x, v0, v1, v2, s)
		}
	}
	if v0, v1, v2 := bf16Split3(float32(math.NaN())); v0&0x7fff <= 0x7f80 || v1 != 0 || v2 != 0 {
		t.Errorf("split3(NaN) = %x %x %x", v0, v1, v2)
	}
}

// TestAMXPackF16Table checks the f16 → two bf16 parts table against
// bf16Split: every f16 value is the exact sum of its parts.
func TestAMXPackF16Table(t *testing.T) {
	tab := f16BF16Parts()
	for h := range 1 << 16 {
		f := F16ToF32(uint16(h))
		p0, p1 := half.BF16ToF32(uint16(tab[h])), half.BF16ToF32(uint16(tab[h]>>16))
		if f != f {
			continue
		}
		if p0+p1 != f || (math.IsInf(float64(f), 0) && p1 != 0) {
			t.Fatalf("f16 %#04x = %v: parts %v + %v", h, f, p0, p1)
		}
	}
}

// TestAMXSplitRow checks amxSplitRow (AVX-512 where the CPU has it)
// against amxSplitRowGo bit for bit, over row lengths with and without a
// partial step and with special values.
func TestAMXSplitRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 0x1p-126, math.MaxFloat32,
		-math.MaxFloat32, 3.3e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, K := range []int{1, 31, 32, 33, 64, 100, 4096 + 5} {
		for trial := range 4 {
			x := make([]float32, K)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(60)-30)))
			}
			if trial == 1 {
				x[rng.IntN(K)] = specials[rng.IntN(len(specials))]
			}
			if trial == 2 {
				for i := range x {
					if i%3 == 0 {
						x[i] = specials[rng.IntN(7)] // finite ones
					}
				}
			}
			n := ((K+amxBF16Step-1)/amxBF16Step)*amxBF16AStep/2 + 100
			got, want := make([]uint16, n), make([]uint16, n)
			amxSplitRow(got[7:], x)
			amxSplitRowGo(want[7:], x)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("K=%d trial %d: dst[%d] = %#04x, want %#04x", K, trial, i-7, got[i], want[i])
				}
			}
		}
	}
}

// TestAMXPrecisionNote checks what bench and inspect report as the
// precision in effect (PrecisionNote, precisionNote of the set in use)
// with the amx set as a machine with AMX builds it, the tile model
// standing in for the hardware: the bf16 products on the tiles in one
// part, the f32-accurate tiles for the rest (what TestAMXMatMulHook
// checks MatMul does); and without AMX no mention of it.
func TestAMXPrecisionNote(t *testing.T) {
	ok := func() error { return nil }
	// The fastest set without the tiles (on an AMX machine the last set
	// is the live amx one).
	var base *kernels
	for _, k := range bf16Sets() {
		if k.name != "amx" {
			base = k
		}
	}
	amx, note := newAMXKernels(amxProbe{cpu: true, osEnabled: true, permit: ok, tiles: amxModelTiles{}, base: base})
	if amx == nil {
		t.Fatal(note)
	}
	noBF16, note := newAMXKernels(amxProbe{cpu: true, osEnabled: true, permit: ok, tiles: amxModelTiles{}, base: genericKernels})
	if noBF16 == nil {
		t.Fatal(note)
	}
	const f32Tiles = "; the AMX tiles (f32-accurate) take bf16, f16, Q8_0 and Q4_0 weights from 32 tokens"
	const restTiles = "; the AMX tiles (f32-accurate) take bf16 and f16 below 64 tokens, Q8_0 and Q4_0 weights from 32 tokens"
	for _, tc := range []struct {
		k    *kernels
		pr   Precision
		want string
	}{
		{amx, PrecisionAuto, "bf16 GEMM on the AMX tiles (one bf16 part) (and attention) for bf16/f16 weights at ≥ 64 tokens, f32 otherwise" + restTiles},
		{amx, PrecisionBF16, "bf16 GEMM on the AMX tiles (one bf16 part) (and attention) for f32/bf16/f16 weights at ≥ 64 tokens, f32 otherwise" + restTiles},
		{amx, PrecisionF32, "f32" + f32Tiles},
		{noBF16, PrecisionAuto, "f32 (auto asked; the amx kernels have no bf16 dot products)" + f32Tiles},
		{base, PrecisionAuto, "bf16 GEMM (and attention) for bf16/f16 weights at ≥ 64 tokens, f32 otherwise"},
		{base, PrecisionF32, "f32"},
		{genericKernels, PrecisionBF16, "f32 (bf16 asked; the go kernels have no bf16 dot products)"},
	} {
		if got := precisionNote(tc.k, tc.pr); got != tc.want {
			t.Errorf("%s %v:\n got %q\nwant %q", tc.k.name, tc.pr, got, tc.want)
		}
	}
	for _, pr := range []Precision{PrecisionAuto, PrecisionF32, PrecisionBF16} {
		if PrecisionNote(pr) != precisionNote(kern, pr) {
			t.Errorf("PrecisionNote(%v) is not that of the set in use", pr)
		}
	}
}

// TestAMXPackPanel checks the one-part B panels against PackPanelBF16
// (width 16, so the bf16 GEMM and the tiles round the weights alike) over
// partial steps and rows past the end, and that every padding word is
// zero whatever the buffer held (stale non-finite weights times the zero
// activations of the padding would make NaNs).
func TestAMXPackPanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, dt := range []DType{F32, BF16, F16} {
		for _, sh := range [][4]int{{20, 100, 0, 4}, {20, 100, 2, 4}, {16, 31, 0, 1}, {40, 64, 1, 2}} {
			rows, cols, s0, s1 := sh[0], sh[1], sh[2], sh[3]
			w, _ := amxTestMatrix(rng, dt, rows, cols)
			for _, n0 := range []int{0, 16, rows - 3} {
				for _, k := range bf16Sets() {
					dst := make([]byte, (s1-s0)*1024)
					for i := range dst {
						dst[i] = 0xff
					}
					amxPackPanel(k, dst, w, n0, s0, s1)
					kc := min(cols, s1*amxBF16Step) - s0*amxBF16Step
					want := make([]uint32, (s1-s0)*256)
					PackPanelBF16(want, w, n0, s0*amxBF16Step, kc, 16)
					if got := amxWords(dst); !slices.Equal(got, want) {
						t.Fatalf("%s %v %v n0=%d: panel differs from PackPanelBF16's", k.name, dt, sh, n0)
					}
				}
			}
		}
	}
}

// TestAMXAddOut checks amxAddOut (AVX-512 for whole blocks where the CPU
// has it) against amxAddOutGo bit for bit: both result layouts, whole and
// partial blocks.
func TestAMXAddOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	acc := make([]uint32, 1024)
	for i := range acc {
		acc[i] = math.Float32bits(float32(rng.NormFloat64()))
	}
	for _, rowMajor := range []bool{false, true} {
		for _, sh := range [][4]int{{0, 0, 32, 32}, {32, 64, 70, 100}, {32, 64, 63, 100}, {0, 32, 32, 63}, {5, 7, 40, 41}} {
			t0, n0, T, N := sh[0], sh[1], sh[2], sh[3]
			base := randF32(rng, T*N+1)
			got, want := slices.Clone(base), slices.Clone(base)
			amxAddOut(got[:T*N], acc, rowMajor, t0, n0, T, N)
			amxAddOutGo(want[:T*N], acc, rowMajor, t0, n0, T, N)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("rowMajor %v %v: out[%d] = %v, want %v", rowMajor, sh, i, got[i], want[i])
				}
			}
			if slices.Equal(got, base) {
				t.Fatalf("rowMajor %v %v: nothing added", rowMajor, sh)
			}
		}
	}
}
