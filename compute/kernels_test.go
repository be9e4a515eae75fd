package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/glmv/glmv/internal/half"
)

var benchDTypes = []DType{F32, BF16, Q8_0, Q4_0}

func convertTo(m *Matrix, dt DType) (*Matrix, error) { return NewPool(0).Quantize(m, dt) }

// kernelSets lists the kernel sets this machine can run: always the generic
// one, plus every SIMD one the CPU has. Each test runs them all.
func kernelSets() []*kernels { return availableKernels() }

// testPools returns a nil pool (serial) and two real ones.
func testPools(t *testing.T) []*Pool {
	p2, p3 := NewPool(2), NewPool(3)
	t.Cleanup(p2.Close)
	t.Cleanup(p3.Close)
	return []*Pool{nil, p2, p3}
}

var testSizes = []int{0, 1, 7, 8, 31, 33, 51, 100, 4096 + 5}

func TestKernelName(t *testing.T) {
	t.Logf("kernel set in use: %s (available: %v; CPU features %v)", KernelName(), KernelSets(), CPUFeatures())
}

// GLMV_KERNELS picks the fastest set no faster than asked, and says so when
// that is not the one asked for.
func TestSelectKernels(t *testing.T) {
	sets := availableKernels()
	best := sets[len(sets)-1]
	for _, c := range []struct {
		req, want string
		note      bool
	}{
		{"", best.name, false},
		{"generic", "go", false},
		{"GENERIC", "go", false},
		{"nonsense", best.name, true},
	} {
		k, note := selectKernels(c.req)
		if k.name != c.want || (note != "") != c.note {
			t.Errorf("selectKernels(%q) = %s, note %q", c.req, k.name, note)
		}
	}
	// Asking for the fastest set there is gives the best available, with a
	// note unless this machine has it.
	k, note := selectKernels("amx")
	if k != best || (note == "") != (best.name == "amx") {
		t.Errorf("selectKernels(amx) = %s, note %q", k.name, note)
	}
	for _, k := range sets {
		if got, note := selectKernels(k.name); got != k || note != "" {
			t.Errorf("selectKernels(%s) = %s, note %q", k.name, got.name, note)
		}
	}
}

func TestDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range kernelSets() {
		for _, n := range testSizes {
			a, b := randF32(rng, n), randF32(rng, n+3)
			bf, hf := make([]uint16, n), make([]uint16, n)
			wf := &Matrix{DType: F32, Rows: 1, Cols: n, F32: b[:n]}
			mb, _ := Quantize(wf, BF16)
			mh, _ := Quantize(wf, F16)
			copy(bf, mb.U16)
			copy(hf, mh.U16)
			var want, wantB, wantH, mag float64
			for i := range n {
				want += float64(a[i]) * float64(b[i])
				wantB += float64(a[i]) * float64(BF16ToF32(bf[i]))
				wantH += float64(a[i]) * float64(F16ToF32(hf[i]))
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			tol := 1e-6*mag + 1e-7
			check := func(what string, got float32, want float64) {
				if math.Abs(float64(got)-want) > tol {
					t.Errorf("%s %s n=%d: got %v want %v", k.name, what, n, got, want)
				}
			}
			check("dot", k.dot(a, b), want)
			// Four rows with a stride: rows i of w4 (f32) and u4 (bf16/f16).
			stride := n + 2
			w4 := randF32(rng, 4*stride)
			u4 := make([]uint16, 4*stride)
			h4 := make([]uint16, 4*stride)
			for i, v := range w4 {
				mb, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: 1, F32: []float32{v}}, BF16)
				mh, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: 1, F32: []float32{v}}, F16)
				u4[i], h4[i] = mb.U16[0], mh.U16[0]
			}
			var o, ob, oh [4]float32
			k.dot4(a, w4, stride, &o)
			k.dot4BF16(a, u4, stride, &ob)
			k.dot4F16(a, h4, stride, &oh)
			for i := range 4 {
				var wf, wb, wh float64
				for c := range n {
					wf += float64(a[c]) * float64(w4[i*stride+c])
					wb += float64(a[c]) * float64(BF16ToF32(u4[i*stride+c]))
					wh += float64(a[c]) * float64(F16ToF32(h4[i*stride+c]))
				}
				check(fmt.Sprintf("dot4[%d]", i), o[i], wf)
				check(fmt.Sprintf("dot4BF16[%d]", i), ob[i], wb)
				check(fmt.Sprintf("dot4F16[%d]", i), oh[i], wh)
			}
			// Widening.
			wd := make([]float32, n+1)
			wd[n] = 7
			k.widenBF16(wd[:n], bf)
			for i := range n {
				if wd[i] != BF16ToF32(bf[i]) {
					t.Fatalf("%s widenBF16 n=%d [%d]", k.name, n, i)
				}
			}
			k.widenF16(wd[:n], hf)
			for i := range n {
				if wd[i] != F16ToF32(hf[i]) {
					t.Fatalf("%s widenF16 n=%d [%d]", k.name, n, i)
				}
			}
			if wd[n] != 7 {
				t.Fatalf("%s widen wrote past n", k.name)
			}
			check("dotBF16", k.dotBF16(a, bf), wantB)
			check("dotF16", k.dotF16(a, hf), wantH)
		}
	}
}

// refMatMul is the float64 product with the weights dequantized by Row.
func refMatMul(x []float32, T int, w *Matrix) []float64 {
	out := make([]float64, T*w.Rows)
	row := make([]float32, w.Cols)
	for r := range w.Rows {
		w.Row(r, row)
		for t := range T {
			var s float64
			for c, v := range row {
				s += float64(x[t*w.Cols+c]) * float64(v)
			}
			out[t*w.Rows+r] = s
		}
	}
	return out
}

// matMulTol is the error allowed for out[t, r]: float32 rounding of the sum,
// plus, for the quantized matvec path, the effect of rounding x to 8 bits
// per block: |Σ w·(x-x̂)| <= Σ_blocks (max|x|/127/2)·Σ|w|.
func matMulTol(x []float32, t, r int, w *Matrix, viaRows bool) float64 {
	row := make([]float32, w.Cols)
	w.Row(r, row)
	xr := x[t*w.Cols : (t+1)*w.Cols]
	var mag, qerr float64
	for b := 0; b*qBlock < w.Cols; b++ {
		var amax, wsum float64
		for c := b * qBlock; c < min(w.Cols, (b+1)*qBlock); c++ {
			amax = max(amax, math.Abs(float64(xr[c])))
			wsum += math.Abs(float64(row[c]))
			mag += math.Abs(float64(xr[c]) * float64(row[c]))
		}
		qerr += amax / 127 / 2 * wsum
	}
	tol := 2e-6*mag + 1e-6
	if intGEMMFormat(w.DType) && viaRows {
		tol += qerr * 1.01
	}
	return tol
}

func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	shapes := [][2]int{{1, 1}, {7, 31}, {33, 33}, {17, 100}, {40, 7}, {5, 4101}, {37, 300}, {9, 8224}}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{F32, BF16, F16, Q8_0, Q4_0} {
			w, err := Quantize(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{1, 2, 3, 5, 6, 7, 13, 100} {
				if T*rows*cols > 2_100_000 {
					continue
				}
				x := randF32(rng, T*cols)
				want := refMatMul(x, T, w)
				tolRows := make([]float64, T*rows)
				tolGEMM := make([]float64, T*rows)
				for i := range tolRows {
					tolRows[i] = matMulTol(x, i/rows, i%rows, w, true)
					tolGEMM[i] = matMulTol(x, i/rows, i%rows, w, false)
				}
				for _, k := range kernelSets() {
					for pi, p := range testPools(t) {
						for _, path := range []string{"MatMul", "rows", "gemm"} {
							out := make([]float32, T*rows+1)
							out[T*rows] = 42
							viaRows := T < gemmMinT(k, w.DType)
							viaBF16 := false
							switch path {
							case "MatMul":
								p.matMul(k, out, x, T, w)
								viaBF16 = p.useBF16(k, w.DType, T)
							case "rows":
								p.matVec(k, out, x, T, w)
								viaRows = true
							case "gemm":
								p.gemm(k, out, x, T, w)
								viaRows = false
							}
							if out[T*rows] != 42 {
								t.Fatalf("wrote past the end")
							}
							bad := 0
							for i, g := range out[:T*rows] {
								tt, r := i/rows, i%rows
								tol := tolGEMM[i]
								if viaRows {
									tol = tolRows[i]
								}
								if viaBF16 {
									tol = bf16MatMulTol(x, tt, r, w)
								}
								if d := math.Abs(float64(g) - want[i]); !(d <= tol) {
									if bad++; bad < 4 {
										t.Errorf("%s %s %v [%dx%d] T=%d pool#%d: out[%d,%d]=%v want %v (tol %g)",
											k.name, path, dt, rows, cols, T, pi, tt, r, g, want[i], tol)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestQuantizeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, cols := range []int{1, 31, 32, 33, 100, 4096 + 5} {
		rows := 3
		src := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		src.F32[0] = 0 // a zero, and an all-zero block below
		if cols >= 64 {
			clear(src.F32[32:64])
		}
		bf, _ := Quantize(src, BF16)
		for _, from := range []*Matrix{src, bf} {
			ref := make([]float32, cols)
			for _, dt := range []DType{Q8_0, Q4_0} {
				q, err := Quantize(from, dt)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, cols)
				for r := range rows {
					from.Row(r, ref)
					q.Row(r, got)
					for c := range cols {
						b := c / qBlock
						d := math.Abs(float64(F16ToF32(q.Scales[r*q.BlocksPerRow()+b])))
						// Q8_0: half a step (plus f16 rounding of d);
						// Q4_0: one step on the side opposite the maximum.
						lim := 0.5*d + 1e-3*math.Abs(float64(ref[c]))
						if dt == Q4_0 {
							lim = d*1.004 + 1e-7
						}
						if e := math.Abs(float64(got[c] - ref[c])); e > lim {
							t.Fatalf("%v from %v cols=%d [%d,%d]: %v -> %v (err %g > %g)", dt, from.DType, cols, r, c, ref[c], got[c], e, lim)
						}
					}
				}
			}
		}
	}
}

func TestQuantizeWeightKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for _, nb := range []int{0, 1, 3, 9} {
		x := randF32(rng, nb*qBlock)
		if nb >= 2 {
			clear(x[qBlock : 2*qBlock]) // an all-zero block
		}
		if nb >= 3 {
			for i := 2 * qBlock; i < 3*qBlock; i++ {
				x[i] = -abs32(x[i]) * 1e-6 // all negative, tiny (f16 subnormal scale)
			}
		}
		q8, d8 := make([]byte, nb*qBlock), make([]uint16, nb)
		q4, d4 := make([]byte, nb*qBlock/2), make([]uint16, nb)
		genericKernels.quantW8(q8, d8, x)
		genericKernels.quantW4(q4, d4, x)
		for _, k := range kernelSets() {
			g8, e8 := make([]byte, nb*qBlock), make([]uint16, nb)
			g4, e4 := make([]byte, nb*qBlock/2), make([]uint16, nb)
			k.quantW8(g8, e8, x)
			k.quantW4(g4, e4, x)
			for i := range g8 {
				if g8[i] != q8[i] || e8[i/qBlock] != d8[i/qBlock] {
					t.Fatalf("%s quantW8 nb=%d [%d]: %d/%#x want %d/%#x", k.name, nb, i, int8(g8[i]), e8[i/qBlock], int8(q8[i]), d8[i/qBlock])
				}
			}
			for i := range g4 {
				if g4[i] != q4[i] || e4[i/(qBlock/2)] != d4[i/(qBlock/2)] {
					t.Fatalf("%s quantW4 nb=%d [%d]: %#x/%#x want %#x/%#x", k.name, nb, i, g4[i], e4[i/(qBlock/2)], q4[i], d4[i/(qBlock/2)])
				}
			}
		}
	}
}

func TestQuantizeActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range testSizes {
		x := randF32(rng, n)
		if n >= 64 {
			clear(x[32:64]) // an all-zero block
		}
		nb := (n + qBlock - 1) / qBlock
		rq, rd, rs := make([]int8, nb*qBlock), make([]float32, nb), make([]float32, nb)
		quantizeRowQ8(rq, rd, rs, x)
		for _, k := range kernelSets() {
			xq, xd, xs := make([]int8, nb*qBlock), make([]float32, nb), make([]float32, nb)
			for i := range xq {
				xq[i] = 99 // must be overwritten, padding included
			}
			k.quantQ8(xq, xd, xs, x)
			for b := range nb {
				if xd[b] != rd[b] {
					t.Fatalf("%s n=%d block %d: scale %v want %v", k.name, n, b, xd[b], rd[b])
				}
				var sum int
				for i := b * qBlock; i < (b+1)*qBlock; i++ {
					if d := int(xq[i]) - int(rq[i]); d < -1 || d > 1 {
						t.Fatalf("%s n=%d: xq[%d] = %d want %d", k.name, n, i, xq[i], rq[i])
					}
					sum += int(xq[i])
				}
				if xs[b] != float32(8*sum) {
					t.Fatalf("%s n=%d block %d: sum %v want %v", k.name, n, b, xs[b], 8*sum)
				}
			}
		}
	}
}

func TestQuantizedDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, nb := range []int{0, 1, 2, 3, 5, 8, 9, 15, 16, 128, 129, 135} {
		x := randF32(rng, nb*qBlock)
		if len(x) > 0 {
			x[0] = 0
		}
		xq, xd, xs := make([]int8, nb*qBlock), make([]float32, nb), make([]float32, nb)
		quantizeRowQ8(xq, xd, xs, x)
		for _, dt := range []DType{Q8_0, Q4_0} {
			w, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: nb * qBlock, F32: randF32(rng, nb*qBlock)}, dt)
			want := genericKernels.dotQ8
			if dt == Q4_0 {
				want = genericKernels.dotQ4
			}
			ref := want(xq, xd, xs, w.Q, w.Scales)
			wrow := make([]float32, nb*qBlock)
			w.Row(0, wrow)
			for _, k := range kernelSets() {
				deq := make([]float32, nb*qBlock)
				if dt == Q8_0 {
					k.dequantQ8(deq, w.Q, w.Scales)
				} else {
					k.dequantQ4(deq, w.Q, w.Scales)
				}
				for i := range deq {
					if deq[i] != wrow[i] {
						t.Fatalf("%s dequant %v nb=%d [%d]: %v want %v", k.name, dt, nb, i, deq[i], wrow[i])
					}
				}
			}
			for _, k := range kernelSets() {
				got, kq := k.dotQ8, xq
				if dt == Q4_0 {
					got = k.dotQ4
					if k.permQ4 != nil {
						kq = append([]int8(nil), xq...)
						k.permQ4(kq)
					}
				}
				g := got(kq, xd, xs, w.Q, w.Scales)
				if math.Abs(float64(g-ref)) > 1e-5*(1+math.Abs(float64(ref))) {
					t.Errorf("%s %v nb=%d: %v want %v", k.name, dt, nb, g, ref)
				}
			}
		}
	}
}

// refAttention is a direct float64 softmax attention.
func refAttention(q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) []float64 {
	D, group := s.HeadDim, s.Heads/s.KVHeads
	out := make([]float64, T*s.Heads*D)
	for t := range T {
		n := nKeys
		if causal {
			n = min(nKeys, past+t+1)
		}
		for h := range s.Heads {
			kvh := h / group
			sc := make([]float64, n)
			mx := math.Inf(-1)
			for j := range n {
				var d float64
				for i := range D {
					d += float64(q[t*s.Heads*D+h*D+i]) * float64(k[j*s.KVHeads*D+kvh*D+i])
				}
				sc[j] = d * float64(s.Scale)
				mx = max(mx, sc[j])
			}
			var l float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				l += sc[j]
			}
			for j := range n {
				for i := range D {
					out[t*s.Heads*D+h*D+i] += sc[j] / l * float64(v[j*s.KVHeads*D+kvh*D+i])
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	shapes := []AttnShape{{6, 2, 8, 0.3}, {4, 4, 5, 0.4}, {12, 3, 16, 0.25}, {3, 1, 72, 0.1}, {2, 1, 128, 0.09}, {32, 2, 32, 0.2}}
	// The transposed decode form with its Go kernels, on every machine.
	gt := *availableKernels()[0]
	gt.name, gt.attnT = "generic+attnT", &attnTGeneric
	sets := append(kernelSets(), &gt)
	for _, s := range shapes {
		for _, c := range []struct {
			T, nKeys, past int
			causal         bool
		}{{1, 1, 0, true}, {1, 70, 69, true}, {3, 3, 0, true}, {17, 150, 133, true}, {17, 17, 0, false}, {5, 130, 0, false}, {20, 20, 0, true}, {70, 200, 130, true}, {3, 0, 0, false}, {1, 300, 299, true}, {4, 260, 256, true}} {
			q := randF32(rng, c.T*s.Heads*s.HeadDim)
			k := randF32(rng, c.nKeys*s.KVHeads*s.HeadDim)
			v := randF32(rng, c.nKeys*s.KVHeads*s.HeadDim)
			for i := range q {
				q[i] *= 4 // sharper softmax
			}
			// Each KV format is checked against the reference computed
			// from the values it stores (rounded to f16 or q8_0).
			for _, dt := range []DType{F32, F16, Q8_0} {
				kvW := s.KVHeads * s.HeadDim
				km, err := NewKVMatrix(dt, c.nKeys, kvW)
				if err != nil {
					t.Fatal(err)
				}
				vm, _ := NewKVMatrix(dt, c.nKeys, kvW)
				km.SetRows(0, k)
				vm.SetRows(0, v)
				kr, vr := make([]float32, len(k)), make([]float32, len(v))
				for j := range c.nKeys {
					km.Row(j, kr[j*kvW:])
					vm.Row(j, vr[j*kvW:])
				}
				want := refAttention(q, kr, vr, c.T, c.nKeys, s, c.causal, c.past)
				for _, kn := range sets {
					for pi, p := range testPools(t) {
						out := make([]float32, len(q))
						p.attention(kn, out, q, km, vm, c.T, c.nKeys, s, c.causal, c.past)
						for i, g := range out {
							if d := math.Abs(float64(g) - want[i]); !(d <= 2e-6) {
								t.Fatalf("%s %v %+v %+v pool#%d: out[%d]=%v want %v", kn.name, dt, s, c, pi, i, g, want[i])
							}
						}
					}
				}
			}
		}
	}
}

func TestSmallOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, k := range kernelSets() {
		for _, n := range testSizes {
			name := fmt.Sprintf("%s/n=%d", k.name, n)
			x, w := randF32(rng, 3*n), randF32(rng, n)
			for i := range x {
				x[i] *= 3
			}
			out := make([]float32, 3*n)
			rmsNorm(k, out, x, 3, w, 1e-5)
			for r := range 3 {
				var ss float64
				for _, v := range x[r*n : (r+1)*n] {
					ss += float64(v) * float64(v)
				}
				inv := 1 / math.Sqrt(ss/float64(n)+1e-5)
				for i := range n {
					want := float64(w[i]) * float64(x[r*n+i]) * inv
					if math.Abs(float64(out[r*n+i])-want) > 2e-6*(1+math.Abs(want)) {
						t.Fatalf("%s rmsnorm[%d,%d] = %v want %v", name, r, i, out[r*n+i], want)
					}
				}
			}
			g, u := randF32(rng, n), randF32(rng, n)
			for i := range g {
				g[i] *= 30 // reach the clamps of the exponential
			}
			got := make([]float32, n)
			k.siluMul(got, g, u)
			for i := range n {
				gv := float64(g[i])
				want := gv / (1 + math.Exp(-gv)) * float64(u[i])
				if math.Abs(float64(got[i])-want) > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("%s silu(%v)*%v = %v want %v", name, g[i], u[i], got[i], want)
				}
			}
			d := append([]float32(nil), g...)
			k.add(d, u)
			for i := range n {
				if d[i] != g[i]+u[i] {
					t.Fatalf("%s add", name)
				}
			}
			s := randF32(rng, n)
			for i := range s {
				s[i] *= 50
			}
			e := append([]float32(nil), s...)
			sum := k.expSum(e, 20)
			var wantSum float64
			for i := range n {
				want := math.Exp(float64(s[i]) - 20)
				wantSum += want
				if math.Abs(float64(e[i])-want) > (3e-7+math.Abs(float64(s[i])-20)*1.2e-7)*want+1e-37 {
					t.Fatalf("%s exp(%v) = %v want %v", name, s[i]-20, e[i], want)
				}
			}
			if math.Abs(float64(sum)-wantSum) > 1e-6*wantSum+1e-30 {
				t.Fatalf("%s expSum = %v want %v", name, sum, wantSum)
			}
		}
	}
}

func TestGEMMKernelTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, kc := range []int{0, 1, 3, 4, 5, 256} {
		a, b := randF32(rng, kc*mr), randF32(rng, kc*nr)
		c0 := randF32(rng, (mr-1)*20+nr)
		for _, k := range kernelSets() {
			c := append([]float32(nil), c0...)
			if kc == 0 {
				a, b = make([]float32, 1), make([]float32, 1)
				if k != genericKernels {
					continue // the wrapper needs a non-empty panel
				}
			}
			k.gemm6x16(kc, a, b, c, 20)
			for i := range mr {
				for j := range nr {
					want := float64(c0[i*20+j])
					for kk := range kc {
						want += float64(a[kk*mr+i]) * float64(b[kk*nr+j])
					}
					if math.Abs(float64(c[i*20+j])-want) > 1e-5 {
						t.Fatalf("%s kc=%d c[%d,%d]=%v want %v", k.name, kc, i, j, c[i*20+j], want)
					}
				}
			}
		}
	}
}

func TestReadBandwidth(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	if bw := p.ReadBandwidth(1<<20, 2); !(bw > 0) {
		t.Fatalf("ReadBandwidth = %v", bw)
	}
	if bw := p.ReadBandwidth(0, 2); bw != 0 {
		t.Fatalf("ReadBandwidth(0) = %v", bw)
	}
}

// Concurrent For calls on one pool each cover their range exactly once.
func TestPoolConcurrentFor(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 50 {
				n := 100 + 37*g + it
				hits := make([]int32, n)
				p.For(n, 3, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i]++
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Errorf("caller %d: item %d of %d done %d times", g, i, n, h)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestQ8DotLanesExact holds every set's Q8_0 dot products (one row, rows,
// 4 tokens, 4 rows, 2 rows × 4 tokens) to 2e-6·Σ|w·x| of the exact sum on
// weights that are mostly 0 (1 in 8 is ±1): a kernel whose int32 lanes
// carried an offset (w+128 against x, removed only when the lanes are
// summed in f32) rounds at ~1000× the products' size there and fails.
func TestQ8DotLanesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, nb := range []int{4, 128, 132} {
		cols := nb * qBlock
		w := &Matrix{DType: Q8_0, Rows: 4, Cols: cols, Q: make([]byte, 4*cols), Scales: make([]uint16, 4*nb)}
		for i := range w.Q {
			if rng.IntN(8) == 0 {
				w.Q[i] = byte(int8(1 - 2*rng.IntN(2)))
			}
		}
		for i := range w.Scales {
			w.Scales[i] = half.F32ToF16(1 + rng.Float32())
		}
		xq, xd, xs := make([]int8, 4*cols), make([]float32, 4*nb), make([]float32, 4*nb)
		x := randF32(rng, 4*cols)
		for i := range x {
			x[i] *= 1000
		}
		for tk := range 4 {
			quantizeRowQ8(xq[tk*cols:(tk+1)*cols], xd[tk*nb:(tk+1)*nb], xs[tk*nb:(tk+1)*nb], x[tk*cols:(tk+1)*cols])
		}
		// exact[tk][r] and mag[tk][r]: token tk against weight row r.
		var exact, mag [4][4]float64
		for tk := range 4 {
			for r := range 4 {
				for c := range cols {
					v := float64(int8(w.Q[r*cols+c])) * float64(F16ToF32(w.Scales[r*nb+c/qBlock])) *
						float64(xq[tk*cols+c]) * float64(xd[tk*nb+c/qBlock])
					exact[tk][r] += v
					mag[tk][r] += math.Abs(v)
				}
			}
		}
		for _, k := range kernelSets() {
			check := func(what string, tk, r int, got float32) {
				t.Helper()
				if d := math.Abs(float64(got) - exact[tk][r]); d > 2e-6*mag[tk][r] {
					t.Errorf("%s %s nb=%d token %d row %d: %v, exact %v (diff %.3g·Σ|w·x|)", k.name, what, nb, tk, r, got, exact[tk][r], d/mag[tk][r])
				}
			}
			row := func(r int) ([]byte, []uint16) { return w.Q[r*cols : (r+1)*cols], w.Scales[r*nb : (r+1)*nb] }
			tok := func(tk int) ([]int8, []float32, []float32) {
				return xq[tk*cols : (tk+1)*cols], xd[tk*nb : (tk+1)*nb], xs[tk*nb : (tk+1)*nb]
			}
			for tk := range 4 {
				xqt, xdt, xst := tok(tk)
				for r := range 4 {
					wq, wd := row(r)
					check("dotQ8", tk, r, k.dotQ8(xqt, xdt, xst, wq, wd))
				}
				if k.rowsQ8 != nil {
					out := make([]float32, 4)
					k.rowsQ8(xqt, xdt, xst, nb, w.Q, w.Scales, out)
					for r := range 4 {
						check("rowsQ8", tk, r, out[r])
					}
				}
				var o4 [4]float32
				k.dotQ8r4(xqt, xdt, xst, nb, w.Q, w.Scales, &o4)
				for r := range 4 {
					check("dotQ8r4", tk, r, o4[r])
				}
			}
			for r := range 4 {
				var o4 [4]float32
				wq, wd := row(r)
				k.dotQ8x4(xq, xd, xs, nb, wq, wd, &o4)
				for tk := range 4 {
					check("dotQ8x4", tk, r, o4[tk])
				}
			}
			if k.dotQ8x4r2 != nil {
				for r := 0; r < 4; r += 2 {
					var o8 [8]float32
					k.dotQ8x4r2(xq, xd, xs, nb, w.Q[r*cols:(r+2)*cols], w.Scales[r*nb:(r+2)*nb], &o8)
					for i, v := range o8 {
						check("dotQ8x4r2", i%4, r+i/4, v)
					}
				}
			}
		}
	}
}
