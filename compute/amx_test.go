package compute

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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
	w := amxTestWeights(genericKernels, dt, rows, cols, wf)
	exact := make([]float32, cols)
	for r := range rows {
		w.Row(r, exact)
		copy(wf[r*cols:], exact)
	}
	return w, wf
}

// TestAMXTilesModel runs the AMX MatMul driver with the kernels' Go twins
// on the tile model over odd shapes (partial token and weight blocks,
// padded columns, several weight groups and column chunks) and checks it against the generic kernels: bf16 within
// the f32 GEMM tolerance, Q8_0 within the rows path's (same 8-bit
// activations).
func TestAMXTilesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := [][3]int{{1, 1, 1}, {31, 17, 33}, {32, 32, 32}, {33, 45, 100}, {70, 70, 31}, {5, 3, 130}, {33, 270, 600}}
	// The default blocking, and one small enough for several weight
	// groups and column chunks (a partial last one of each) here.
	blockings := []amxBlocking{amxDefaultBlocking, {group: 2, bf16KC: 3, q8KC: 2}}
	for _, sh := range shapes {
		T, N, K := sh[0], sh[1], sh[2]
		x := randF32(rng, T*K)
		for _, dt := range []DType{BF16, F16, Q8_0, Q4_0} {
			w, _ := amxTestMatrix(rng, dt, N, K)
			want := refMatMul(x, T, w)
			for i, p := range testPools(t)[:2] {
				out := make([]float32, T*N+1)
				out[T*N] = 42
				if !p.amxMatMulBlocked(amxModelTiles{}, genericKernels, out, x, T, w, blockings[i]) {
					t.Fatalf("%v not handled", dt)
				}
				if out[T*N] != 42 {
					t.Fatal("wrote past the end")
				}
				for i, g := range out[:T*N] {
					tol := matMulTol(x, i/N, i%N, w, true)
					if d := math.Abs(float64(g) - want[i]); !(d <= tol) {
						t.Fatalf("%v T=%d N=%d K=%d: out[%d,%d] = %v, want %v (tol %g)", dt, T, N, K, i/N, i%N, g, want[i], tol)
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

func (c countingTiles) q8(a []byte, xd []float32, b0, b1, cc []byte, nb int) {
	c.calls.Add(1)
	c.amxModelTiles.q8(a, xd, b0, b1, cc, nb)
}

// TestAMXMatMulHook builds the amx set as a machine with AMX would (from
// the best set here, with the tile model standing in for the hardware)
// and checks MatMul with it: the tiles take BF16, F16, Q8_0 and Q4_0 from
// 32 tokens up, the other paths the rest, all within MatMul's tolerances.
func TestAMXMatMulHook(t *testing.T) {
	sets := availableKernels()
	var calls atomic.Int64
	k, note := newAMXKernels(amxProbe{cpu: true, osEnabled: true, permit: func() error { return nil },
		tiles: countingTiles{calls: &calls}, base: sets[len(sets)-1]})
	if k == nil || k.name != "amx" {
		t.Fatalf("no amx set: %q", note)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][2]int{{20, 40}, {33, 100}, {70, 31}} {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{F32, BF16, F16, Q8_0, Q4_0} {
			w, err := convertTo(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{3, 31, 32, 40, 100} {
				x := randF32(rng, T*cols)
				want := refMatMul(x, T, w)
				for _, p := range testPools(t)[:2] {
					out := make([]float32, T*rows)
					before := calls.Load()
					p.matMul(k, out, x, T, w)
					if wantCall := T >= amxMinT && dt != F32; (calls.Load() > before) != wantCall {
						t.Errorf("%v T=%d: tile path taken %v, want %v", dt, T, calls.Load() > before, wantCall)
					}
					for i, g := range out {
						if d := math.Abs(float64(g) - want[i]); !(d <= matMulTol(x, i/rows, i%rows, w, true)) {
							t.Fatalf("%v %dx%d T=%d: out[%d] = %v, want %v", dt, rows, cols, T, i, g, want[i])
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

func (b brokenTiles) q8(a []byte, xd []float32, b0, b1, c []byte, nb int) {
	b.amxModelTiles.q8(a, xd, b0, b1, c, nb)
	if b.fault == "q8 bit" {
		c[4096+4] ^= 1
	}
}

func TestAMXSelfTest(t *testing.T) {
	if err := amxSelfTest(amxModelTiles{}, genericKernels); err != nil {
		t.Fatalf("the tile model fails the self-test: %v", err)
	}
	for _, fault := range []string{"bf16 part", "bf16 bit", "f16 lo", "q8 bit"} {
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
