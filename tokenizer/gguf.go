package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/glmv/glmv/gguf"
)

// llama.cpp token types (tokenizer.ggml.token_type).
const (
	TokenNormal      = 1
	TokenUnknown     = 2
	TokenControl     = 3
	TokenUserDefined = 4
	TokenUnused      = 5
	TokenByte        = 6
)

// GGUF metadata keys of the tokenizer.
const (
	KeyModel        = "tokenizer.ggml.model"
	KeyPre          = "tokenizer.ggml.pre"
	KeyTokens       = "tokenizer.ggml.tokens"
	KeyTokenType    = "tokenizer.ggml.token_type"
	KeyMerges       = "tokenizer.ggml.merges"
	KeyChatTemplate = "tokenizer.chat_template"
)

// preTokenizers maps llama.cpp's pre-tokenizer names (tokenizer.ggml.pre)
// to the split regex that runs before the byte-level mapping (llama.cpp's
// llama-vocab.cpp; "" means GPT-2's ByteLevel regex).
var preTokenizers = map[string]string{
	"glm4":        pattern3Digits, // llama.cpp: CHATGLM4
	"chatglm-bpe": pattern3Digits,
	"llama-bpe":   pattern3Digits, // LLAMA3
	"llama3":      pattern3Digits,
	"qwen2":       pattern1Digit,
	"default":     "",
	"gpt-2":       "",
}

// FromGGUF builds the tokenizer described by GGUF metadata: a gpt2
// (byte-level BPE) model with tokens, token types, merges and a known
// pre-tokenizer name. NORMAL (and BYTE) tokens form the BPE vocabulary;
// CONTROL tokens become special added tokens and USER_DEFINED tokens
// non-special added tokens; UNUSED ones (padding) get no text. Config gets
// the bos/eos/pad/unk token strings and the chat template.
func FromGGUF(h *gguf.Header) (*Tokenizer, error) {
	str := func(key string) string {
		v, _ := h.Get(key)
		s, _ := v.Str()
		return s
	}
	if m := str(KeyModel); m != "gpt2" {
		return nil, fmt.Errorf("tokenizer: GGUF %s = %q: only gpt2 (byte-level BPE) is supported", KeyModel, m)
	}
	pre := str(KeyPre)
	pattern, ok := preTokenizers[pre]
	if !ok {
		known := make([]string, 0, len(preTokenizers))
		for k := range preTokenizers {
			known = append(known, k)
		}
		slices.Sort(known)
		return nil, fmt.Errorf("tokenizer: GGUF %s = %q is not a pre-tokenizer glmv knows (%v)", KeyPre, pre, known)
	}
	tv, _ := h.Get(KeyTokens)
	tokens, ok := tv.Strings()
	if !ok || len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: GGUF has no %s string array", KeyTokens)
	}
	types := make([]int64, len(tokens))
	for i := range types {
		types[i] = TokenNormal
	}
	if v, ok := h.Get(KeyTokenType); ok {
		if types, ok = v.Ints(); !ok || len(types) != len(tokens) {
			return nil, fmt.Errorf("tokenizer: GGUF %s has %d entries for %d tokens", KeyTokenType, v.Len(), len(tokens))
		}
	}
	var merges []string
	if v, ok := h.Get(KeyMerges); ok {
		if merges, ok = v.Strings(); !ok {
			return nil, fmt.Errorf("tokenizer: GGUF %s is not a string array", KeyMerges)
		}
	}
	// llama.cpp looks whole words up before merging for Llama 3 only.
	f := fileJSON{Model: modelJSON{Type: "BPE", Vocab: make(map[string]int, len(tokens)), IgnoreMerges: pre == "llama-bpe" || pre == "llama3"}}
	for id, tok := range tokens {
		switch types[id] {
		case TokenNormal, TokenByte, TokenUnknown, 0:
			if _, dup := f.Model.Vocab[tok]; !dup {
				f.Model.Vocab[tok] = id
			}
		case TokenControl, TokenUserDefined:
			if tok == "" {
				return nil, fmt.Errorf("tokenizer: GGUF token %d is empty", id)
			}
			f.AddedTokens = append(f.AddedTokens, addedTokenJSON{ID: id, Content: tok, Special: types[id] == TokenControl})
		case TokenUnused:
		default:
			return nil, fmt.Errorf("tokenizer: GGUF token %d has unknown type %d", id, types[id])
		}
	}
	f.Model.mergeList = merges
	if f.Model.mergeList == nil {
		f.Model.mergeList = []string{}
	}
	var err error
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": pattern == ""}
	steps := []any{byteLevel}
	if pattern != "" {
		steps = []any{map[string]any{"type": "Split", "pattern": map[string]string{"Regex": pattern}, "behavior": "Isolated"}, byteLevel}
	}
	if f.PreTokenizer, err = json.Marshal(map[string]any{"type": "Sequence", "pretokenizers": steps}); err != nil {
		return nil, err
	}
	f.Decoder = json.RawMessage(`{"type":"ByteLevel"}`)
	t, err := build(&f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: GGUF metadata: %w", err)
	}
	cfg := &Config{}
	for _, s := range []struct {
		key string
		dst *string
	}{{"bos", &cfg.BOS}, {"eos", &cfg.EOS}, {"padding", &cfg.PAD}, {"unknown", &cfg.UNK}} {
		v, ok := h.Get("tokenizer.ggml." + s.key + "_token_id")
		if !ok {
			continue
		}
		if id, ok := v.Int(); ok && id >= 0 && id < int64(len(tokens)) {
			*s.dst = tokens[id]
		}
	}
	if tpl := str(KeyChatTemplate); tpl != "" {
		cfg.ChatTemplate, _ = json.Marshal(tpl)
	}
	t.Config = cfg
	return t, nil
}

// GGUFVocab is a tokenizer laid out as llama.cpp's GGUF metadata stores
// it.
type GGUFVocab struct {
	Pre       string   // tokenizer.ggml.pre
	Tokens    []string // one per id up to the vocabulary size
	TokenType []int32
	Merges    []string // "a b", by rank
}

// GGUF lays the tokenizer out for GGUF metadata with vocabSize ids (ids
// the tokenizer lacks become UNUSED "[PAD<id>]" tokens, as llama.cpp's
// converter writes them). The pre-tokenizer must be one llama.cpp can
// name: the GLM-4 split regex ("glm4"; with ignore_merges, Llama 3's
// "llama-bpe"), Qwen 2's ("qwen2") or GPT-2's ("default"); a tokenizer without merges splits the same under
// any of them and is written as "glm4".
func (t *Tokenizer) GGUF(vocabSize int) (*GGUFVocab, error) {
	if vocabSize < t.VocabSize() {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is smaller than the tokenizer's %d", vocabSize, t.VocabSize())
	}
	v := &GGUFVocab{Tokens: make([]string, vocabSize), TokenType: make([]int32, vocabSize)}
	for id := range vocabSize {
		tok, ok := t.Token(id)
		switch {
		case !ok:
			v.Tokens[id], v.TokenType[id] = fmt.Sprintf("[PAD%d]", id), TokenUnused
		case t.addedByID[id] != nil && t.addedByID[id].Special:
			v.Tokens[id], v.TokenType[id] = tok, TokenControl
		case t.addedByID[id] != nil:
			v.Tokens[id], v.TokenType[id] = tok, TokenUserDefined
		default:
			v.Tokens[id], v.TokenType[id] = tok, TokenNormal
		}
	}
	type ranked struct {
		rank int32
		text string
	}
	var ms []ranked
	for k, m := range t.model.merges {
		a, _ := t.Token(int(int32(k >> 32)))
		b, _ := t.Token(int(int32(uint32(k))))
		ms = append(ms, ranked{m.rank, a + " " + b})
	}
	slices.SortFunc(ms, func(x, y ranked) int { return int(x.rank - y.rank) })
	for _, m := range ms {
		v.Merges = append(v.Merges, m.text)
	}
	pre, err := t.preName(len(v.Merges) == 0)
	if err != nil {
		return nil, err
	}
	v.Pre = pre
	return v, nil
}

// preName names the tokenizer's pre-tokenization for llama.cpp.
func (t *Tokenizer) preName(noMerges bool) (string, error) {
	if t.normalize != nil {
		return "", fmt.Errorf("tokenizer: a normalizer has no llama.cpp pre-tokenizer name")
	}
	var patterns []string
	for _, s := range t.steps {
		switch s := s.(type) {
		case *splitStep:
			if s.behavior != isolated || s.invert || s.pattern == "" {
				return "", fmt.Errorf("tokenizer: a split step that is not an isolating regex has no llama.cpp pre-tokenizer name")
			}
			patterns = append(patterns, s.pattern)
		default:
			return "", fmt.Errorf("tokenizer: pre-tokenizer step %T has no llama.cpp name", s)
		}
	}
	switch {
	case noMerges && !t.model.ignoreMerges:
		return "glm4", nil
	case slices.Equal(patterns, []string{pattern3Digits}) && t.model.ignoreMerges:
		return "llama-bpe", nil
	case slices.Equal(patterns, []string{pattern3Digits}):
		return "glm4", nil
	case t.model.ignoreMerges:
		return "", fmt.Errorf("tokenizer: ignore_merges with this split regex has no llama.cpp pre-tokenizer name")
	case slices.Equal(patterns, []string{pattern1Digit}):
		return "qwen2", nil
	case slices.Equal(patterns, []string{gpt2Pattern}):
		return "default", nil
	}
	return "", fmt.Errorf("tokenizer: split regexes %q have no llama.cpp pre-tokenizer name", patterns)
}
