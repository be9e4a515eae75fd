package model

import "math"

// textRope holds the inverse frequencies of the text M-RoPE and the axis
// (0 temporal, 1 height, 2 width) each frequency reads its position from.
type textRope struct {
	invFreq []float32
	axis    []int
	style   RopeStyle
	rot     int // rotating dims per head
}

func newTextRope(t *TextConfig) *textRope {
	rot := t.RotaryDims()
	half := rot / 2
	r := &textRope{invFreq: make([]float32, half), axis: make([]int, half), style: t.RopeStyle, rot: rot}
	for j := 0; j < half; j++ {
		// PyTorch computes base ** (2j/rot) in float32 and takes 1/x.
		e := float32(2*j) / float32(rot)
		r.invFreq[j] = float32(1 / math.Pow(t.RopeTheta, float64(e)))
	}
	j := 0
	for a, n := range t.MRopeSection {
		for k := 0; k < n && j < half; k++ {
			r.axis[j] = a
			j++
		}
	}
	return r
}

// tables fills cos and sin ([T, rot/2]) for T tokens whose 3-D positions
// are pos[axis][t].
func (r *textRope) tables(cos, sin []float32, pos *[3][]int, T int) {
	half := len(r.invFreq)
	for t := 0; t < T; t++ {
		for j := 0; j < half; j++ {
			a := float32(pos[r.axis[j]][t]) * r.invFreq[j]
			cos[t*half+j] = float32(math.Cos(float64(a)))
			sin[t*half+j] = float32(math.Sin(float64(a)))
		}
	}
}

// apply rotates the first rot dims of each of the heads in x ([T, heads·D]).
func (r *textRope) apply(x []float32, T, heads, D int, cos, sin []float32) {
	half := len(r.invFreq)
	for t := 0; t < T; t++ {
		c := cos[t*half : (t+1)*half]
		s := sin[t*half : (t+1)*half]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*D : (t*heads+h)*D+r.rot]
			if r.style == RopeHalf {
				for j := 0; j < half; j++ {
					a, b := v[j], v[j+half]
					v[j] = a*c[j] - b*s[j]
					v[j+half] = b*c[j] + a*s[j]
				}
			} else {
				for j := 0; j < half; j++ {
					a, b := v[2*j], v[2*j+1]
					v[2*j] = a*c[j] - b*s[j]
					v[2*j+1] = b*c[j] + a*s[j]
				}
			}
		}
	}
}
