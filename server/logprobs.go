package server

import (
	"math"

	"github.com/glmv/glmv"
)

// chatLogprobs is a chat choice's "logprobs": one entry per generated
// token.
type chatLogprobs struct {
	Content []logprobContent `json:"content"`
	Refusal []logprobContent `json:"refusal"`
}

type logprobContent struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// finite keeps JSON encodable: -Inf (a token the bias banned) becomes
// the most negative float, as OpenAI's -9999-style floors do.
func finite(x float64) float64 {
	if math.IsInf(x, -1) || math.IsNaN(x) {
		return -math.MaxFloat32
	}
	return x
}

func byteInts(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func convertLogprobs(lps []glmv.TokenLogprob) []logprobContent {
	var out []logprobContent
	for _, lp := range lps {
		c := logprobContent{Token: lp.Token, Logprob: finite(lp.Logprob), Bytes: byteInts(lp.Bytes), TopLogprobs: []topLogprob{}}
		for _, t := range lp.Top {
			c.TopLogprobs = append(c.TopLogprobs, topLogprob{Token: t.Token, Logprob: finite(t.Logprob), Bytes: byteInts(t.Bytes)})
		}
		out = append(out, c)
	}
	return out
}
