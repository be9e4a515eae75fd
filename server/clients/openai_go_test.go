package clients

import (
	"context"
	"errors"
	"github.com/glmv/glmv/server"
	"net/http"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// The official Go client (openai-go/v3) against the server on loopback
// with the bundled tiny model.
func TestOpenAIGoClient(t *testing.T) {
	m, img := loadDemo(t)
	s := server.NewServer(server.Options{APIKey: "test-key"})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("test-key"), option.WithMaxRetries(0))
	ctx := context.Background()
	noThinking := option.WithJSONSet("chat_template_kwargs", map[string]any{"enable_thinking": false})
	demoMessages := []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage(demo.SystemPrompt),
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: img}),
			openai.TextContentPart(demo.Question),
		}),
	}
	params := openai.ChatCompletionNewParams{Model: "tiny", Messages: demoMessages, MaxTokens: openai.Int(12)}

	t.Run("image", func(t *testing.T) {
		var resp *http.Response
		c, err := client.Chat.Completions.New(ctx, params, noThinking, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Choices[0].Message.Content, "_<|unused_298|>M_") || c.Usage.PromptTokens != 95 ||
			c.Usage.CompletionTokens != 12 || c.Choices[0].FinishReason != "length" {
			t.Errorf("completion %s", c.RawJSON())
		}
		if resp.Header.Get(server.SeedHeader) == "" {
			t.Error("no seed header")
		}
	})

	t.Run("plain", func(t *testing.T) {
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", MaxTokens: openai.Int(4),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Object != "chat.completion" || c.Choices[0].Message.Role != "assistant" || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
			t.Errorf("completion %s", c.RawJSON())
		}
	})

	t.Run("stream with usage", func(t *testing.T) {
		p := params
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, p, noThinking)
		var acc openai.ChatCompletionAccumulator
		chunks := 0
		for stream.Next() {
			acc.AddChunk(stream.Current())
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if chunks < 4 || !strings.HasPrefix(acc.Choices[0].Message.Content, "_<|unused_298|>M_") || acc.Usage.CompletionTokens != 12 {
			t.Errorf("%d chunks, accumulated %+v", chunks, acc.ChatCompletion)
		}
	})

	t.Run("logprobs", func(t *testing.T) {
		p := params
		p.Logprobs, p.TopLogprobs = openai.Bool(true), openai.Int(3)
		c, err := client.Chat.Completions.New(ctx, p, noThinking)
		if err != nil {
			t.Fatal(err)
		}
		lp := c.Choices[0].Logprobs.Content
		if len(lp) != 12 || len(lp[0].TopLogprobs) != 3 || lp[0].Logprob > 0 || lp[1].Token != "<|unused_298|>" {
			t.Errorf("logprobs %s", c.Choices[0].Logprobs.RawJSON())
		}
	})

	t.Run("tools", func(t *testing.T) {
		tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
			Description: openai.String("Weather of a city"),
			Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})
		call := openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
			ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", MaxTokens: openai.Int(4),
			Tools: []openai.ChatCompletionToolUnionParam{tool},
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("Weather in Paris?"),
				{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{call}}},
				openai.ToolMessage(`{"temp":21}`, "call_1"),
			}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Usage.CompletionTokens == 0 && c.Choices[0].FinishReason != "stop" {
			t.Errorf("tool round trip %s", c.RawJSON())
		}
	})

	t.Run("models and completions", func(t *testing.T) {
		md, err := client.Models.Get(ctx, "tiny")
		if err != nil || md.ID != "tiny" {
			t.Errorf("model %v %v", md, err)
		}
		page, err := client.Models.List(ctx)
		if err != nil || len(page.Data) != 1 {
			t.Errorf("models %v %v", page, err)
		}
		c, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: "tiny",
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("hello")}, MaxTokens: openai.Int(3),
			LogitBias: map[string]int64{"256": -100, "263": -100, "265": -100}})
		if err != nil || c.Usage.CompletionTokens != 3 || c.Choices[0].Text == "" {
			t.Errorf("completion %v %v", c, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		var apiErr *openai.Error
		_, err := client.Models.Get(ctx, "gpt-4o")
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Param != "model" {
			t.Errorf("unknown model: %v", err)
		}
		p := params
		p.MaxTokens = openai.Int(0)
		_, err = client.Chat.Completions.New(ctx, p)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "max_tokens" {
			t.Errorf("max_tokens 0: %v", err)
		}
		p = params
		p.PresencePenalty = openai.Float(5)
		_, err = client.Chat.Completions.New(ctx, p)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "presence_penalty" {
			t.Errorf("presence_penalty 5: %v", err)
		}
		bad := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
		_, err = bad.Chat.Completions.New(ctx, params)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Errorf("wrong key: %v", err)
		}
	})
}
