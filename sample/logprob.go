package sample

import (
	"math"
	"slices"
	"sort"
)

// TokenLogprob is a token id with its log-probability.
type TokenLogprob struct {
	ID      int
	Logprob float64
}

// Logprobs holds the log-softmax of one position's raw logits (before
// logit bias, penalties or temperature, as vLLM reports them by default):
// Of gives one id's log-probability, Top the k most likely ids.
type Logprobs struct {
	lse    float64
	top    []TokenLogprob
	logits []float32
}

// NewLogprobs copies logits (Sampler.Next modifies them in place, so build
// this first) and keeps the k most likely tokens (k may be 0).
func NewLogprobs(logits []float32, k int) *Logprobs {
	l := &Logprobs{logits: slices.Clone(logits)}
	maxv := math.Inf(-1)
	for _, v := range logits {
		if float64(v) > maxv {
			maxv = float64(v)
		}
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxv)
	}
	l.lse = maxv + math.Log(sum)
	k = min(k, len(logits))
	if k <= 0 {
		return l
	}
	top := make([]TokenLogprob, 0, k+1)
	for id, v := range logits {
		lp := float64(v) - l.lse
		if len(top) == k && !(lp > top[k-1].Logprob) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return top[i].Logprob < lp })
		top = slices.Insert(top, i, TokenLogprob{ID: id, Logprob: lp})
		if len(top) > k {
			top = top[:k]
		}
	}
	l.top = top
	return l
}

// Top returns the k most likely tokens, most likely first (ties: lower id
// first).
func (l *Logprobs) Top() []TokenLogprob { return l.top }

// Of returns the log-probability of id (-Inf outside the vocabulary).
func (l *Logprobs) Of(id int) float64 {
	if id < 0 || id >= len(l.logits) {
		return math.Inf(-1)
	}
	return float64(l.logits[id]) - l.lse
}
