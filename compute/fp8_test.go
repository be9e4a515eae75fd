package compute

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/internal/half"
)

// e4m3Ref decodes e4m3 from the OCP FP8 definition in float64.
func e4m3Ref(b byte) float64 {
	s, e, m := float64(1), int(b>>3&15), float64(b&7)
	if b&0x80 != 0 {
		s = -1
	}
	switch {
	case e == 15 && b&7 == 7:
		return math.NaN()
	case e == 0:
		return s * m / 8 * math.Ldexp(1, -6)
	}
	return s * (1 + m/8) * math.Ldexp(1, e-7)
}

func TestFP8E4M3AllValues(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		got, want := FP8E4M3ToF32(b), e4m3Ref(b)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Errorf("%#02x: got %v, want NaN", b, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (b&0x80 != 0) {
			t.Errorf("%#02x: got %v, want %v", b, got, want)
		}
	}
	// Spot values from the OCP spec: max normal, min normal, min
	// subnormal, one, negative zero; 0x7f and 0xff are the only NaNs.
	for b, want := range map[byte]float64{0x7e: 448, 0xfe: -448, 0x08: 1.0 / 64, 0x01: 1.0 / 512, 0x38: 1, 0x77: 240, 0x07: 7.0 / 512} {
		if got := FP8E4M3ToF32(b); float64(got) != want {
			t.Errorf("%#02x: got %v, want %v", b, got, want)
		}
	}
	if v := FP8E4M3ToF32(0x80); v != 0 || !math.Signbit(float64(v)) {
		t.Errorf("0x80 = %v, want -0", v)
	}
	nans := 0
	prev := float32(-1)
	for i := range 128 {
		v := FP8E4M3ToF32(byte(i))
		if math.IsNaN(float64(v)) {
			nans++
			continue
		}
		if v <= prev && i > 0 {
			t.Errorf("%#02x = %v not above %v", i, v, prev)
		}
		prev = v
		if m := FP8E4M3ToF32(byte(i) | 0x80); m != -v {
			t.Errorf("%#02x = %v, want %v", i|0x80, m, -v)
		}
	}
	if nans != 1 {
		t.Errorf("%d NaNs among the positive codes, want 1", nans)
	}
}

// TestFP8Weight converts random FP8 weights with block, per-channel and
// per-tensor scales and checks every element against e4m3Ref·scale.
func TestFP8Weight(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, cols = 300, 260
	data := make([]byte, rows*cols)
	for i := range data {
		data[i] = byte(rng.Uint32())
		if data[i]&0x7f == 0x7f {
			data[i] = 0x42
		}
	}
	scales := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*1e-3 + 1e-4
		}
		return s
	}
	cases := map[string]*FP8Weight{
		"block128":   {Rows: rows, Cols: cols, Data: data, Scales: scales(3 * 3), BlockRows: 128, BlockCols: 128},
		"channel":    {Rows: rows, Cols: cols, Data: data, Scales: scales(rows)},
		"tensor":     {Rows: rows, Cols: cols, Data: data, Scales: scales(1)},
		"block64x32": {Rows: rows, Cols: cols, Data: data, Scales: scales(5 * 9), BlockRows: 64, BlockCols: 32},
	}
	scaleOf := func(w *FP8Weight, r, c int) float32 {
		switch {
		case w.BlockRows > 0:
			return w.Scales[r/w.BlockRows*ceilDiv(w.Cols, w.BlockCols)+c/w.BlockCols]
		case len(w.Scales) == 1:
			return w.Scales[0]
		}
		return w.Scales[r]
	}
	p := NewPool(2)
	defer p.Close()
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			if err := w.Validate(); err != nil {
				t.Fatal(err)
			}
			m, err := p.ConvertFP8(w, F32)
			if err != nil {
				t.Fatal(err)
			}
			bf, err := p.ConvertFP8(w, BF16)
			if err != nil {
				t.Fatal(err)
			}
			for r := range rows {
				for c := range cols {
					want := float32(e4m3Ref(data[r*cols+c])) * scaleOf(w, r, c)
					if got := m.F32[r*cols+c]; got != want {
						t.Fatalf("[%d,%d]: got %v want %v", r, c, got, want)
					}
					if got := bf.U16[r*cols+c]; got != half.F32ToBF16(want) {
						t.Fatalf("bf16 [%d,%d]: got %#x want %#x", r, c, got, half.F32ToBF16(want))
					}
				}
			}
			q, err := p.ConvertFP8(w, Q8_0)
			if err != nil {
				t.Fatal(err)
			}
			row := make([]float32, cols)
			for r := range rows {
				q.Row(r, row)
				// Q8_0 rounds each weight within d/2 = max|w_block|/254
				// (plus the f16 rounding of d).
				ref := m.F32[r*cols : (r+1)*cols]
				var amax, worst float32
				for c, v := range ref {
					amax = max(amax, abs32(v))
					worst = max(worst, abs32(row[c]-v))
				}
				if worst > amax/250 {
					t.Fatalf("q8_0 row %d: error %v > max|w|/250 = %v", r, worst, amax/250)
				}
			}
		})
	}
	bad := []*FP8Weight{
		{Rows: 2, Cols: 2, Data: make([]byte, 3), Scales: []float32{1}},
		{Rows: 2, Cols: 2, Data: make([]byte, 4), Scales: []float32{1, 2, 3}},
		{Rows: 200, Cols: 2, Data: make([]byte, 400), Scales: []float32{1}, BlockRows: 128, BlockCols: 128},
		{Rows: 2, Cols: 2, Data: make([]byte, 4), Scales: []float32{1}, BlockRows: 128},
	}
	for i, w := range bad {
		if err := w.Validate(); err == nil {
			t.Errorf("bad weight %d accepted", i)
		}
		if _, err := p.ConvertFP8(w, F32); err == nil {
			t.Errorf("bad weight %d converted", i)
		}
	}
}
