package compute

// rowBlock is how many weight rows one task converts and multiplies at a
// time; small enough that the converted rows stay in L1/L2.
const rowBlock = 16

// MatMul computes out[t, r] = Σ_c x[t, c] · W[r, c] for t < T, i.e. the
// PyTorch Linear product x·Wᵀ without bias. x is [T, W.Cols] and out is
// [T, W.Rows], both row-major.
func (p *Pool) MatMul(out, x []float32, T int, w *Matrix) {
	rows, cols := w.Rows, w.Cols
	if len(x) < T*cols || len(out) < T*rows {
		panic("compute: MatMul buffer too small")
	}
	nb := (rows + rowBlock - 1) / rowBlock
	p.For(nb, 1, func(lo, hi int) {
		var buf []float32
		if w.DType != F32 {
			buf = make([]float32, rowBlock*cols)
		}
		for b := lo; b < hi; b++ {
			r0 := b * rowBlock
			r1 := min(r0+rowBlock, rows)
			var wb []float32
			if w.DType == F32 {
				wb = w.F32[r0*cols : r1*cols]
			} else {
				wb = buf[:(r1-r0)*cols]
				for r := r0; r < r1; r++ {
					w.Row(r, wb[(r-r0)*cols:(r-r0+1)*cols])
				}
			}
			for t := 0; t < T; t++ {
				xt := x[t*cols : (t+1)*cols]
				ot := out[t*rows : (t+1)*rows]
				for r := r0; r < r1; r++ {
					ot[r] = Dot(xt, wb[(r-r0)*cols:(r-r0+1)*cols])
				}
			}
		}
	})
}

// Dot returns Σ a[i]·b[i] over len(a) elements; b must be at least as long.
func Dot(a, b []float32) float32 {
	return dotGeneric(a, b)
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// AddBias adds bias (len n) to each of the T rows of x ([T, n]).
func AddBias(x []float32, T int, bias []float32) {
	n := len(bias)
	for t := 0; t < T; t++ {
		row := x[t*n : (t+1)*n]
		for i, b := range bias {
			row[i] += b
		}
	}
}
