package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// The official Go client asks for structured output and each tool_choice;
// the random-weight demo model can only comply because of the mask.
func TestOpenAIGoClientConstrained(t *testing.T) {
	m, img := loadDemo(t)
	s := NewServer(Options{})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	ctx := context.Background()
	noThinking := option.WithJSONSet("chat_template_kwargs", map[string]any{"enable_thinking": false})
	base := openai.ChatCompletionNewParams{Model: "tiny", MaxTokens: openai.Int(300), Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage(demo.SystemPrompt),
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: img}),
			openai.TextContentPart(demo.Question),
		}),
	}}
	var schema map[string]any
	if err := json.Unmarshal([]byte(boundedSchema), &schema); err != nil {
		t.Fatal(err)
	}

	t.Run("json_schema", func(t *testing.T) {
		p := base
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "pets", Schema: schema, Strict: openai.Bool(true)}}}
		c, err := client.Chat.Completions.New(ctx, p, noThinking)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Animal string `json:"animal"`
			Count  *int64 `json:"count"`
			OK     *bool  `json:"ok"`
			Sizes  []int  `json:"sizes"`
		}
		dec := json.NewDecoder(strings.NewReader(c.Choices[0].Message.Content))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil || c.Choices[0].FinishReason != "stop" {
			t.Fatalf("content %q, finish %s: %v", c.Choices[0].Message.Content, c.Choices[0].FinishReason, err)
		}
		if !strings.Contains(" cat dog bird ", " "+doc.Animal+" ") || doc.Count == nil || doc.OK == nil || len(doc.Sizes) < 1 || len(doc.Sizes) > 3 {
			t.Fatalf("content %q does not validate", c.Choices[0].Message.Content)
		}
	})

	t.Run("json_object", func(t *testing.T) {
		p := base
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
		c, err := client.Chat.Completions.New(ctx, p, noThinking)
		if err != nil {
			t.Fatal(err)
		}
		content := c.Choices[0].Message.Content
		var obj map[string]any
		if c.Choices[0].FinishReason == "stop" && json.Unmarshal([]byte(content), &obj) != nil || !strings.HasPrefix(content, "{") {
			t.Fatalf("content %q, finish %s", content, c.Choices[0].FinishReason)
		}
	})

	tools := []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "pick", Strict: openai.Bool(true), Parameters: shared.FunctionParameters{
			"type": "object", "additionalProperties": false, "required": []string{"n", "color"},
			"properties": map[string]any{"n": map[string]any{"type": "integer"}, "color": map[string]any{"type": "string", "enum": []string{"red", "blue"}}},
		}}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "flip", Parameters: shared.FunctionParameters{
			"type": "object", "required": []string{"flag"}, "properties": map[string]any{"flag": map[string]any{"type": "boolean"}},
		}}),
	}
	for _, tc := range []struct {
		name     string
		choice   openai.ChatCompletionToolChoiceOptionUnionParam
		parallel bool
		allowed  string
	}{
		{"required", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, true, "pick flip"},
		{"required-one", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, false, "pick flip"},
		{"named", openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "pick"}), true, "pick"},
	} {
		t.Run("tool_choice "+tc.name, func(t *testing.T) {
			p := base
			p.Tools, p.ToolChoice, p.ParallelToolCalls = tools, tc.choice, openai.Bool(tc.parallel)
			c, err := client.Chat.Completions.New(ctx, p, noThinking)
			if err != nil {
				t.Fatal(err)
			}
			calls := c.Choices[0].Message.ToolCalls
			if c.Choices[0].FinishReason != "tool_calls" || len(calls) == 0 || (!tc.parallel && len(calls) != 1) {
				t.Fatalf("response %s", c.RawJSON())
			}
			for _, call := range calls {
				fn := call.Function
				if !strings.Contains(tc.allowed, fn.Name) {
					t.Fatalf("called %s", fn.Name)
				}
				var args map[string]any
				if err := json.Unmarshal([]byte(fn.Arguments), &args); err != nil {
					t.Fatal(err)
				}
				if _, isNum := args["n"].(float64); fn.Name == "pick" && (!isNum || (args["color"] != "red" && args["color"] != "blue") || len(args) != 2) {
					t.Fatalf("pick arguments %s", fn.Arguments)
				}
				if _, isBool := args["flag"].(bool); fn.Name == "flip" && !isBool {
					t.Fatalf("flip arguments %s", fn.Arguments)
				}
			}
		})
	}

	t.Run("tool_choice none", func(t *testing.T) {
		p := base
		p.MaxTokens = openai.Int(12)
		p.Tools, p.ToolChoice = tools, openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}
		c, err := client.Chat.Completions.New(ctx, p, noThinking)
		if err != nil || len(c.Choices[0].Message.ToolCalls) != 0 {
			t.Fatalf("%v %v", err, c)
		}
	})

	t.Run("unsupported keyword", func(t *testing.T) {
		p := base
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "zip", Schema: map[string]any{"type": "string", "pattern": "^[0-9]{5}$"}}}}
		_, err := client.Chat.Completions.New(ctx, p, noThinking)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "response_format.json_schema.schema" || !strings.Contains(apiErr.Message, `"pattern"`) {
			t.Fatalf("error %v", err)
		}
	})
}
