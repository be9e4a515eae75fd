package sample

import (
	"math"
	"testing"
)

func TestGreedy(t *testing.T) {
	s, _ := New(Options{})
	if got := s.Next([]float32{0.1, 3, -1, 2.9}, nil); got != 1 {
		t.Errorf("greedy chose %d, want 1", got)
	}
}

func TestRepetitionPenalty(t *testing.T) {
	s, _ := New(Options{RepetitionPenalty: 2})
	logits := []float32{4, 3, -1}
	// Token 0 was seen: 4/2 = 2 < 3, so token 1 wins; seen negatives grow.
	if got := s.Next(logits, []int{0, 2, 0}); got != 1 {
		t.Errorf("chose %d, want 1", got)
	}
	if logits[0] != 2 || logits[2] != -2 {
		t.Errorf("penalised logits %v, want [2 3 -2]", logits)
	}
}

func TestTopKOneIsGreedy(t *testing.T) {
	s, _ := New(Options{Temperature: 1, TopK: 1, Seed: 3})
	for i := 0; i < 50; i++ {
		if got := s.Next([]float32{1, 2, 1.9, 0}, nil); got != 1 {
			t.Fatalf("top-k 1 chose %d", got)
		}
	}
}

// With top-p the tail outside the nucleus is never drawn, and the draw
// frequencies follow the renormalised probabilities.
func TestTopPAndFrequencies(t *testing.T) {
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.15)), float32(math.Log(0.05))}
	s, _ := New(Options{Temperature: 1, TopP: 0.8, Seed: 1})
	counts := make([]int, 4)
	const n = 20000
	for i := 0; i < n; i++ {
		l := append([]float32(nil), logits...)
		counts[s.Next(l, nil)]++
	}
	if counts[2] != 0 || counts[3] != 0 {
		t.Errorf("tokens outside top-p were drawn: %v", counts)
	}
	if f := float64(counts[0]) / n; math.Abs(f-0.625) > 0.02 {
		t.Errorf("token 0 frequency %.3f, want 0.625", f)
	}
}

func TestMinP(t *testing.T) {
	logits := []float32{0, float32(math.Log(0.5)), float32(math.Log(0.05))}
	s, _ := New(Options{Temperature: 1, MinP: 0.1, Seed: 9})
	for i := 0; i < 2000; i++ {
		l := append([]float32(nil), logits...)
		if s.Next(l, nil) == 2 {
			t.Fatal("token below min-p was drawn")
		}
	}
}

func TestSeedRepeatable(t *testing.T) {
	draw := func() []int {
		s, _ := New(Options{Temperature: 1.5, Seed: 42})
		var out []int
		for i := 0; i < 30; i++ {
			out = append(out, s.Next([]float32{1, 1, 1, 1, 1, 1}, nil))
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave different draws: %v vs %v", a, b)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{Temperature: -1}, {TopP: 1.5}, {TopK: -2}, {MinP: 2}, {RepetitionPenalty: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted invalid options", o)
		}
	}
}

// The presence penalty is subtracted once per chosen token, the frequency
// penalty once per time it was chosen; neither touches the prompt.
func TestPresenceAndFrequencyPenalties(t *testing.T) {
	base := []float32{3, 2.5, 0}
	s, _ := New(Options{PresencePenalty: 1})
	if got := s.Next(append([]float32(nil), base...), []int{1, 1, 1}); got != 0 {
		t.Fatalf("first pick %d, want 0 (prompt tokens are not penalised)", got)
	}
	// Token 0 is now 3-1 = 2 < 2.5.
	if got := s.Next(append([]float32(nil), base...), nil); got != 1 {
		t.Errorf("presence penalty: chose %d, want 1", got)
	}
	f, _ := New(Options{FrequencyPenalty: 0.4})
	var picks []int
	for range 3 {
		picks = append(picks, f.Next(append([]float32(nil), base...), nil))
	}
	// 3, then 2.6 > 2.5, then 2.2 < 2.5.
	if picks[0] != 0 || picks[1] != 0 || picks[2] != 1 {
		t.Errorf("frequency penalty picks %v, want [0 0 1]", picks)
	}
	if _, err := New(Options{PresencePenalty: 2.5}); err == nil {
		t.Error("presence penalty 2.5 accepted")
	}
	if _, err := New(Options{FrequencyPenalty: math.NaN()}); err == nil {
		t.Error("frequency penalty NaN accepted")
	}
}

func TestLogitBias(t *testing.T) {
	s, _ := New(Options{LogitBias: map[int]float64{2: 5, 7: 100}})
	if got := s.Next([]float32{3, 2, 0}, nil); got != 2 {
		t.Errorf("chose %d, want 2 (biased by +5; out-of-range id ignored)", got)
	}
	s, _ = New(Options{LogitBias: map[int]float64{0: -100}})
	if got := s.Next([]float32{3, 2, 0}, nil); got != 1 {
		t.Errorf("chose %d, want 1 (token 0 banned)", got)
	}
	for _, bad := range []map[int]float64{{-1: 1}, {0: 101}, {0: math.Inf(1)}} {
		if _, err := New(Options{LogitBias: bad}); err == nil {
			t.Errorf("logit bias %v accepted", bad)
		}
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.2)), float32(math.Log(0.3))}
	l := NewLogprobs(logits, 2)
	logits[0] = -100 // the copy is unaffected
	if got := l.Of(0); math.Abs(got-math.Log(0.5)) > 1e-6 {
		t.Errorf("logprob of 0 = %g, want %g", got, math.Log(0.5))
	}
	top := l.Top()
	if len(top) != 2 || top[0].ID != 0 || top[1].ID != 2 || math.Abs(top[1].Logprob-math.Log(0.3)) > 1e-6 {
		t.Errorf("top %+v", top)
	}
	if !math.IsInf(l.Of(3), -1) || len(NewLogprobs(logits, 0).Top()) != 0 || len(NewLogprobs(logits, 9).Top()) != 3 {
		t.Error("edge cases")
	}
}
