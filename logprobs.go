package glmv

import (
	"fmt"

	"github.com/glmv/glmv/sample"
)

// MaxTopLogprobs is the most alternatives Request.TopLogprobs may ask for
// (OpenAI's limit).
const MaxTopLogprobs = 20

// checkLogprobOptions refuses logprob and logit-bias settings the model
// cannot honour.
func (m *Model) checkLogprobOptions(req *Request) error {
	if req.TopLogprobs < 0 || req.TopLogprobs > MaxTopLogprobs {
		return fmt.Errorf("top_logprobs must be in [0, %d], is %d", MaxTopLogprobs, req.TopLogprobs)
	}
	if req.TopLogprobs > 0 && !req.Logprobs {
		return fmt.Errorf("top_logprobs needs logprobs")
	}
	vocab := m.Config.Text.Vocab
	for id := range req.LogitBias {
		if id < 0 || id >= vocab {
			return fmt.Errorf("logit_bias: token id %d is outside the vocabulary [0, %d)", id, vocab)
		}
	}
	return nil
}

// tokenLogprob describes the chosen token id and the alternatives.
func (m *Model) tokenLogprob(id int, lp *sample.Logprobs) TokenLogprob {
	t := m.tokenInfo(id, lp.Of(id))
	for _, alt := range lp.Top() {
		t.Top = append(t.Top, m.tokenInfo(alt.ID, alt.Logprob))
	}
	return t
}

func (m *Model) tokenInfo(id int, logprob float64) TokenLogprob {
	b := m.Tokenizer.DecodeBytes([]int{id})
	return TokenLogprob{ID: id, Token: string(b), Bytes: b, Logprob: logprob}
}
