//go:build amd64 && !purego

package compute

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// amxKernelDescs are the asm kernels and their described AMX sequences.
var amxKernelDescs = []amxKernelDesc{amxBF16Desc, amxBF16x2Desc, amxBF16x1Desc, amxQ8Desc}

// amxEncodingSamples is every instruction the kernels use plus every tile
// number in every opcode and the extended registers as base and index, so
// the encoder is checked beyond the kernels' own operands.
func amxEncodingSamples() []amxInst {
	var ins []amxInst
	for _, d := range amxKernelDescs {
		ins = append(append(append(ins, d.prologue...), d.body...), d.epilogue...)
	}
	ins = append(ins, ldtilecfg(rCX), ldtilecfg(rR9), ldtilecfg(rR11))
	for t := range 8 {
		ins = append(ins, tilezero(t),
			tileloadd(t, 0, rAX, rBX), tileloadd(t, 64, rR8, rSI), tileloadd(t, -4096, rDI, rR10),
			tilestored(t, 0, rR11, rR9), tilestored(t, 127, rDX, rCX), tilestored(t, 1<<20, rR10, rR8),
			tdpbssd(t, (t+1)%8, (t+2)%8), tdpbf16ps(t, (t+3)%8, (t+7)%8))
	}
	return ins
}

// TestAMXEncodingsGNUAs assembles every sample instruction with GNU as
// and compares its bytes with amxInst.encode.
func TestAMXEncodingsGNUAs(t *testing.T) {
	requireBinutilsAMX(t, "as", "objcopy")
	ins := amxEncodingSamples()
	dir := t.TempDir()
	var src strings.Builder
	var want []byte
	for _, in := range ins {
		fmt.Fprintf(&src, "\t%s\n", in.gnu())
		want = append(want, in.encode()...)
	}
	s, o, bin := filepath.Join(dir, "amx.s"), filepath.Join(dir, "amx.o"), filepath.Join(dir, "amx.bin")
	if err := os.WriteFile(s, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("as", "--64", "-o", o, s).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	if out, err := exec.Command("objcopy", "-O", "binary", "--only-section=.text", o, bin).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	got, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, in := range ins {
		e := in.encode()
		if off+len(e) > len(got) || !bytes.Equal(got[off:off+len(e)], e) {
			t.Fatalf("%s: encode % x, GNU as % x", in.gnu(), e, got[off:min(len(got), off+len(e)+4)])
		}
		off += len(e)
	}
	if off != len(got) {
		t.Fatalf("GNU as produced %d bytes, encode %d", len(got), off)
	}
	t.Logf("%d instructions, %d bytes: identical", len(ins), len(want))
}

// requireBinutilsAMX skips the test unless the GNU tools are installed in
// a version that knows AMX (binutils 2.36 or later).
func requireBinutilsAMX(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("GNU %s not installed: %v", tool, err)
		}
		out, err := exec.Command(tool, "--version").Output()
		if err != nil {
			t.Skipf("%s --version: %v", tool, err)
		}
		m := regexp.MustCompile(`GNU .*?(\d+)\.(\d+)`).FindSubmatch(out)
		if m == nil {
			t.Skipf("%s is not GNU binutils: %s", tool, bytes.SplitN(out, []byte("\n"), 2)[0])
		}
		major, _ := strconv.Atoi(string(m[1]))
		minor, _ := strconv.Atoi(string(m[2]))
		if major < 2 || major == 2 && minor < 36 {
			t.Skipf("%s %d.%d predates AMX support (binutils 2.36)", tool, major, minor)
		}
	}
}

var objdumpLine = regexp.MustCompile(`^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$`)

// TestAMXKernelDisassembly disassembles the asm kernels of this very test
// binary with GNU objdump and checks that their AMX instructions are,
// byte for byte and in order, the ones amxBF16Desc, amxBF16x2Desc,
// amxBF16x1Desc and amxQ8Desc list
// (which the Go twins run on the tile model), that their only ADDs are the
// pointer increments the descriptions list (which the twins apply), and
// that nothing in them fails to decode.
func TestAMXKernelDisassembly(t *testing.T) {
	requireBinutilsAMX(t, "objdump")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	amxOps := map[string]bool{"ldtilecfg": true, "tilerelease": true, "tilezero": true,
		"tileloadd": true, "tilestored": true, "tdpbssd": true, "tdpbf16ps": true}
	bf16Entry, bf16x2Entry, bf16x1Entry, q8Entry := amxKernelEntries()
	for _, d := range amxKernelDescs {
		entry := map[string]uintptr{"amxBF16Kernel": bf16Entry, "amxBF16x2Kernel": bf16x2Entry,
			"amxBF16x1Kernel": bf16x1Entry, "amxQ8Kernel": q8Entry}[d.symbol]
		f := runtime.FuncForPC(entry)
		if f == nil || f.Entry() != entry || !strings.HasSuffix(f.Name(), "."+d.symbol) {
			t.Fatalf("%s: entry %#x is not the function's start", d.symbol, entry)
		}
		out, err := exec.Command("objdump", "-d", "-w",
			fmt.Sprintf("--start-address=%#x", entry), fmt.Sprintf("--stop-address=%#x", entry+1<<14), exe).CombinedOutput()
		if err != nil {
			t.Fatalf("objdump: %v\n%s", err, out)
		}
		var got, adds, all []string
		var gotBytes, wantBytes []byte
		n := 0
		for line := range strings.SplitSeq(string(out), "\n") {
			m := objdumpLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if pc, err := strconv.ParseUint(m[1], 16, 64); err != nil || runtime.FuncForPC(uintptr(pc)).Entry() != entry {
				break // past the end of the function
			}
			n++
			text := strings.Join(strings.Fields(m[3]), " ")
			if strings.Contains(text, "(bad)") || strings.HasPrefix(text, ".byte") {
				t.Errorf("%s: undecodable: %s", d.symbol, line)
			}
			all = append(all, text)
			if strings.Fields(text)[0] == "add" {
				adds = append(adds, text)
			}
			if amxOps[strings.Fields(text)[0]] {
				got = append(got, text)
				b, err := hex.DecodeString(strings.ReplaceAll(m[2], " ", ""))
				if err != nil {
					t.Fatal(err)
				}
				gotBytes = append(gotBytes, b...)
			}
		}
		if n == 0 {
			t.Fatalf("%s: objdump found no code at %#x\n%s", d.symbol, entry, out)
		}
		for _, seq := range [][]amxInst{d.prologue, d.body, d.epilogue} {
			for _, in := range seq {
				wantBytes = append(wantBytes, in.encode()...)
			}
		}
		want := strings.Split(strings.TrimSuffix(amxDescListing(d), "\n"), "\n")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: AMX instructions in the code:\n%s\nwant (the Go twin's):\n%s",
				d.symbol, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The constant registers the twins set up (amxModelTiles).
		setup := []string{"mov $0x40,%r11", "dec %rax"}
		switch d.symbol {
		case "amxQ8Kernel":
			setup = append(setup, "mov $0x20,%rbx", "mov $0x80,%rdx", "lea 0x200(%rsi),%rdi", "lea 0x40(%r9),%r10")
		case "amxBF16x1Kernel":
			// BX = the row stride (lda), DI = SI + 16·lda.
			setup = append(setup, "mov %rbx,%rdi", "shl $0x4,%rdi", "lea (%rsi,%rdi,1),%rdi")
		}
		for _, want := range setup {
			if !slices.Contains(all, want) {
				t.Errorf("%s: no %q", d.symbol, want)
			}
		}
		var wantAdds []string
		for _, a := range d.advance {
			wantAdds = append(wantAdds, fmt.Sprintf("add $%#x,%%%s", a.bytes, gpNames[a.reg]))
		}
		if strings.Join(adds, "\n") != strings.Join(wantAdds, "\n") {
			t.Errorf("%s: pointer increments in the code:\n%s\nwant (the Go twin's):\n%s",
				d.symbol, strings.Join(adds, "\n"), strings.Join(wantAdds, "\n"))
		}
		if !bytes.Equal(gotBytes, wantBytes) {
			t.Errorf("%s: AMX bytes % x, want % x", d.symbol, gotBytes, wantBytes)
		}
		t.Logf("%s: %d instructions, %d of them AMX, as described", d.symbol, n, len(got))
	}
}

// TestAMXHardware runs the asm kernels where the CPU and OS allow: larger
// odd shapes than the start-up self-test, every weight format with the
// f32-accurate kernels and the float ones with the one-part bf16 kernel,
// against the tile model (Q8_0 bit for bit, bf16 within 1e-5·Σ|x·w|).
func TestAMXHardware(t *testing.T) {
	tile, i8, bf, osOK := amxCPU()
	t.Logf("CPU: amx-tile %v amx-int8 %v amx-bf16 %v, OS (XCR0) %v", tile, i8, bf, osOK)
	set, note := amxSet()
	if set == nil {
		if note == "" {
			t.Skip("no AMX on this CPU")
		}
		if strings.Contains(note, "self-test") {
			t.Fatal(note)
		}
		t.Skip(note)
	}
	rng := rand.New(rand.NewPCG(3, 8))
	var hw amxHWTiles
	for _, sh := range [][3]int{{32, 32, 32}, {100, 77, 4096 + 5}, {129, 300, 333}, {45, 50, 96}} {
		T, N, K := sh[0], sh[1], sh[2]
		x := randF32(rng, T*K)
		for _, c := range amxPrecisionCases {
			dt := c.dt
			if dt.IsBlock() && K%qBlock != 0 {
				continue // ggml's layouts hold whole blocks
			}
			w, wf := amxTestMatrix(rng, dt, N, K)
			p := NewPool(2)
			got := make([]float32, T*N)
			model := make([]float32, T*N)
			p.amxMatMul(hw, avx512Kernels, got, x, T, w, c.bf16)
			p.amxMatMul(amxModelTiles{}, avx512Kernels, model, x, T, w, c.bf16)
			p.Close()
			for i := range got {
				var mag float32
				for c := range K {
					mag += abs32(x[i/N*K+c] * wf[i%N*K+c])
				}
				if (dt == Q8_0 || dt == Q4_0) && math.Float32bits(got[i]) != math.Float32bits(model[i]) ||
					abs32(got[i]-model[i]) > 1e-5*mag {
					t.Fatalf("%v bf16 %v T=%d N=%d K=%d: out[%d,%d] = %v, model %v", dt, c.bf16, T, N, K, i/N, i%N, got[i], model[i])
				}
			}
		}
	}
}

// BenchmarkAMXMatMul compares the AMX path with the avx512 set's at
// prefill shapes under the f32 and bf16 precisions (skipped without AMX):
// f32 takes the f32-accurate tiles (bf16, f16, Q8_0, Q4_0 weights), bf16
// the one-part kernel (f32, bf16, f16 weights; from T = 64 on, as auto
// does for bf16 and f16 weights).
func BenchmarkAMXMatMul(b *testing.B) {
	amx, note := amxSet()
	if amx == nil {
		b.Skipf("no usable AMX: %s", note)
	}
	const rows, cols = 4096, 4096
	for _, c := range amxPrecisionCases {
		dt, pr := c.dt, PrecisionF32
		if c.bf16 {
			pr = PrecisionBF16
		}
		w := benchMatrix(b, dt, rows, cols)
		for _, T := range []int{32, 128, 512} {
			x := randF32(rand.New(rand.NewPCG(3, 4)), T*cols)
			out := make([]float32, T*rows)
			for _, k := range []*kernels{avx512Kernels, amx} {
				b.Run(fmt.Sprintf("%v_%v_T%d_%s", dt, pr, T, k.name), func(b *testing.B) {
					p := benchPool(b)
					p.SetPrecision(pr)
					for b.Loop() {
						p.matMul(k, out, x, T, w)
					}
					b.ReportMetric(2*float64(T*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// TestAMXSplitAVX512 runs the AVX-512 split directly (not through the
// fallback of amxSplitRow): bit for bit with amxSplitRowGo on finite
// values, and reporting the non-finite ones.
func TestAMXSplitAVX512(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	const steps = 5
	x := make([]float32, steps*amxBF16Step)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(250)-125)))
	}
	x[3], x[40], x[77] = 1e-40, 0, float32(math.Copysign(0, -1))
	got := make([]uint16, steps*amxBF16AStep/2)
	want := make([]uint16, len(got))
	if amxSplitAVX512(&got[0], &x[0], steps) {
		t.Fatal("finite row reported as not finite")
	}
	amxSplitRowGo(want, x)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("dst[%d] = %#04x, want %#04x", i, got[i], want[i])
		}
	}
	for _, v := range []float32{float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32} {
		x[100] = v
		if !amxSplitAVX512(&got[0], &x[0], steps) {
			t.Errorf("%v not reported", v)
		}
	}
}

// amxDescListing returns a kernel's AMX instructions in code order, one a
// line, as GNU objdump prints them.
func amxDescListing(d amxKernelDesc) string {
	var b strings.Builder
	for _, seq := range [][]amxInst{d.prologue, d.body, d.epilogue} {
		for _, in := range seq {
			b.WriteString(in.gnu())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestAMXQ8ScaleAVX512 runs the AVX-512 part of amxQ8Kernel (the Q8SCALE
// macro, which needs no AMX) and checks it bit for bit against its Go
// twin amxQ8Scale, which the tile model uses.
func TestAMXQ8ScaleAVX512(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 20 {
		c := make([]byte, amxScratch)
		d := amxWords(c)
		for i := range 1024 { // int32 dots, as TDPBSSD leaves them
			d[i] = uint32(int32(rng.IntN(2*520000)) - 520000)
		}
		for i := 1024; i < 2048; i++ { // the f32 accumulator
			d[i] = math.Float32bits(float32(rng.NormFloat64()))
		}
		ws := make([]float32, amxTN)
		for i := range ws {
			ws[i] = float32(rng.ExpFloat64() * 1e-3)
		}
		xd := make([]float32, amxTM)
		for i := range xd {
			xd[i] = float32(rng.ExpFloat64() * 1e-2)
		}
		want := bytes.Clone(c)
		amxQ8Scale(want, amxPtr{bytesOf(xd), 0}, amxPtr{bytesOf(ws), 0})
		amxQ8ScaleAVX512(&c[0], &xd[0], &ws[0])
		if !bytes.Equal(c, want) {
			for i := range c {
				if c[i] != want[i] {
					t.Fatalf("byte %d: %#x, Go twin %#x", i, c[i], want[i])
				}
			}
		}
	}
}
