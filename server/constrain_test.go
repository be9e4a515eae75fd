package server

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/glmv/glmv"
)

const boundedSchema = `{"type":"object","properties":{"animal":{"enum":["cat","dog","bird"]},"count":{"type":"integer"},"ok":{"type":"boolean"},"sizes":{"type":"array","items":{"enum":[1,2,3]},"minItems":1,"maxItems":3}},"required":["animal","count","ok","sizes"],"additionalProperties":false}`

const testTools = `"tools":[
	{"type":"function","function":{"name":"pick","parameters":{"type":"object","properties":{"n":{"type":"integer"},"color":{"type":"string","enum":["red","blue"]}},"required":["n","color"],"additionalProperties":false}}},
	{"type":"function","function":{"name":"flip","parameters":{"type":"object","properties":{"flag":{"type":"boolean"}},"required":["flag"]}}}],`

func completionOf(t *testing.T, body string) completion {
	t.Helper()
	ts, img := testServer(t)
	resp := post(t, ts, demoBody(img, body))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("status %d: %s", resp.StatusCode, e.Error.Message)
	}
	var c completion
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The random-weight demo model answers with schema-valid JSON: only the
// mask can make it do that.
func TestResponseFormatJSONSchema(t *testing.T) {
	for _, temp := range []string{"0", "1"} {
		c := completionOf(t, `"max_tokens":400,"temperature":`+temp+`,"seed":5,"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":`+boundedSchema+`}},`)
		msg := c.Choices[0].Message
		if *c.Choices[0].FinishReason != "stop" {
			t.Fatalf("finish %s: %q", *c.Choices[0].FinishReason, *msg.Content)
		}
		var doc struct {
			Animal string `json:"animal"`
			Count  *int64 `json:"count"`
			OK     *bool  `json:"ok"`
			Sizes  []int  `json:"sizes"`
		}
		dec := json.NewDecoder(strings.NewReader(*msg.Content))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("content %q: %v", *msg.Content, err)
		}
		if !strings.Contains("cat dog bird", doc.Animal) || doc.Animal == "" || doc.Count == nil || doc.OK == nil || len(doc.Sizes) == 0 || len(doc.Sizes) > 3 {
			t.Fatalf("content %q does not validate", *msg.Content)
		}
	}
}

func TestResponseFormatJSONObjectStreamed(t *testing.T) {
	ts, img := testServer(t)
	resp := post(t, ts, demoBody(img, `"max_tokens":300,"stream":true,"response_format":{"type":"json_object"},`))
	defer resp.Body.Close()
	var content strings.Builder
	finish := ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			if ch.Delta != nil && ch.Delta.Content != nil {
				content.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	// The greedy random model may write a long object; when it stops it
	// must be a JSON object, and when cut by length a prefix of one.
	text := strings.TrimSpace(content.String())
	t.Logf("finish %s: %q", finish, text)
	if !strings.HasPrefix(text, "{") {
		t.Fatalf("content %q", text)
	}
	if finish == "stop" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			t.Fatalf("content %q: %v", text, err)
		}
	} else if finish != "length" {
		t.Fatalf("finish %q", finish)
	}
}

func TestToolChoice(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        []string // allowed function names
		max         int
	}{
		{"required", `"tool_choice":"required",`, []string{"pick", "flip"}, 0},
		{"required-single", `"tool_choice":"required","parallel_tool_calls":false,`, []string{"pick", "flip"}, 1},
		{"named", `"tool_choice":{"type":"function","function":{"name":"flip"}},`, []string{"flip"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := completionOf(t, `"max_tokens":300,`+testTools+tc.extra)
			msg := c.Choices[0].Message
			if *c.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) == 0 || (tc.max > 0 && len(msg.ToolCalls) > tc.max) {
				t.Fatalf("finish %s, calls %+v, content %q", *c.Choices[0].FinishReason, msg.ToolCalls, *msg.Content)
			}
			for _, call := range msg.ToolCalls {
				if !strings.Contains(strings.Join(tc.want, " "), call.Function.Name) {
					t.Fatalf("called %s", call.Function.Name)
				}
				var args map[string]any
				if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
					t.Fatal(err)
				}
				switch call.Function.Name {
				case "pick":
					if _, ok := args["n"].(float64); !ok || (args["color"] != "red" && args["color"] != "blue") {
						t.Fatalf("pick arguments %s", call.Function.Arguments)
					}
				case "flip":
					if _, ok := args["flag"].(bool); !ok {
						t.Fatalf("flip arguments %s", call.Function.Arguments)
					}
				}
			}
		})
	}
}

func TestToolChoiceNoneAndAuto(t *testing.T) {
	for _, extra := range []string{`"tool_choice":"none",`, `"tool_choice":"auto","parallel_tool_calls":false,`} {
		c := completionOf(t, testTools+extra)
		if len(c.Choices[0].Message.ToolCalls) > 1 {
			t.Fatalf("%s: calls %+v", extra, c.Choices[0].Message.ToolCalls)
		}
	}
	// auto with a response format: the answer is the JSON or tool calls.
	c := completionOf(t, `"max_tokens":400,`+testTools+`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":`+boundedSchema+`}},`)
	msg := c.Choices[0].Message
	if len(msg.ToolCalls) == 0 && !json.Valid([]byte(*msg.Content)) {
		t.Fatalf("neither tool calls nor JSON: %q", *msg.Content)
	}
}

func TestConstraintRefusals(t *testing.T) {
	ts, img := testServer(t)
	for _, c := range []struct{ extra, param, want string }{
		{`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]+$"}}}}},`,
			"response_format.json_schema.schema", `keyword "pattern"`},
		{`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"oneOf":[{"type":"string"}]}}},`, "response_format.json_schema.schema", `"oneOf"`},
		{`"response_format":{"type":"json_schema","json_schema":{"name":"x"}},`, "response_format.json_schema.schema", "needs json_schema.schema"},
		{`"response_format":{"type":"xml"},`, "response_format", "json_object or json_schema"},
		{`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#"}}},`, "response_format.json_schema.schema", "recursive"},
		{`"tool_choice":"required",`, "tool_choice", "needs tools"},
		{`"tool_choice":"sometimes",` + testTools, "tool_choice", "tool_choice must be"},
		{`"tool_choice":{"type":"function","function":{"name":"nope"}},` + testTools, "tool_choice", `"nope"`},
		{`"tool_choice":"required","tools":[{"type":"function","function":{"name":"s","strict":true,"parameters":{"type":"object","properties":{"d":{"type":"string","format":"date"}}}}}],`,
			"tools[0].function.parameters", `"format"`},
	} {
		resp := post(t, ts, demoBody(img, c.extra))
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Error.Param == nil || *e.Error.Param != c.param || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("%s: status %d, error %+v; want 400 on %s mentioning %s", c.extra, resp.StatusCode, e.Error, c.param, c.want)
		}
	}
}

// FuzzApplyConstraint checks that no request body makes the constraint
// fields' decoding and schema compilation panic or hang.
func FuzzApplyConstraint(f *testing.F) {
	f.Add([]byte(`{"response_format":{"type":"json_schema","json_schema":{"schema":` + boundedSchema + `}}}`))
	f.Add([]byte(`{"response_format":{"type":"json_object"},"tool_choice":"auto","parallel_tool_calls":false,` + testTools + `"messages":[]}`))
	f.Add([]byte(`{"tool_choice":{"type":"function","function":{"name":"flip"}},` + testTools + `"x":1}`))
	f.Add([]byte(`{"response_format":{"type":"json_schema","json_schema":{"schema":{"$defs":{"a":{"type":"array","items":{"$ref":"#/$defs/a"},"maxItems":3}},"anyOf":[{"$ref":"#/$defs/a"},{"const":{"a":[1,"<"]}}]}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var probe struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if json.Unmarshal(body, &probe) != nil {
			return
		}
		req := &glmv.Request{Tools: probe.Tools}
		_ = applyConstraint(body, req)
	})
}
