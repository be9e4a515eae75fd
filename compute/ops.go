package compute

import "math"

// RMSNorm writes w ⊙ x/sqrt(mean(x²)+eps) for each row of x ([T, len(w)])
// into out, which may alias x.
func RMSNorm(out, x []float32, T int, w []float32, eps float32) {
	rmsNorm(kern, out, x, T, w, eps)
}

func rmsNorm(k *kernels, out, x []float32, T int, w []float32, eps float32) {
	n := len(w)
	for t := 0; t < T; t++ {
		xr := x[t*n : (t+1)*n]
		ss := k.dot(xr, xr)
		inv := float32(1 / math.Sqrt(float64(ss/float32(n)+eps)))
		k.scaleMul(out[t*n:(t+1)*n], xr, w, inv)
	}
}

// LayerNorm writes (x-μ)/sqrt(σ²+eps)·w + b for each row of x ([T, len(w)])
// into out, which may alias x. σ² is the biased variance.
func LayerNorm(out, x []float32, T int, w, b []float32, eps float32) {
	n := len(w)
	for t := 0; t < T; t++ {
		xr := x[t*n : (t+1)*n]
		or := out[t*n : (t+1)*n]
		var mean float64
		for _, v := range xr {
			mean += float64(v)
		}
		mean /= float64(n)
		var vs float64
		for _, v := range xr {
			d := float64(v) - mean
			vs += d * d
		}
		inv := 1 / math.Sqrt(vs/float64(n)+float64(eps))
		for i, v := range xr {
			or[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
		}
	}
}

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// SiLUMul sets out[i] = silu(gate[i]) · up[i]; out may alias gate or up.
func SiLUMul(out, gate, up []float32) {
	kern.siluMul(out, gate, up)
}

// GELU applies the exact (erf) GELU in place.
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// Add sets dst[i] += src[i].
func Add(dst, src []float32) {
	kern.add(dst, src)
}

// Scale sets x[i] *= s.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
