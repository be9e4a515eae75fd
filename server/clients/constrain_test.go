package clients

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/server"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// Constrained output through the Go client: every tool_choice and a strict
// json_schema answer that parses and validates (the demo model's weights
// are random, so only the constraint can make it comply).
func TestOpenAIGoConstrained(t *testing.T) {
	m, img := loadDemo(t)
	s := server.NewServer(server.Options{})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	ctx := context.Background()
	messages := []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: img}),
		openai.TextContentPart("What is in the image?"),
	})}
	tools := []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "pick", Parameters: shared.FunctionParameters{
			"type": "object", "required": []string{"n", "color"}, "additionalProperties": false,
			"properties": map[string]any{"n": map[string]any{"type": "integer"}, "color": map[string]any{"enum": []string{"red", "blue"}}}}}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "flip", Parameters: shared.FunctionParameters{
			"type": "object", "required": []string{"flag"}, "properties": map[string]any{"flag": map[string]any{"type": "boolean"}}}}),
	}
	for _, tc := range []struct {
		name   string
		choice openai.ChatCompletionToolChoiceOptionUnionParam
		single bool
		want   []string
	}{
		{"required", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, false, []string{"pick", "flip"}},
		{"required, one call", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, true, []string{"pick", "flip"}},
		{"named", openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "flip"}), false, []string{"flip"}},
		{"none", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}, false, nil},
	} {
		t.Run("tool_choice "+tc.name, func(t *testing.T) {
			p := openai.ChatCompletionNewParams{Model: "tiny", Messages: messages, Tools: tools, ToolChoice: tc.choice, MaxTokens: openai.Int(300)}
			if tc.single {
				p.ParallelToolCalls = openai.Bool(false)
			}
			c, err := client.Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			calls := c.Choices[0].Message.ToolCalls
			if tc.want == nil {
				if len(calls) != 0 {
					t.Fatalf("tool_choice none made calls %s", c.RawJSON())
				}
				return
			}
			if c.Choices[0].FinishReason != "tool_calls" || len(calls) == 0 || (tc.single && len(calls) != 1) {
				t.Fatalf("response %s", c.RawJSON())
			}
			for _, call := range calls {
				var args map[string]any
				if !slices.Contains(tc.want, call.Function.Name) || json.Unmarshal([]byte(call.Function.Arguments), &args) != nil {
					t.Fatalf("call %s(%s)", call.Function.Name, call.Function.Arguments)
				}
			}
		})
	}

	t.Run("json_schema", func(t *testing.T) {
		schema := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"animal", "count"},
			"properties": map[string]any{"animal": map[string]any{"enum": []string{"cat", "dog"}}, "count": map[string]any{"type": "integer"}}}
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", Messages: messages, MaxTokens: openai.Int(300),
			Temperature: openai.Float(1),
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "pet", Strict: openai.Bool(true), Schema: schema}}}},
			option.WithJSONSet("chat_template_kwargs", map[string]any{"enable_thinking": false}))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Animal string `json:"animal"`
			Count  *int64 `json:"count"`
		}
		dec := json.NewDecoder(strings.NewReader(c.Choices[0].Message.Content))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil || (doc.Animal != "cat" && doc.Animal != "dog") || doc.Count == nil {
			t.Fatalf("content %q does not validate: %v", c.Choices[0].Message.Content, err)
		}
	})
}
