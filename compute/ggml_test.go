package compute

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glmv/glmv/internal/cputime"

	"github.com/glmv/glmv/internal/half"
	"github.com/glmv/glmv/safetensors"
)

// quantFixture is one quant_blocks file: rows of raw ggml blocks made by
// llama-quantize, gguf-py's (bit-exact with ggml's) dequantization of them,
// and the f32 rows they were quantized from.
type quantFixture struct {
	name         string
	info         GGMLTypeInfo
	rows, cols   int
	raw          []byte
	dequant, src []float32
}

// quantFixtureDir is where the quant_blocks fixtures live:
// $GLMV_REFERENCE_DIR/../gguf/quant_blocks when that exists, else the copy
// in testdata.
func quantFixtureDir() string {
	if r := os.Getenv("GLMV_REFERENCE_DIR"); r != "" {
		d := filepath.Join(r, "..", "gguf", "quant_blocks")
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return filepath.Join("testdata", "quant_blocks")
}

// loadQuantFixtures reads every *.safetensors file of the fixture
// directory.
func loadQuantFixtures(t testing.TB) []quantFixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(quantFixtureDir(), "*.safetensors"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no quant_blocks fixtures in %s (%v)", quantFixtureDir(), err)
	}
	var out []quantFixture
	for _, p := range paths {
		f, err := safetensors.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		md := f.Header.Metadata
		id, err := strconv.ParseUint(md["ggml_type_id"], 10, 32)
		if err != nil {
			t.Fatalf("%s: ggml_type_id: %v", p, err)
		}
		info, ok := GGMLType(uint32(id))
		if !ok {
			t.Fatalf("%s: ggml type %d (%s) not supported", p, id, md["ggml_type"])
		}
		if info.Name != md["ggml_type"] || strconv.Itoa(info.BlockSize) != md["block_size"] || strconv.Itoa(info.TypeSize) != md["type_size"] {
			t.Fatalf("%s: metadata %v disagrees with %+v", p, md, info)
		}
		raw, err := f.Bytes("raw")
		if err != nil {
			t.Fatal(err)
		}
		deq, shape, err := f.Float32("dequant")
		if err != nil {
			t.Fatal(err)
		}
		src, _, err := f.Float32("source")
		if err != nil {
			t.Fatal(err)
		}
		fx := quantFixture{
			name: strings.TrimSuffix(filepath.Base(p), ".safetensors"), info: info,
			rows: shape[0], cols: shape[1],
			raw: append([]byte(nil), raw...), dequant: append([]float32(nil), deq...), src: append([]float32(nil), src...),
		}
		f.Close()
		out = append(out, fx)
	}
	return out
}

func TestGGMLDequantFixtures(t *testing.T) {
	for _, fx := range loadQuantFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			m, err := NewBlockMatrix(fx.info.DType, fx.rows, fx.cols, fx.raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			row := make([]float32, fx.cols)
			for r := range fx.rows {
				m.Row(r, row)
				for c, v := range row {
					if want := fx.dequant[r*fx.cols+c]; math.Float32bits(v) != math.Float32bits(want) {
						t.Fatalf("row %d col %d: got %v (%#x), want %v (%#x)", r, c, v, math.Float32bits(v), want, math.Float32bits(want))
					}
				}
			}
		})
	}
}

// blockTypes lists the ggml block formats.
func blockTypes() []DType {
	var out []DType
	for d := DType(0); d < numDTypes; d++ {
		if d.IsBlock() {
			out = append(out, d)
		}
	}
	return out
}

// f16Fields gives the byte offsets of each block format's f16 scales.
var f16Fields = map[DType][]int{
	GGMLQ8_0: {0}, GGMLQ4_0: {0}, Q4_1: {0, 2}, Q5_0: {0}, Q5_1: {0, 2},
	Q2_K: {80, 82}, Q3_K: {108}, Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208},
}

// randomBlockMatrix makes a rows×cols matrix of random blocks of dt with
// finite scales of about 1e-3 (so weights are O(0.01-0.1)).
func randomBlockMatrix(t testing.TB, rng *rand.Rand, dt DType, rows, cols int) *Matrix {
	f := &blockFormats[dt]
	data := make([]byte, rows*cols/f.bs*f.ts)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for b := 0; b < len(data); b += f.ts {
		for _, o := range f16Fields[dt] {
			binary.LittleEndian.PutUint16(data[b+o:], half.F32ToF16((rng.Float32()*2-0.5)*2e-3))
		}
	}
	m, err := NewBlockMatrix(dt, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dequantAct expands a quantized activation row back to float64.
func dequantAct(a *actRow, cols int) []float64 {
	out := make([]float64, cols)
	for i := range out {
		out[i] = float64(a.q[i]) * float64(a.d[i/qBlock])
	}
	return out
}

// TestGGMLBlockDots checks every block dot kernel of every kernel set
// against float64 sums of the dequantized weights times (a) the
// dequantized 8-bit activations, within 2e-6·Σ|w·x| (f32 rounding of the
// block sums), and (b) the original activations, within the activation
// rounding bound Σ_32-column blocks max|x_blk|/254·Σ|w_blk| (plus the same
// slack).
func TestGGMLBlockDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := NewPool(2)
	defer p.Close()
	for _, dt := range blockTypes() {
		for _, cols := range []int{256, 1024, 4096} {
			w := randomBlockMatrix(t, rng, dt, 3, cols)
			x := randF32(rng, 2*cols)
			for i := range 8 { // a few outliers
				x[rng.IntN(len(x))] *= 20 + float32(i)
			}
			wrow := make([]float32, cols)
			for _, k := range kernelSets() {
				acts := p.quantizeActs(k, dt, x, 2, cols)
				for r := range w.Rows {
					w.Row(r, wrow)
					rb := w.blockRowBytes()
					for ti := range acts {
						xt := x[ti*cols : (ti+1)*cols]
						xa := dequantAct(&acts[ti], cols)
						var wantQ, want, mag, bound float64
						for c := range cols {
							wantQ += float64(wrow[c]) * xa[c]
							want += float64(wrow[c]) * float64(xt[c])
							mag += math.Abs(float64(wrow[c]) * xa[c])
						}
						for b := 0; b < cols; b += qBlock {
							var amax, wsum float64
							for c := b; c < b+qBlock; c++ {
								amax = max(amax, math.Abs(float64(xt[c])))
								wsum += math.Abs(float64(wrow[c]))
							}
							bound += amax / 254 * wsum
						}
						got := float64(k.blockDot[dt](&acts[ti], w.Q[r*rb:(r+1)*rb]))
						slack := 2e-6*mag + 1e-9
						if math.Abs(got-wantQ) > slack {
							t.Errorf("%s %v cols=%d row %d tok %d: got %v, want %v (q8 activations; diff %.3g > %.3g)", k.name, dt, cols, r, ti, got, wantQ, got-wantQ, slack)
						}
						if math.Abs(got-want) > bound+slack {
							t.Errorf("%s %v cols=%d row %d tok %d: got %v, want %v (diff %.3g > bound %.3g)", k.name, dt, cols, r, ti, got, want, got-want, bound)
						}
					}
				}
			}
		}
	}
}

// TestGGMLMatMul runs MatMul on block weights through the row kernels
// (T below the set's GEMM switch point for the format) and the
// dequantizing GEMM, for every kernel set, against float64 products of the dequantized weights.
func TestGGMLMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range testPools(t) {
		for _, dt := range blockTypes() {
			const rows, cols = 37, 512
			w := randomBlockMatrix(t, rng, dt, rows, cols)
			wf := make([]float32, rows*cols)
			for r := range rows {
				w.Row(r, wf[r*cols:(r+1)*cols])
			}
			for _, k := range kernelSets() {
				for _, T := range []int{1, 5, gemmMinT(k, dt) + 3} {
					x := randF32(rng, T*cols)
					out := make([]float32, T*rows)
					p.matMul(k, out, x, T, w)
					for ti := range T {
						for r := range rows {
							var want, mag float64
							for c := range cols {
								v := float64(wf[r*cols+c]) * float64(x[ti*cols+c])
								want += v
								mag += math.Abs(v)
							}
							// 8-bit activations: |Δ| <= Σ|w|·max|x|/254 <= mag/127-ish
							// (the row kernels and the integer GEMM); the f32
							// GEMM path is f32 throughout.
							tol := 1e-5 * mag
							if T < gemmMinT(k, dt) || (k.q8 != nil && intGEMMFormat(dt) && T >= k.q8.minTokens(p.Workers(), dt)) {
								tol = mag / 100
							}
							if got := float64(out[ti*rows+r]); math.Abs(got-want) > tol+1e-9 {
								t.Fatalf("%s %v T=%d [%d,%d]: got %v want %v (tol %.3g)", k.name, dt, T, ti, r, got, want, tol)
							}
						}
					}
				}
			}
		}
	}
}

// TestGGMLLayouts checks NewBlockMatrix's size checks, the ggml type table
// and the conversions between the split and ggml Q8_0/Q4_0 layouts.
func TestGGMLLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dt := range blockTypes() {
		info, ok := GGMLType(blockFormats[dt].ggml)
		if !ok || info.DType != dt {
			t.Errorf("GGMLType(%d) = %+v, %v", blockFormats[dt].ggml, info, ok)
		}
		if id, ok := dt.GGMLTypeID(); !ok || id != blockFormats[dt].ggml {
			t.Errorf("%v.GGMLTypeID() = %d, %v", dt, id, ok)
		}
		bs, ts := blockFormats[dt].bs, blockFormats[dt].ts
		if _, err := NewBlockMatrix(dt, 2, bs+1, make([]byte, 2*ts*2)); err == nil {
			t.Errorf("%v: columns not a multiple of %d accepted", dt, bs)
		}
		if _, err := NewBlockMatrix(dt, 2, bs, make([]byte, 2*ts-1)); err == nil {
			t.Errorf("%v: short data accepted", dt)
		}
		if _, err := NewBlockMatrix(dt, 2, bs, make([]byte, 2*ts+1)); err == nil {
			t.Errorf("%v: long data accepted", dt)
		}
	}
	for _, id := range []uint32{9, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 29, 34, 35, 1000} {
		if info, ok := GGMLType(id); ok {
			t.Errorf("GGMLType(%d) = %+v, want unsupported", id, info)
		}
	}
	for _, pair := range [][2]DType{{GGMLQ8_0, Q8_0}, {GGMLQ4_0, Q4_0}} {
		g := randomBlockMatrix(t, rng, pair[0], 3, 96)
		s, err := SplitGGML(g)
		if err != nil || s.DType != pair[1] {
			t.Fatalf("SplitGGML(%v): %v, %v", pair[0], s, err)
		}
		a, b := make([]float32, 96), make([]float32, 96)
		for r := range 3 {
			g.Row(r, a)
			s.Row(r, b)
			for c := range a {
				if math.Float32bits(a[c]) != math.Float32bits(b[c]) {
					t.Fatalf("%v row %d col %d: split %v, ggml %v", pair[1], r, c, b[c], a[c])
				}
			}
		}
		raw, err := s.GGMLBytes()
		if err != nil || !bytes.Equal(raw, g.Q) {
			t.Fatalf("%v.GGMLBytes() does not give back the ggml blocks (%v)", pair[1], err)
		}
	}
}

// BenchmarkMatVecGGML measures one-token MatMul on random ggml block
// weights (SetBytes is the weight size, so MB/s is the weight stream; with
// one worker, -cpu 1, also per CPU second).
func BenchmarkMatVecGGML(b *testing.B) {
	for _, dt := range blockTypes() {
		for _, sh := range [][2]int{{4096, 13824}, {13824, 4096}} {
			b.Run(fmt.Sprintf("%v_%dx%d", dt, sh[0], sh[1]), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				w := randomBlockMatrix(b, rng, dt, sh[0], sh[1])
				p := benchPool(b)
				x := randF32(rng, sh[1])
				out := make([]float32, sh[0])
				b.SetBytes(int64(len(w.Q)))
				c0 := cputime.Process()
				for b.Loop() {
					p.MatMul(out, x, 1, w)
				}
				if c := cputime.Process() - c0; c > 0 && p.workers == 1 {
					b.ReportMetric(float64(len(w.Q))*float64(b.N)/c.Seconds()/1e9, "cpu-GB/s")
				}
			})
		}
	}
}

// BenchmarkGEMMGGML measures prefill-sized MatMul on ggml block weights
// (T=64 and 512 through the dequantizing GEMM, T=16 through the row
// kernels).
func BenchmarkGEMMGGML(b *testing.B) {
	for _, dt := range []DType{Q4_K, Q6_K, GGMLQ8_0} {
		for _, T := range []int{16, 64, 128, 512} {
			const rows, cols = 4096, 4096
			b.Run(fmt.Sprintf("%v_T%d_%dx%d", dt, T, rows, cols), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				w := randomBlockMatrix(b, rng, dt, rows, cols)
				p := benchPool(b)
				x := randF32(rng, T*cols)
				out := make([]float32, T*rows)
				for b.Loop() {
					p.MatMul(out, x, T, w)
				}
				b.ReportMetric(2*float64(T)*rows*cols*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// rms returns the root mean square of a-b.
func rms(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

// TestGGMLQuantizeFixtures quantizes the fixtures' source rows with our
// quantizers and compares with what llama-quantize made of them: the
// blocks must be byte-identical (llama-quantize ran llama.cpp's reference
// quantizers: no importance matrix), and so the RMS errors equal.
func TestGGMLQuantizeFixtures(t *testing.T) {
	for _, fx := range loadQuantFixtures(t) {
		dt := fx.info.DType
		if blockFormats[dt].quant == nil {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			src := &Matrix{DType: F32, Rows: fx.rows, Cols: fx.cols, F32: fx.src}
			q, err := Quantize(src, dt)
			if err != nil {
				t.Fatal(err)
			}
			ts := fx.info.TypeSize
			same, total := 0, len(q.Q)/ts
			for b := range total {
				if bytes.Equal(q.Q[b*ts:(b+1)*ts], fx.raw[b*ts:(b+1)*ts]) {
					same++
				}
			}
			deq := make([]float32, fx.rows*fx.cols)
			for r := range fx.rows {
				q.Row(r, deq[r*fx.cols:(r+1)*fx.cols])
			}
			for r := range fx.rows {
				lo, hi := r*fx.cols, (r+1)*fx.cols
				ours, theirs := rms(deq[lo:hi], fx.src[lo:hi]), rms(fx.dequant[lo:hi], fx.src[lo:hi])
				t.Logf("row %d: rms error %.4g (llama.cpp %.4g, ratio %.4f)", r, ours, theirs, ours/theirs)
				if ours > theirs*1.001 {
					t.Errorf("row %d: rms error %.4g exceeds llama.cpp's %.4g", r, ours, theirs)
				}
			}
			t.Logf("%d of %d blocks byte-identical to llama-quantize", same, total)
			if same != total {
				t.Errorf("only %d of %d blocks identical to llama-quantize's", same, total)
			}
		})
	}
}

// quantRelRMS bounds the RMS quantization error relative to the RMS of
// N(0,1) rows (observed values are about 20% lower); rows with a few
// outliers up to 24σ get 4 times the bound.
var quantRelRMS = map[DType]float64{
	GGMLQ8_0: 0.0065, GGMLQ4_0: 0.11, Q4_1: 0.10, Q5_0: 0.055, Q5_1: 0.048,
	Q4_K: 0.090, Q5_K: 0.046, Q6_K: 0.023,
}

// TestGGMLQuantizeRandom quantizes Gaussian rows (with outliers, and an
// all-zero and a constant row) to every format with a quantizer and
// checks the dequantized error against quantRelRMS.
func TestGGMLQuantizeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const rows, cols = 8, 2048
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range 20 { // outliers in rows 4 and 5
		x[4*cols+rng.IntN(2*cols)] *= float32(5 + i)
	}
	clear(x[(rows-2)*cols : (rows-1)*cols])
	for i := (rows - 1) * cols; i < len(x); i++ {
		x[i] = 0.25
	}
	src := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: x}
	p := NewPool(2)
	defer p.Close()
	for _, dt := range blockTypes() {
		if blockFormats[dt].quant == nil {
			if _, err := p.Quantize(src, dt); err == nil {
				t.Errorf("%v: Quantize succeeded without a quantizer", dt)
			}
			continue
		}
		q, err := p.Quantize(src, dt)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]float32, cols)
		var worst, worstOut float64
		for r := range rows {
			q.Row(r, row)
			e := rms(row, x[r*cols:(r+1)*cols])
			switch {
			case math.IsNaN(e):
				t.Errorf("%v row %d: NaN", dt, r)
			case r < 4:
				worst = max(worst, e)
			case r < 6:
				worstOut = max(worstOut, e)
			case e > 0.25*quantRelRMS[dt]:
				t.Errorf("%v row %d (zero/constant): rms error %.3g", dt, r, e)
			}
		}
		t.Logf("%v: worst relative rms error %.4f (bound %.4f), with outliers %.4f", dt, worst, quantRelRMS[dt], worstOut)
		if worst > quantRelRMS[dt] || worstOut > 4*quantRelRMS[dt] {
			t.Errorf("%v: relative rms error %.4f / %.4f (outliers) exceeds %.4f / %.4f", dt, worst, worstOut, quantRelRMS[dt], 4*quantRelRMS[dt])
		}
	}
	if _, err := p.Quantize(&Matrix{DType: F32, Rows: 1, Cols: 100, F32: make([]float32, 100)}, Q4_K); err == nil {
		t.Error("Q4_K accepted 100 columns")
	}
}

// FuzzGGMLBlocks binds arbitrary bytes as one row of each block format and
// checks that every kernel set's dot product agrees with the float64 sum
// over the dequantized weights and 8-bit activations (f16 scales that are
// Inf or NaN are made finite first), that their dequantization is the
// reference one bit for bit, and that short data is refused.
func FuzzGGMLBlocks(f *testing.F) {
	for _, fx := range loadQuantFixtures(f) {
		f.Add(fx.raw[:fx.info.TypeSize*2], uint8(fx.info.DType), uint64(1))
	}
	types := blockTypes()
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, seed uint64) {
		dt := types[int(kind)%len(types)]
		bf := &blockFormats[dt]
		nb := min(len(data)/bf.ts, 16)
		cols := nb * bf.bs
		if _, err := NewBlockMatrix(dt, 1, cols+bf.bs, data[:nb*bf.ts]); err == nil {
			t.Fatalf("%v: %d bytes accepted for %d columns", dt, nb*bf.ts, cols+bf.bs)
		}
		if nb == 0 {
			return
		}
		w := append([]byte(nil), data[:nb*bf.ts]...)
		for b := 0; b < len(w); b += bf.ts {
			for _, o := range f16Fields[dt] {
				if h := binary.LittleEndian.Uint16(w[b+o:]); h&0x7c00 == 0x7c00 {
					binary.LittleEndian.PutUint16(w[b+o:], h&^0x4000)
				}
			}
		}
		m, err := NewBlockMatrix(dt, 1, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		wrow := m.Row(0, make([]float32, cols))
		rng := rand.New(rand.NewPCG(seed, 1))
		x := randF32(rng, cols)
		for _, k := range kernelSets() {
			deq := make([]float32, cols)
			k.dequantBlk[dt](deq, w)
			for c := range deq {
				if math.Float32bits(deq[c]) != math.Float32bits(wrow[c]) {
					t.Fatalf("%s %v: dequant [%d] = %v, want %v", k.name, dt, c, deq[c], wrow[c])
				}
			}
			var p *Pool
			acts := p.quantizeActs(k, dt, x, 1, cols)
			xa := dequantAct(&acts[0], cols)
			var want, mag float64
			for c := range cols {
				want += float64(wrow[c]) * xa[c]
				mag += math.Abs(float64(wrow[c]) * xa[c])
			}
			got := float64(k.blockDot[dt](&acts[0], w))
			if math.Abs(got-want) > 2e-6*mag+1e-30 {
				t.Fatalf("%s %v: got %v want %v (mag %v)", k.name, dt, got, want, mag)
			}
		}
	})
}

// TestGGMLDequantKernels checks every kernel set's whole-block
// dequantization against the reference (bit for bit).
func TestGGMLDequantKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, dt := range blockTypes() {
		w := randomBlockMatrix(t, rng, dt, 1, 1024)
		want := w.Row(0, make([]float32, 1024))
		for _, k := range kernelSets() {
			got := make([]float32, 1024)
			k.dequantBlk[dt](got, w.Q)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %v: [%d] = %v, want %v", k.name, dt, i, got[i], want[i])
				}
			}
		}
	}
}

func TestGGMLRowRangeAndNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	src := &Matrix{DType: F32, Rows: 6, Cols: 256, F32: randF32(rng, 6*256)}
	for _, dt := range []DType{F32, BF16, F16, Q8_0, Q4_0, Q4_K, GGMLQ8_0} {
		m, err := Quantize(src, dt)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.RowRange(2, 5)
		if err != nil || v.Validate() != nil {
			t.Fatalf("%v: RowRange: %v / %v", dt, err, v.Validate())
		}
		a, b := make([]float32, 256), make([]float32, 256)
		for r := range 3 {
			m.Row(r+2, a)
			v.Row(r, b)
			for c := range a {
				if a[c] != b[c] {
					t.Fatalf("%v row %d col %d: view %v, matrix %v", dt, r, c, b[c], a[c])
				}
			}
		}
		if _, err := m.RowRange(4, 7); err == nil {
			t.Errorf("%v: RowRange past the end accepted", dt)
		}
	}
	for id, want := range map[uint32]string{12: "Q4_K", 16: "IQ2_XXS", 30: "BF16", 35: "TQ2_0", 4: "type 4", 999: "type 999"} {
		if got := GGMLTypeName(id); got != want {
			t.Errorf("GGMLTypeName(%d) = %q, want %q", id, got, want)
		}
	}
	for d := DType(0); d < numDTypes; d++ {
		if d.IsBlock() && GGMLTypeName(blockFormats[d].ggml) != blockFormats[d].name {
			t.Errorf("%v: name %q, ggml table %q", d, blockFormats[d].name, GGMLTypeName(blockFormats[d].ggml))
		}
	}
}

// BenchmarkQuantizeBlocks measures the reference quantizers (one thread;
// MB/s of f32 input).
func BenchmarkQuantizeBlocks(b *testing.B) {
	rng := rand.New(rand.NewPCG(19, 20))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, dt := range blockTypes() {
		if blockFormats[dt].quant == nil {
			continue
		}
		b.Run(dt.String(), func(b *testing.B) {
			f := &blockFormats[dt]
			dst := make([]byte, len(x)/f.bs*f.ts)
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := QuantizeBlocks(dt, dst, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGGMLAsmVsGo compares the SIMD block dot products with the pure-Go
// ones on the same quantized activations: they differ only in the order of
// the f32 additions (within 2e-6·Σ|w·x|).
func TestGGMLAsmVsGo(t *testing.T) {
	sets := archKernelSets()
	if len(sets) == 0 {
		t.Skip("no SIMD kernel set on this machine")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var p *Pool
	for _, arch := range sets {
		for _, dt := range blockTypes() {
			const rows, cols = 8, 2048
			w := randomBlockMatrix(t, rng, dt, rows, cols)
			x := randF32(rng, cols)
			x[rng.IntN(cols)] = 40 // an outlier channel
			acts := p.quantizeActs(genericKernels, dt, x, 1, cols)
			xa := dequantAct(&acts[0], cols)
			wrow := make([]float32, cols)
			rb := w.blockRowBytes()
			for r := range rows {
				w.Row(r, wrow)
				var mag float64
				for c := range cols {
					mag += math.Abs(float64(wrow[c]) * xa[c])
				}
				wr := w.Q[r*rb : (r+1)*rb]
				g, a := genericKernels.blockDot[dt](&acts[0], wr), arch.blockDot[dt](&acts[0], wr)
				if d := math.Abs(float64(g) - float64(a)); d > 2e-6*mag {
					t.Errorf("%v row %d: %s %v, go %v (diff %.3g, mag %.3g)", dt, r, arch.name, a, g, d, mag)
				}
			}
		}
	}
}

// TestGGMLBlockDotExtremes compares every kernel set's block dot products
// with the generic ones on blocks whose bytes are all 0xff or all 0x80
// (largest values, scales and mins, fifth bits set) against activations of
// constant sign, so the integer sums reach their bounds: the AVX2 Q4_K and
// Q5_K kernels add up to 4 pair products per int16 word (at most
// 4·2·31·127 = 31496 in magnitude), which a change that let them wrap would
// fail here (within 2e-6·Σ|w·x|, as TestGGMLAsmVsGo).
func TestGGMLBlockDotExtremes(t *testing.T) {
	var p *Pool
	for _, dt := range blockTypes() {
		f := &blockFormats[dt]
		const nb = 3
		cols := nb * f.bs
		for _, fill := range []byte{0xff, 0x80} {
			w := bytes.Repeat([]byte{fill}, nb*f.ts)
			for b := 0; b < len(w); b += f.ts {
				for _, o := range f16Fields[dt] {
					binary.LittleEndian.PutUint16(w[b+o:], half.F32ToF16(1e-3))
				}
			}
			m, err := NewBlockMatrix(dt, 1, cols, w)
			if err != nil {
				t.Fatal(err)
			}
			wrow := m.Row(0, make([]float32, cols))
			for _, sign := range []float32{1, -1} {
				x := make([]float32, cols)
				for i := range x {
					x[i] = sign
				}
				acts := p.quantizeActs(genericKernels, dt, x, 1, cols)
				xa := dequantAct(&acts[0], cols)
				var mag float64
				for c := range cols {
					mag += math.Abs(float64(wrow[c]) * xa[c])
				}
				want := genericKernels.blockDot[dt](&acts[0], w)
				for _, k := range kernelSets() {
					got := k.blockDot[dt](&acts[0], w)
					if d := math.Abs(float64(got) - float64(want)); d > 2e-6*mag {
						t.Errorf("%s %v bytes %#x, x %v: got %v, go %v (diff %.3g, mag %.3g)", k.name, dt, fill, sign, got, want, d, mag)
					}
				}
			}
		}
	}
}

// TestNewBlockMatrixFloat binds F32, F16 and BF16 bytes (aligned: shared,
// misaligned: copied) and checks the values and the size checks.
func TestNewBlockMatrixFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	src := &Matrix{DType: F32, Rows: 3, Cols: 5, F32: randF32(rng, 15)}
	for _, dt := range []DType{F32, F16, BF16} {
		m, err := Quantize(src, dt)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := m.GGMLBytes()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(raw)+1)
		for _, off := range []int{0, 1} {
			data := buf[off : off+len(raw)]
			copy(data, raw)
			b, err := NewBlockMatrix(dt, 3, 5, data)
			if err != nil {
				t.Fatal(err)
			}
			want, got := make([]float32, 5), make([]float32, 5)
			for r := range 3 {
				m.Row(r, want)
				b.Row(r, got)
				for c := range want {
					if math.Float32bits(want[c]) != math.Float32bits(got[c]) {
						t.Fatalf("%v off %d [%d,%d]: %v, want %v", dt, off, r, c, got[c], want[c])
					}
				}
			}
		}
		if _, err := NewBlockMatrix(dt, 3, 5, raw[:len(raw)-1]); err == nil {
			t.Errorf("%v: short data accepted", dt)
		}
	}
	if _, err := NewBlockMatrix(Q8_0, 1, 32, make([]byte, 34)); err == nil {
		t.Error("split Q8_0 accepted as a ggml layout")
	}
}

// TestGGMLMatMulTokenBlocks runs the row kernels with more tokens than
// fit one activation block (256 KiB of int8 activations), so matVecBlocks
// walks several blocks of tokens.
func TestGGMLMatMulTokenBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	p := NewPool(2)
	defer p.Close()
	const rows, cols, T = 9, 8192, 40 // 32 tokens per activation block
	for _, dt := range []DType{Q4_K, GGMLQ8_0} {
		w := randomBlockMatrix(t, rng, dt, rows, cols)
		x := randF32(rng, T*cols)
		out := make([]float32, T*rows)
		p.matVecBlocks(kern, out, x, T, w)
		acts := p.quantizeActs(kern, dt, x, T, cols)
		rb := w.blockRowBytes()
		for ti := range T {
			for r := range rows {
				want := kern.blockDot[dt](&acts[ti], w.Q[r*rb:(r+1)*rb])
				if got := out[ti*rows+r]; got != want {
					t.Fatalf("%v [%d,%d]: %v, want %v", dt, ti, r, got, want)
				}
			}
		}
	}
}
