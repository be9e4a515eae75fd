package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchPool is shared by the benchmarks: one worker per core.
func benchPool(b *testing.B) *Pool {
	p := NewPool(0)
	b.Cleanup(p.Close)
	return p
}

func randF32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// benchMatrix builds a random rows×cols weight in dt.
func benchMatrix(b *testing.B, dt DType, rows, cols int) *Matrix {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
	if dt == F32 {
		return m
	}
	q, err := convertTo(m, dt)
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// weightBytes is the size of m's stored data.
func weightBytes(m *Matrix) int64 {
	return int64(len(m.F32))*4 + int64(len(m.U16))*2 + int64(len(m.Q)) + int64(len(m.Scales))*2
}

func BenchmarkMatVec(b *testing.B) {
	for _, dt := range benchDTypes {
		for _, sh := range [][2]int{{4096, 4096}, {13696, 4096}, {27392, 4096}, {4096, 13696}} {
			b.Run(fmt.Sprintf("%v_%dx%d", dt, sh[0], sh[1]), func(b *testing.B) {
				w := benchMatrix(b, dt, sh[0], sh[1])
				p := benchPool(b)
				rng := rand.New(rand.NewPCG(3, 4))
				x := randF32(rng, sh[1])
				out := make([]float32, sh[0])
				b.SetBytes(weightBytes(w))
				for b.Loop() {
					p.MatMul(out, x, 1, w)
				}
			})
		}
	}
}

func BenchmarkGEMM(b *testing.B) {
	for _, dt := range benchDTypes {
		const T, rows, cols = 512, 4096, 4096
		b.Run(fmt.Sprintf("%v_%dx%dx%d", dt, T, rows, cols), func(b *testing.B) {
			w := benchMatrix(b, dt, rows, cols)
			p := benchPool(b)
			rng := rand.New(rand.NewPCG(3, 4))
			x := randF32(rng, T*cols)
			out := make([]float32, T*rows)
			for b.Loop() {
				p.MatMul(out, x, T, w)
			}
			b.ReportMetric(2*T*rows*cols*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkAttentionDecode(b *testing.B) {
	for _, sh := range []AttnShape{{Heads: 96, KVHeads: 8, HeadDim: 128}, {Heads: 32, KVHeads: 2, HeadDim: 128}} {
		for _, dt := range []DType{F32, F16, Q8_0} {
			for _, nKeys := range []int{512, 2048, 8192} {
				benchAttention(b, fmt.Sprintf("h%d_kv%d_keys%d_%v", sh.Heads, sh.KVHeads, nKeys, dt), sh, dt, 1, nKeys)
			}
		}
	}
}

// BenchmarkAttentionFewTokens is decode attention for a few new tokens at
// once (a short prompt turn, speculative drafts), on the default cache.
func BenchmarkAttentionFewTokens(b *testing.B) {
	sh := AttnShape{Heads: 32, KVHeads: 2, HeadDim: 128}
	for _, T := range []int{2, 4} {
		const nKeys = 2048
		benchAttention(b, fmt.Sprintf("h%d_kv%d_keys%d_T%d_F16", sh.Heads, sh.KVHeads, nKeys, T), sh, F16, T, nKeys)
	}
}

// benchAttention times T causal query tokens, the last ones of nKeys keys
// in a cache of type dt.
func benchAttention(b *testing.B, name string, sh AttnShape, dt DType, T, nKeys int) {
	b.Run(name, func(b *testing.B) {
		sh.Scale = 0.088
		rng := rand.New(rand.NewPCG(5, 6))
		kv := sh.KVHeads * sh.HeadDim
		q := randF32(rng, T*sh.Heads*sh.HeadDim)
		km, _ := NewKVMatrix(dt, nKeys, kv)
		vm, _ := NewKVMatrix(dt, nKeys, kv)
		km.SetRows(0, randF32(rng, nKeys*kv))
		vm.SetRows(0, randF32(rng, nKeys*kv))
		out := make([]float32, len(q))
		p := benchPool(b)
		// Bytes of cache read per call, in its stored format.
		b.SetBytes(2 * int64(nKeys) * RowBytes(dt, kv))
		for b.Loop() {
			p.AttentionKV(out, q, km, vm, T, nKeys, sh, true, nKeys-T)
		}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	const T, n = 16, 4096
	rng := rand.New(rand.NewPCG(7, 8))
	x := randF32(rng, T*n)
	w := randF32(rng, n)
	out := make([]float32, T*n)
	b.SetBytes(T * n * 8)
	for b.Loop() {
		RMSNorm(out, x, T, w, 1e-5)
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	const n = 13696 * 4
	rng := rand.New(rand.NewPCG(7, 8))
	g, u := randF32(rng, n), randF32(rng, n)
	out := make([]float32, n)
	b.SetBytes(n * 12)
	for b.Loop() {
		SiLUMul(out, g, u)
	}
}

func BenchmarkAdd(b *testing.B) {
	const n = 4096 * 16
	rng := rand.New(rand.NewPCG(7, 8))
	d, s := randF32(rng, n), randF32(rng, n)
	b.SetBytes(n * 12)
	for b.Loop() {
		Add(d, s)
	}
}

// BenchmarkReadBandwidth reports (*Pool).ReadBandwidth over 512 MiB.
func BenchmarkReadBandwidth(b *testing.B) {
	p := benchPool(b)
	var bw float64
	for b.Loop() {
		bw = p.ReadBandwidth(512<<20, 3)
	}
	b.ReportMetric(bw/1e9, "GB/s")
}

// BenchmarkStreamRead measures the machine's read bandwidth with the dot
// kernel over two 128 MiB arrays, on 1 and on all workers: the ceiling for
// the matvec benchmarks.
func BenchmarkStreamRead(b *testing.B) {
	const n = 32 << 20
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 2
	}
	for _, w := range []int{1, 0} {
		p := NewPool(w)
		b.Run(fmt.Sprintf("workers=%d", p.Workers()), func(b *testing.B) {
			b.SetBytes(2 * n * 4)
			for b.Loop() {
				p.For(n, 1<<16, func(lo, hi int) { Dot(x[lo:hi], y[lo:hi]) })
			}
		})
		p.Close()
	}
}

// BenchmarkMatVecCached runs the matvec kernels on one core over a weight
// that fits in L2: their compute ceiling, apart from memory.
func BenchmarkMatVecCached(b *testing.B) {
	for _, dt := range benchDTypes {
		const rows, cols = 64, 4096
		b.Run(fmt.Sprintf("%v_%dx%d", dt, rows, cols), func(b *testing.B) {
			w := benchMatrix(b, dt, rows, cols)
			rng := rand.New(rand.NewPCG(3, 4))
			x := randF32(rng, cols)
			out := make([]float32, rows)
			var p *Pool
			b.SetBytes(w.Bytes())
			for b.Loop() {
				p.MatMul(out, x, 1, w)
			}
		})
	}
}

func BenchmarkAttentionPrefill(b *testing.B) {
	for _, c := range []struct {
		name   string
		sh     AttnShape
		T      int
		causal bool
	}{
		{"text_h32_kv2_T512", AttnShape{Heads: 32, KVHeads: 2, HeadDim: 128}, 512, true},
		{"vision_h12_T1024", AttnShape{Heads: 12, KVHeads: 12, HeadDim: 128}, 1024, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			sh := c.sh
			sh.Scale = 0.088
			rng := rand.New(rand.NewPCG(5, 6))
			kv := sh.KVHeads * sh.HeadDim
			q := randF32(rng, c.T*sh.Heads*sh.HeadDim)
			k := randF32(rng, c.T*kv)
			v := randF32(rng, c.T*kv)
			out := make([]float32, len(q))
			p := benchPool(b)
			for b.Loop() {
				p.Attention(out, q, k, v, c.T, c.T, sh, c.causal, 0)
			}
			flop := 4 * float64(c.T) * float64(c.T) * float64(sh.Heads*sh.HeadDim)
			if c.causal {
				flop /= 2
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	const rows, cols = 1024, 4096
	src := benchMatrix(b, BF16, rows, cols)
	p := benchPool(b)
	for _, dt := range []DType{Q8_0, Q4_0} {
		b.Run(fmt.Sprintf("BF16_to_%v_%dx%d", dt, rows, cols), func(b *testing.B) {
			b.SetBytes(src.Bytes())
			for b.Loop() {
				if _, err := p.Quantize(src, dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatMulPaths times the matvec and GEMM paths on the same small-T
// products, to place gemmMinT per weight format.
func BenchmarkMatMulPaths(b *testing.B) {
	const rows, cols = 4096, 4096
	for _, dt := range benchDTypes {
		w := benchMatrix(b, dt, rows, cols)
		for _, T := range []int{4, 16, 64, 128, 512} {
			rng := rand.New(rand.NewPCG(3, 4))
			x := randF32(rng, T*cols)
			out := make([]float32, T*rows)
			for _, path := range []string{"matvec", "gemm"} {
				b.Run(fmt.Sprintf("%v_T%d_%s", dt, T, path), func(b *testing.B) {
					p := benchPool(b)
					for b.Loop() {
						if path == "gemm" {
							p.gemm(kern, out, x, T, w)
						} else {
							p.matVec(kern, out, x, T, w)
						}
					}
					b.ReportMetric(2*float64(T*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkGEMMMicroKernel runs the 6×16 micro-kernel on one core over
// packed panels that stay in L1/L2: the compute ceiling of the GEMM.
func BenchmarkGEMMMicroKernel(b *testing.B) {
	const kc, panels = kcBlock, 16
	rng := rand.New(rand.NewPCG(9, 9))
	a := randF32(rng, kc*mr)
	bp := randF32(rng, panels*kc*nr)
	c := make([]float32, mr*nr)
	for b.Loop() {
		for i := range panels {
			kern.gemm6x16(kc, a, bp[i*kc*nr:(i+1)*kc*nr], c, nr)
		}
	}
	b.ReportMetric(2*mr*nr*kc*panels*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
