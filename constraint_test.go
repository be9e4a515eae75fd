package glmv

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/glmv/glmv/constrain"
	"github.com/glmv/glmv/tokenizer"
)

// boundedSchema has no free-length values, so even a random-weight model
// must finish a document within a bounded number of tokens.
const boundedSchema = `{"type":"object","properties":{
	"animal":{"enum":["cat","dog","bird"]},
	"count":{"type":"integer"},
	"ok":{"type":"boolean"},
	"sizes":{"type":"array","items":{"enum":[1,2,3]},"minItems":1,"maxItems":3}
},"required":["animal","count","ok","sizes"],"additionalProperties":false}`

type boundedDoc struct {
	Animal *string `json:"animal"`
	Count  *int64  `json:"count"`
	OK     *bool   `json:"ok"`
	Sizes  []int   `json:"sizes"`
}

func (d *boundedDoc) check() error {
	if d.Animal == nil || d.Count == nil || d.OK == nil || len(d.Sizes) < 1 || len(d.Sizes) > 3 {
		return errors.New("missing or wrong fields")
	}
	switch *d.Animal {
	case "cat", "dog", "bird":
	default:
		return errors.New("animal not in enum")
	}
	for _, s := range d.Sizes {
		if s < 1 || s > 3 {
			return errors.New("size not in enum")
		}
	}
	return nil
}

// The random-weight demo model, forced by the mask, answers with JSON
// valid against the schema, greedily and when sampling.
func TestGenerateJSONSchema(t *testing.T) {
	m, img := loadDemo(t)
	g, err := JSONSchemaGrammar([]byte(boundedSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, temp := range []float64{0, 1} {
		for seed := uint64(1); seed <= 3; seed++ {
			req := demoRequest(img)
			req.MaxTokens = 400
			req.Temperature = &temp
			req.Seed = seed
			req.Constraint = &Constraint{Grammar: g}
			answer, usage := collectAnswer(t, m, req)
			if usage.FinishReason != "stop" {
				t.Fatalf("temp %g seed %d: finish %s after %q", temp, seed, usage.FinishReason, answer)
			}
			t.Logf("temp %g seed %d: %q", temp, seed, answer)
			var d boundedDoc
			if err := json.Unmarshal([]byte(answer), &d); err != nil {
				t.Fatalf("answer %q: %v", answer, err)
			}
			if err := d.check(); err != nil {
				t.Fatalf("answer %q: %v", answer, err)
			}
			if temp == 0 {
				break
			}
		}
	}
}

// Without the constraint the same request does not give JSON: the test
// above is not passing by chance.
func TestGenerateUnconstrainedIsNotJSON(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	req.MaxTokens = 40
	answer, _ := collectAnswer(t, m, req)
	if json.Valid([]byte(answer)) {
		t.Fatalf("unconstrained answer %q is JSON", answer)
	}
}

func TestGenerateToolCall(t *testing.T) {
	m, img := loadDemo(t)
	tools := []json.RawMessage{
		json.RawMessage(`{"type":"function","function":{"name":"pick","parameters":{"type":"object","properties":{"n":{"type":"integer"},"color":{"type":"string","enum":["red","blue"]}},"required":["n","color"]}}}`),
		json.RawMessage(`{"type":"function","function":{"name":"other","parameters":{"type":"object","properties":{"flag":{"type":"boolean"}},"required":["flag"]}}}`),
	}
	g, notes, err := ToolCallGrammar(tools, "pick", 1)
	if err != nil || len(notes) > 0 {
		t.Fatal(err, notes)
	}
	req := demoRequest(img)
	req.MaxTokens = 200
	req.Tools = tools
	req.Constraint = &Constraint{Grammar: g}
	var calls []string
	var usage *Usage
	for ev, err := range m.Generate(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case EventToolCall:
			calls = append(calls, ev.ToolCall.Function.Name+string(ev.ToolCall.Function.Arguments))
			var args struct {
				N     *int    `json:"n"`
				Color *string `json:"color"`
			}
			if err := json.Unmarshal(ev.ToolCall.Function.Arguments, &args); err != nil || args.N == nil || args.Color == nil {
				t.Fatalf("arguments %s: %v", ev.ToolCall.Function.Arguments, err)
			}
		case EventRaw:
			t.Fatalf("raw output %q", ev.Text)
		case EventDone:
			usage = ev.Usage
		}
	}
	if len(calls) != 1 || usage.FinishReason != "stop" {
		t.Fatalf("calls %v, finish %s", calls, usage.FinishReason)
	}
	if _, _, err := ToolCallGrammar(tools, "missing", 0); err == nil {
		t.Fatal("a named function that is not a tool was accepted")
	}
}

func collectAnswer(t *testing.T, m *Model, req Request) (string, *Usage) {
	t.Helper()
	var answer string
	var usage *Usage
	for ev, err := range m.Generate(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case EventAnswer, EventRaw, EventBox:
			answer += ev.Text
		case EventDone:
			usage = ev.Usage
		}
	}
	return answer, usage
}

func finite(logits []float32) []int {
	var ids []int
	for i, l := range logits {
		if !math.IsInf(float64(l), -1) {
			ids = append(ids, i)
		}
	}
	return ids
}

func tokenID(t *testing.T, m *Model, s string) int {
	t.Helper()
	id, ok := m.Tokenizer.TokenID(s)
	if !ok {
		t.Fatalf("no token %s", s)
	}
	return id
}

// The thinking is free (but cannot end the turn); the grammar starts
// after </think>; the first token may open the thinking.
func TestGuardThinking(t *testing.T) {
	m, _ := loadDemo(t)
	g, err := JSONObjectGrammar()
	if err != nil {
		t.Fatal(err)
	}
	think, unthink := tokenID(t, m, "<think>"), tokenID(t, m, "</think>")
	brace := m.Tokenizer.Encode("{")[0]
	letter := m.Tokenizer.Encode("a")[0]
	vocab := m.Config.Text.Vocab
	guard, err := m.newGuard(&Request{Constraint: &Constraint{Grammar: g}}, "<|assistant|>\n")
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, vocab)
	must(t, guard.apply(logits))
	ok := finite(logits)
	if !contains(ok, think) || !contains(ok, brace) || contains(ok, letter) {
		t.Fatalf("first step allows %v", ok)
	}
	must(t, guard.accept(m.Tokenizer.Encode("\n")[0])) // whitespace: <think> may still come
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); !contains(ok, think) {
		t.Fatal("<think> not allowed after leading whitespace")
	}
	must(t, guard.accept(think))
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); len(ok) != vocab-len(m.Generation.EOS) || contains(ok, m.Generation.EOS[0]) {
		t.Fatalf("thinking allows %d of %d tokens", len(ok), vocab)
	}
	must(t, guard.accept(letter))
	must(t, guard.accept(unthink))
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); contains(ok, letter) || !contains(ok, brace) || contains(ok, think) {
		t.Fatalf("answer allows %v", ok)
	}
	// Thinking off: constrained from the first token, no <think>.
	guard, _ = m.newGuard(&Request{Constraint: &Constraint{Grammar: g}}, "<|assistant|>\n<think></think>\n")
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); contains(ok, think) || !contains(ok, brace) {
		t.Fatalf("thinking off allows %v", ok)
	}
	// Prompt opened the thinking: free from the start.
	guard, _ = m.newGuard(&Request{Constraint: &Constraint{Grammar: g}}, "<|assistant|>\n<think>")
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); !contains(ok, letter) {
		t.Fatal("open thinking is constrained")
	}
}

func TestGuardToolChoice(t *testing.T) {
	m, _ := loadDemo(t)
	vocab := m.Config.Text.Vocab
	open, closeID := tokenID(t, m, "<tool_call>"), tokenID(t, m, "</tool_call>")
	guard, _ := m.newGuard(&Request{Constraint: &Constraint{NoToolCalls: true}}, "x</think>")
	logits := make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); contains(ok, open) || len(ok) != vocab-1 {
		t.Fatalf("none allows %d tokens", len(ok))
	}
	guard, _ = m.newGuard(&Request{Constraint: &Constraint{MaxToolCalls: 1}}, "x</think>")
	for _, id := range append(append([]int{open}, m.Tokenizer.Encode("f\n")...), closeID) {
		logits = make([]float32, vocab)
		must(t, guard.apply(logits))
		if len(finite(logits)) != vocab {
			t.Fatal("constrained before the call ended")
		}
		must(t, guard.accept(id))
	}
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); len(ok) != len(m.Generation.EOS) {
		t.Fatalf("after one call %v are allowed", ok)
	}
	// A call spelled with ordinary tokens counts too.
	guard, _ = m.newGuard(&Request{Constraint: &Constraint{MaxToolCalls: 1}}, "x</think>")
	for _, id := range m.Tokenizer.Encode("<tool_call>f\n") {
		must(t, guard.accept(id))
	}
	for _, r := range "</tool_call>" {
		must(t, guard.accept(m.Tokenizer.Encode(string(r))[0]))
	}
	logits = make([]float32, vocab)
	must(t, guard.apply(logits))
	if ok := finite(logits); len(ok) != len(m.Generation.EOS) {
		t.Fatalf("after a spelled call %v are allowed", ok)
	}
}

func TestSchemaRefusal(t *testing.T) {
	_, err := JSONSchemaGrammar([]byte(`{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]+$"}}}`))
	var ue *constrain.UnsupportedError
	if !errors.As(err, &ue) || ue.Keyword != "pattern" || ue.Path != "#/properties/zip" {
		t.Fatalf("error %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// BenchmarkGuardApply measures one constrained step as generate runs it
// on a 151k vocabulary: the mask, writing -Inf into the logits, and
// following the token (ns/op is per token of a JSON answer).
func BenchmarkGuardApply(b *testing.B) {
	tok, err := tokenizer.Load(filepath.Join("testdata", "tokenizer", "qwen3", "tokenizer.json.gz"))
	if err != nil {
		b.Fatal(err)
	}
	eos, _ := tok.TokenID("<|im_end|>")
	v, err := constrain.FromTokenizer(tok, []int{eos})
	if err != nil {
		b.Fatal(err)
	}
	g, err := JSONObjectGrammar()
	if err != nil {
		b.Fatal(err)
	}
	ids := tok.Encode(`{"name": "Ada Lovelace", "born": 1815, "tags": ["mathematician", "writer"], "note": "first published algorithm"}`)
	logits := make([]float32, 151936)
	guard := &answerGuard{c: &Constraint{Grammar: g}, vocab: v, eos: []int{eos}, thinkOpen: -1, thinkClose: -1, toolOpen: -1}
	steps := 0
	for b.Loop() {
		guard.match = constrain.NewMatcher(g, v)
		for _, id := range ids {
			if err := guard.apply(logits); err != nil {
				b.Fatal(err)
			}
			if err := guard.accept(id); err != nil {
				b.Fatal(err)
			}
			steps++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/token")
}
