// Package sample chooses the next token from logits: logit bias,
// repetition penalty, presence and frequency penalties, then temperature,
// top-k, top-p and min-p filtering and a seeded draw (or the arg-max when
// sampling is off), in the order Hugging Face applies them.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Options configure a Sampler. The zero value is greedy decoding.
type Options struct {
	// Temperature divides the logits; 0 means greedy (arg-max).
	Temperature float64
	// TopK keeps the k most likely tokens; 0 disables it.
	TopK int
	// TopP keeps the smallest set of tokens whose probability mass reaches
	// p; 0 or 1 disables it.
	TopP float64
	// MinP drops tokens whose probability is below min_p times the top
	// probability; 0 disables it.
	MinP float64
	// RepetitionPenalty divides positive (multiplies negative) logits of
	// tokens already in the sequence; 0 or 1 disables it.
	RepetitionPenalty float64
	// PresencePenalty is subtracted once from the logit of every token
	// the sampler has already chosen (OpenAI's presence_penalty, in
	// [-2, 2]); 0 disables it.
	PresencePenalty float64
	// FrequencyPenalty is subtracted from the logit of every token the
	// sampler has already chosen, times the number of times it was chosen
	// (OpenAI's frequency_penalty, in [-2, 2]); 0 disables it.
	FrequencyPenalty float64
	// LogitBias is added to the logits of the given token ids before
	// anything else (OpenAI's logit_bias, values in [-100, 100]); ids
	// outside the vocabulary are ignored here and should be refused by the
	// caller.
	LogitBias map[int]float64
	// Seed makes the draws repeatable.
	Seed uint64
}

// Validate reports options outside their domains.
func (o Options) Validate() error {
	switch {
	case o.Temperature < 0 || math.IsNaN(o.Temperature):
		return fmt.Errorf("temperature must be ≥ 0, is %g", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("top-k must be ≥ 0, is %d", o.TopK)
	case o.TopP < 0 || o.TopP > 1 || math.IsNaN(o.TopP):
		return fmt.Errorf("top-p must be in [0, 1], is %g", o.TopP)
	case o.MinP < 0 || o.MinP > 1 || math.IsNaN(o.MinP):
		return fmt.Errorf("min-p must be in [0, 1], is %g", o.MinP)
	case o.RepetitionPenalty < 0 || math.IsNaN(o.RepetitionPenalty):
		return fmt.Errorf("repetition penalty must be > 0, is %g", o.RepetitionPenalty)
	case !(o.PresencePenalty >= -2 && o.PresencePenalty <= 2):
		return fmt.Errorf("presence penalty must be in [-2, 2], is %g", o.PresencePenalty)
	case !(o.FrequencyPenalty >= -2 && o.FrequencyPenalty <= 2):
		return fmt.Errorf("frequency penalty must be in [-2, 2], is %g", o.FrequencyPenalty)
	}
	for id, b := range o.LogitBias {
		if id < 0 {
			return fmt.Errorf("logit bias: token id %d is negative", id)
		}
		if !(b >= -100 && b <= 100) {
			return fmt.Errorf("logit bias of token %d must be in [-100, 100], is %g", id, b)
		}
	}
	return nil
}

// Sampler picks tokens. It is not safe for concurrent use.
type Sampler struct {
	opt  Options
	rng  *rand.Rand
	idx  []int
	prob []float64
	done []bool // ids already penalised this step, reused across steps
	// chosen counts the tokens this sampler has returned, for the presence
	// and frequency penalties.
	chosen map[int]int
}

// New makes a sampler; it returns an error for invalid options.
func New(o Options) (*Sampler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{opt: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5eed))}, nil
}

// Next chooses a token from logits (modified in place) given the ids of
// the sequence so far (prompt and generated), which the repetition penalty
// reads. The presence and frequency penalties count the tokens earlier
// calls of Next returned (the generated text, not the prompt, as OpenAI
// and vLLM define them).
func (s *Sampler) Next(logits []float32, seen []int) int {
	id := s.next(logits, seen)
	if s.opt.PresencePenalty != 0 || s.opt.FrequencyPenalty != 0 {
		if s.chosen == nil {
			s.chosen = map[int]int{}
		}
		s.chosen[id]++
	}
	return id
}

func (s *Sampler) next(logits []float32, seen []int) int {
	o := s.opt
	for id, b := range o.LogitBias {
		if id < len(logits) {
			logits[id] += float32(b)
		}
	}
	if o.RepetitionPenalty > 0 && o.RepetitionPenalty != 1 {
		p := float32(o.RepetitionPenalty)
		if len(s.done) < len(logits) {
			s.done = make([]bool, len(logits))
		}
		for _, id := range seen {
			if id < 0 || id >= len(logits) || s.done[id] {
				continue
			}
			s.done[id] = true
			if logits[id] > 0 {
				logits[id] /= p
			} else {
				logits[id] *= p
			}
		}
		for _, id := range seen {
			if id >= 0 && id < len(logits) {
				s.done[id] = false
			}
		}
	}
	for id, n := range s.chosen {
		if id >= 0 && id < len(logits) {
			logits[id] -= float32(float64(n)*o.FrequencyPenalty + o.PresencePenalty)
		}
	}
	if o.Temperature == 0 {
		return argmax(logits)
	}
	// Candidates sorted by logit, highest first (ties: lower id first).
	s.idx = s.idx[:0]
	for i, v := range logits {
		if !math.IsInf(float64(v), -1) && !math.IsNaN(float64(v)) {
			s.idx = append(s.idx, i)
		}
	}
	if len(s.idx) == 0 {
		return argmax(logits)
	}
	sort.SliceStable(s.idx, func(a, b int) bool { return logits[s.idx[a]] > logits[s.idx[b]] })
	if o.TopK > 0 && o.TopK < len(s.idx) {
		s.idx = s.idx[:o.TopK]
	}
	// Softmax at the temperature over the survivors.
	s.prob = s.prob[:0]
	top := float64(logits[s.idx[0]]) / o.Temperature
	var sum float64
	for _, i := range s.idx {
		p := math.Exp(float64(logits[i])/o.Temperature - top)
		s.prob = append(s.prob, p)
		sum += p
	}
	for i := range s.prob {
		s.prob[i] /= sum
	}
	n := len(s.idx)
	if o.TopP > 0 && o.TopP < 1 {
		// Keep tokens until the mass reaches top-p; always keep one.
		var c float64
		for i, p := range s.prob {
			c += p
			if c >= o.TopP {
				n = i + 1
				break
			}
		}
	}
	if o.MinP > 0 {
		thr := o.MinP * s.prob[0]
		for i := 1; i < n; i++ {
			if s.prob[i] < thr {
				n = i
				break
			}
		}
	}
	var mass float64
	for _, p := range s.prob[:n] {
		mass += p
	}
	r := s.rng.Float64() * mass
	for i, p := range s.prob[:n] {
		r -= p
		if r < 0 {
			return s.idx[i]
		}
	}
	return s.idx[n-1]
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] || math.IsNaN(float64(x[best])) {
			best = i
		}
	}
	return best
}
