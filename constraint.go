package glmv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/constrain"
)

// Constraint restricts the answer of a Request. The thinking
// (<think>…</think>) stays free; the constraint applies from the first
// answer token (the first token when thinking is off). An answer cut by
// MaxTokens or by a Stop string is cut, like any other.
type Constraint struct {
	// Grammar is the language the answer must belong to, e.g. from
	// JSONSchemaGrammar, JSONObjectGrammar or ToolCallGrammar; nil leaves
	// the text free. The end-of-turn token is only allowed once the
	// answer is complete, and the thinking cannot end the turn.
	Grammar *constrain.Grammar
	// NoToolCalls masks the tool-call start token (tool_choice "none").
	NoToolCalls bool
	// MaxToolCalls, when positive, ends the answer after that many
	// complete tool calls: only the end-of-turn token is allowed then
	// (parallel_tool_calls false).
	MaxToolCalls int
}

// grammarOptions keeps constrained text clear of the reply parser's
// markers and of the tool-call tags (special tokens of their own), so
// what the grammar allows is what the caller receives.
func grammarOptions() constrain.Options {
	return constrain.Options{Avoid: append(chat.Markers(), constrain.ToolCallTokens()...)}
}

// JSONSchemaGrammar compiles a JSON Schema for Constraint.Grammar: the
// answer is then a JSON document valid against it. Schemas outside the
// supported subset fail with a *constrain.UnsupportedError.
func JSONSchemaGrammar(schema []byte) (*constrain.Grammar, error) {
	return constrain.CompileSchema(schema, grammarOptions())
}

// JSONObjectGrammar is a grammar for any JSON object.
func JSONObjectGrammar() (*constrain.Grammar, error) {
	return constrain.JSONObject(grammarOptions())
}

// ToolCallGrammar is a grammar for an answer made only of GLM tool calls
// to the given tools (OpenAI-style definitions, {"type": "function",
// "function": {"name", "parameters"}}), restricted to the function named
// only when it is not empty, with at most maxCalls calls (0: any
// number). The arguments follow each function's parameters schema where
// it is within the supported subset; free says, by function name, why
// it is not for the others (their arguments are then free).
func ToolCallGrammar(tools []json.RawMessage, only string, maxCalls int) (g *constrain.Grammar, free map[string]error, err error) {
	var fs []constrain.Function
	for i, raw := range tools {
		var def struct {
			Type     string `json:"type"`
			Function *struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		if err := json.Unmarshal(raw, &def); err != nil || def.Function == nil || def.Function.Name == "" {
			return nil, nil, fmt.Errorf("tools[%d]: not a function definition with a name", i)
		}
		if only != "" && def.Function.Name != only {
			continue
		}
		params := def.Function.Parameters
		if bytes.Equal(bytes.TrimSpace(params), []byte("null")) {
			params = nil
		}
		fs = append(fs, constrain.Function{Name: def.Function.Name, Parameters: params})
	}
	if only != "" && len(fs) == 0 {
		return nil, nil, fmt.Errorf("no tool is a function named %q", only)
	}
	return constrain.ToolCalls(fs, maxCalls, grammarOptions())
}

// constraintVocab is the model's vocabulary for matchers, built once.
type constraintVocab struct {
	once sync.Once
	v    *constrain.Vocab
	err  error
}

func (m *Model) constraintVocab() (*constrain.Vocab, error) {
	cv := &m.cvocab
	cv.once.Do(func() {
		cv.v, cv.err = constrain.FromTokenizer(m.Tokenizer, m.Generation.EOS, constrain.ToolCallTokens()...)
	})
	return cv.v, cv.err
}

// answerGuard applies a Constraint during generation: it masks the
// logits before each token is drawn and follows the drawn tokens.
type answerGuard struct {
	c          *Constraint
	match      *constrain.Matcher // nil without a grammar
	thinking   bool               // inside <think>…</think>
	mayThink   bool               // the next token may open the thinking (only whitespace so far)
	thinkOpen  int
	thinkClose int
	toolOpen   int
	eos        []int
	mask       []uint64
	tail       []byte // recent answer bytes, to count closed tool calls
	calls      int
	vocab      *constrain.Vocab
}

// newGuard prepares req's constraint for the rendered prompt; nil when
// there is none.
func (m *Model) newGuard(req *Request, promptText string) (*answerGuard, error) {
	c := req.Constraint
	if c == nil || (c.Grammar == nil && !c.NoToolCalls && c.MaxToolCalls <= 0) {
		return nil, nil
	}
	v, err := m.constraintVocab()
	if err != nil {
		return nil, fmt.Errorf("constrained decoding: %w", err)
	}
	id := func(s string) int {
		if i, ok := m.Tokenizer.TokenID(s); ok {
			return i
		}
		return -1
	}
	g := &answerGuard{c: c, vocab: v, eos: m.Generation.EOS,
		thinkOpen: id("<think>"), thinkClose: id("</think>"), toolOpen: id("<tool_call>")}
	switch p := strings.TrimRight(promptText, " \t\r\n"); {
	case endsWithOpenThink(p):
		g.thinking = true
	case strings.HasSuffix(p, "</think>"):
	default:
		g.mayThink = g.thinkOpen >= 0
	}
	if c.Grammar != nil {
		g.match = constrain.NewMatcher(c.Grammar, v)
	}
	return g, nil
}

// apply sets the logits of the tokens not allowed next to -Inf.
func (g *answerGuard) apply(logits []float32) error {
	if g == nil {
		return nil
	}
	negInf := float32(math.Inf(-1))
	ban := func(id int) {
		if id >= 0 && id < len(logits) {
			logits[id] = negInf
		}
	}
	if g.c.NoToolCalls {
		ban(g.toolOpen)
	}
	switch {
	case g.thinking:
		if g.match != nil {
			for _, id := range g.eos {
				ban(id)
			}
		}
		return nil
	case g.match != nil:
		g.mask = g.match.Mask(g.mask)
		if g.mayThink {
			g.mask[g.thinkOpen>>6] |= 1 << (uint(g.thinkOpen) & 63)
		}
		if !maskLogits(logits, g.mask, g.vocab.Size()) {
			return fmt.Errorf("constrained decoding: no token can continue the answer")
		}
	case g.c.MaxToolCalls > 0 && g.calls >= g.c.MaxToolCalls:
		keep := make(map[int]float32, len(g.eos))
		for _, id := range g.eos {
			if id >= 0 && id < len(logits) {
				keep[id] = logits[id]
			}
		}
		for i := range logits {
			logits[i] = negInf
		}
		for id, l := range keep {
			logits[id] = l
		}
	}
	return nil
}

// toolClose ends a tool call in the answer text.
const toolClose = "</tool_call>"

// accept follows the drawn token.
func (g *answerGuard) accept(id int) error {
	if g == nil {
		return nil
	}
	if g.thinking {
		if id == g.thinkClose {
			g.thinking = false
		}
		return nil
	}
	if g.mayThink {
		if id == g.thinkOpen {
			g.thinking, g.mayThink = true, false
			return nil
		}
		// Some templates leave the newline before <think> to the model:
		// the thinking may still open after leading whitespace.
		g.mayThink = len(bytes.TrimSpace(g.vocab.TokenBytes(id))) == 0 && len(g.vocab.TokenBytes(id)) > 0
	}
	if g.match != nil {
		if err := g.match.Accept(id); err != nil {
			return fmt.Errorf("constrained decoding: %w", err)
		}
	}
	if g.c.MaxToolCalls > 0 {
		g.tail = append(g.tail, g.vocab.TokenBytes(id)...)
		for {
			i := bytes.Index(g.tail, []byte(toolClose))
			if i < 0 {
				break
			}
			g.calls++
			g.tail = g.tail[i+len(toolClose):]
		}
		if k := len(toolClose) - 1; len(g.tail) > k {
			g.tail = append(g.tail[:0], g.tail[len(g.tail)-k:]...)
		}
	}
	return nil
}

// maskLogits sets to -Inf the logits whose bit in mask is clear (and
// those at or past size); it reports whether an allowed logit is left
// that is not -Inf.
func maskLogits(logits []float32, mask []uint64, size int) bool {
	negInf := float32(math.Inf(-1))
	if len(logits) > size {
		for i := size; i < len(logits); i++ {
			logits[i] = negInf
		}
		logits = logits[:size]
	}
	left := false
	for w := 0; w*64 < len(logits); w++ {
		bitsw := mask[w]
		base := w * 64
		n := min(64, len(logits)-base)
		chunk := logits[base : base+n]
		switch bitsw {
		case 0:
			for j := range chunk {
				chunk[j] = negInf
			}
			continue
		case ^uint64(0):
		default:
			for j := range chunk {
				if bitsw&(1<<uint(j)) == 0 {
					chunk[j] = negInf
				}
			}
		}
		if !left {
			for j := range chunk {
				if bitsw&(1<<uint(j)) != 0 && !math.IsInf(float64(chunk[j]), -1) {
					left = true
					break
				}
			}
		}
	}
	return left
}
