package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/glmv/glmv"
)

// tokenizeRequest is vLLM's /tokenize body: a raw prompt, or chat messages
// rendered with the chat template (media expanded to their placeholders).
type tokenizeRequest struct {
	Model               string            `json:"model"`
	Prompt              *string           `json:"prompt"`
	Messages            []chatMessage     `json:"messages"`
	Tools               []json.RawMessage `json:"tools"`
	AddSpecialTokens    *bool             `json:"add_special_tokens"`
	AddGenerationPrompt *bool             `json:"add_generation_prompt"`
	ReturnTokenStrs     bool              `json:"return_token_strs"`
	ChatTemplateKwargs  struct {
		EnableThinking *bool `json:"enable_thinking"`
	} `json:"chat_template_kwargs"`
}

type tokenizeResponse struct {
	Count       int      `json:"count"`
	MaxModelLen int      `json:"max_model_len"`
	Tokens      []int    `json:"tokens"`
	TokenStrs   []string `json:"token_strs,omitempty"`
}

// decodeTokenizeRequest validates a /tokenize body and turns it into a
// glmv request whose prompt Prepare tokenizes.
func decodeTokenizeRequest(body []byte) (*tokenizeRequest, *glmv.Request, error) {
	var tr tokenizeRequest
	if err := decodeJSON(body, &tr, "tokenize", nil); err != nil {
		return nil, nil, err
	}
	if tr.AddSpecialTokens != nil && *tr.AddSpecialTokens && tr.Prompt != nil {
		return nil, nil, unsupported("add_special_tokens", "GLM's tokenizer adds no special tokens to a raw prompt; the chat template writes them")
	}
	if tr.AddGenerationPrompt != nil && !*tr.AddGenerationPrompt {
		return nil, nil, unsupported("add_generation_prompt", "messages are always rendered with the generation prompt")
	}
	switch {
	case tr.Prompt != nil && len(tr.Messages) > 0:
		return nil, nil, badRequest("send either prompt or messages, not both")
	case tr.Prompt != nil:
		if *tr.Prompt == "" {
			return &tr, nil, nil
		}
		return &tr, &glmv.Request{Prompt: *tr.Prompt}, nil
	case len(tr.Messages) > 0:
		req := &glmv.Request{Tools: tr.Tools, Thinking: tr.ChatTemplateKwargs.EnableThinking}
		var err error
		if req.Messages, err = convertMessages(tr.Messages); err != nil {
			return nil, nil, err
		}
		return &tr, req, nil
	}
	return nil, nil, badRequest("send a prompt (a string) or messages")
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request, l *loaded) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	tr, req, err := decodeTokenizeRequest(body)
	if err == nil {
		err = l.checkModel(tr.Model)
	}
	if err == nil && req != nil {
		err = s.check(r.Context(), req, l.m)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	resp := tokenizeResponse{MaxModelLen: l.m.ContextLimit(), Tokens: []int{}}
	if req != nil {
		pp, err := l.m.Prepare(r.Context(), req)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			var in *glmv.InputError
			if errors.As(err, &in) {
				err = badRequest("%v", err)
			}
			writeErr(w, err)
			return
		}
		resp.Tokens = pp.IDs
	}
	resp.Count = len(resp.Tokens)
	if tr.ReturnTokenStrs {
		resp.TokenStrs = []string{}
		for _, id := range resp.Tokens {
			resp.TokenStrs = append(resp.TokenStrs, l.m.Tokenizer.Decode([]int{id}))
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

type detokenizeRequest struct {
	Model  string `json:"model"`
	Tokens []int  `json:"tokens"`
}

func (s *Server) detokenize(w http.ResponseWriter, r *http.Request, l *loaded) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var dr detokenizeRequest
	if err := decodeJSON(body, &dr, "detokenize", nil); err != nil {
		writeErr(w, err)
		return
	}
	if err := l.checkModel(dr.Model); err != nil {
		writeErr(w, err)
		return
	}
	vocab := l.m.Tokenizer.VocabSize()
	for i, id := range dr.Tokens {
		if id < 0 || id >= vocab {
			writeErr(w, badParam("tokens", "tokens[%d] = %d is outside the vocabulary [0, %d)", i, id, vocab))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": l.m.Tokenizer.Decode(dr.Tokens)})
}
