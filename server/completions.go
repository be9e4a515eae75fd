package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/glmv/glmv"
)

// textRequest is OpenAI's legacy completions request: a raw prompt, no
// chat template.
type textRequest struct {
	Model             string             `json:"model"`
	Prompt            json.RawMessage    `json:"prompt"`
	Stream            bool               `json:"stream"`
	StreamOptions     *streamOptions     `json:"stream_options"`
	MaxTokens         *int               `json:"max_tokens"`
	Temperature       *float64           `json:"temperature"`
	TopP              *float64           `json:"top_p"`
	TopK              *int               `json:"top_k"`
	MinP              *float64           `json:"min_p"`
	RepetitionPenalty *float64           `json:"repetition_penalty"`
	PresencePenalty   *float64           `json:"presence_penalty"`
	FrequencyPenalty  *float64           `json:"frequency_penalty"`
	LogitBias         map[string]float64 `json:"logit_bias"`
	Logprobs          *int               `json:"logprobs"`
	Seed              *int64             `json:"seed"`
	Stop              json.RawMessage    `json:"stop"`
	N                 *int               `json:"n"`
}

// refusedTextFields are legacy completions fields glmv cannot honour.
var refusedTextFields = map[string]string{
	"best_of": "glmv generates one sequence",
	"echo":    "the prompt is not echoed",
	"suffix":  "glmv does not fill in the middle",
}

// MaxTextLogprobs is the most alternatives the legacy "logprobs" may ask
// for (OpenAI's limit).
const MaxTextLogprobs = 5

// defaultTextMaxTokens is OpenAI's default max_tokens for completions.
const defaultTextMaxTokens = 16

// decodeTextRequest validates a completions request and turns it into a
// glmv one with a raw prompt.
func decodeTextRequest(body []byte) (*textRequest, *glmv.Request, error) {
	var tr textRequest
	if err := decodeJSON(body, &tr, "completions", refusedTextFields); err != nil {
		return nil, nil, err
	}
	var prompt string
	if err := json.Unmarshal(tr.Prompt, &prompt); err != nil {
		var list []string
		if err := json.Unmarshal(tr.Prompt, &list); err != nil || len(list) != 1 {
			return nil, nil, badParam("prompt", "prompt must be a string (or a list of one string); token-id prompts and batches are not supported")
		}
		prompt = list[0]
	}
	if prompt == "" {
		return nil, nil, badParam("prompt", "prompt must not be empty")
	}
	req := &glmv.Request{Prompt: prompt, MaxTokens: defaultTextMaxTokens,
		Temperature: tr.Temperature, TopP: tr.TopP, TopK: tr.TopK, MinP: tr.MinP, RepetitionPenalty: tr.RepetitionPenalty}
	f := samplingFields{maxTokens: tr.MaxTokens, maxTokensParam: "max_tokens", seed: tr.Seed, stop: tr.Stop,
		presence: tr.PresencePenalty, frequency: tr.FrequencyPenalty, logitBias: tr.LogitBias, n: tr.N}
	if err := f.apply(req); err != nil {
		return nil, nil, err
	}
	if tr.Logprobs != nil {
		if *tr.Logprobs < 0 || *tr.Logprobs > MaxTextLogprobs {
			return nil, nil, badParam("logprobs", "logprobs must be in [0, %d], is %d", MaxTextLogprobs, *tr.Logprobs)
		}
		req.Logprobs, req.TopLogprobs = true, *tr.Logprobs
	}
	return &tr, req, nil
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request, l *loaded) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	tr, req, err := decodeTextRequest(body)
	if err == nil {
		err = l.checkModel(tr.Model)
	}
	if err == nil {
		err = s.check(r.Context(), req, l.m)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	if tr.Seed == nil {
		req.Seed = randomSeed()
	}
	out := &textOutput{id: fmt.Sprintf("cmpl-%d-%d", s.now().Unix(), s.ids.Add(1)), created: s.now().Unix(), model: l.name,
		stream: tr.Stream, includeUsage: tr.StreamOptions != nil && tr.StreamOptions.IncludeUsage, logprobs: req.Logprobs}
	s.run(w, r, l, req, out)
}

type textChoice struct {
	Text         string        `json:"text"`
	Index        int           `json:"index"`
	Logprobs     *textLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// textLogprobs is the legacy completions logprobs shape.
type textLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type textCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []textChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

// textOutput turns events into text_completion objects.
type textOutput struct {
	id, model                      string
	created                        int64
	stream, includeUsage, logprobs bool
	text                           strings.Builder
	all                            textLogprobs
}

func (o *textOutput) streaming() bool { return o.stream }

func (o *textOutput) object(choices []textChoice) textCompletion {
	return textCompletion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model, Choices: choices}
}

func (o *textOutput) first() any { return nil }

// add appends lps to dst, with offsets counted from offset.
func (o *textOutput) add(dst *textLogprobs, lps []glmv.TokenLogprob, offset int) {
	for _, lp := range lps {
		dst.Tokens = append(dst.Tokens, lp.Token)
		dst.TokenLogprobs = append(dst.TokenLogprobs, finite(lp.Logprob))
		top := map[string]float64{}
		for _, t := range lp.Top {
			top[t.Token] = finite(t.Logprob)
		}
		dst.TopLogprobs = append(dst.TopLogprobs, top)
		dst.TextOffset = append(dst.TextOffset, offset)
		offset += len(lp.Bytes)
	}
}

func (o *textOutput) event(ev glmv.Event) any {
	offset := o.text.Len()
	o.text.WriteString(ev.Text)
	if ev.Kind == glmv.EventDone && len(ev.Logprobs) == 0 {
		return nil
	}
	c := textChoice{Text: ev.Text}
	if o.logprobs {
		c.Logprobs = &textLogprobs{}
		o.add(c.Logprobs, ev.Logprobs, offset)
		o.add(&o.all, ev.Logprobs, offset)
	}
	return o.object([]textChoice{c})
}

func (o *textOutput) finish(u *glmv.Usage) (string, []any) {
	finish := u.FinishReason
	use := &usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
	if o.stream {
		last := []any{o.object([]textChoice{{FinishReason: &finish}})}
		if o.includeUsage {
			c := o.object([]textChoice{})
			c.Usage = use
			last = append(last, c)
		}
		return finish, last
	}
	c := textChoice{Text: o.text.String(), FinishReason: &finish}
	if o.logprobs {
		c.Logprobs = &o.all
		if c.Logprobs.Tokens == nil {
			*c.Logprobs = textLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
		}
	}
	whole := o.object([]textChoice{c})
	whole.Usage = use
	return finish, []any{whole}
}
