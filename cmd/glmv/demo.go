package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/demo"
)

func demoCommand() command {
	return command{name: "demo", summary: "run the whole pipeline on a tiny bundled model and check it against the reference", run: runDemo}
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keep := fs.String("keep", "", "extract the bundled checkpoint and image into this folder and keep them (default: a temporary folder)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv demo [--keep DIR]\n\nRuns image → preprocessing → chat template → tokens → vision tower →\ndecoder → greedy decoding on a tiny random-weight GLM-4.5V-architecture\ncheckpoint bundled in the binary, shows each stage with its timing, and\nchecks the generated tokens against the reference implementation's.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "glmv-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	say("glmv demo — the whole pipeline on a tiny bundled checkpoint")
	say("")
	say("The checkpoint is the reference test model moe_a: GLM-4.5V's architecture (MoE text")
	say("model with shared experts, ViT vision tower, 3-D M-RoPE) shrunk to 4 layers, hidden size")
	say("64 and a 300-token toy vocabulary, with RANDOM weights. Its answer is therefore")
	say("gibberish; what the demo proves is that glmv computes exactly what the Hugging Face")
	say("reference implementation (transformers 5.2.0) computes for the same inputs.")
	say("")

	t0 := time.Now()
	modelDir, image, err := demo.Extract(dir)
	if err != nil {
		return err
	}
	m, err := glmv.Load(modelDir, glmv.Options{Progress: newProgressBar(stderr).update})
	if err != nil {
		return err
	}
	defer m.Close()
	p := m.Config.Params()
	say("1. load        %6.1f ms  %s: %d text layers, %d experts (top %d), %d vision blocks, %d parameters",
		ms(time.Since(t0)), m.Config.ModelType, m.Config.Text.Layers, m.Config.Text.MoE.Experts, m.Config.Text.MoE.TopK, m.Config.Vision.Depth, p.Total)

	off := false
	req := glmv.Request{
		Messages:  []glmv.Message{glmv.System(demo.SystemPrompt), glmv.User(glmv.ImageFile(image), glmv.Text(demo.Question))},
		Thinking:  &off,
		MaxTokens: len(demo.ExpectedTokens),
	}
	pp, err := m.Prepare(ctx, &req)
	if err != nil {
		return err
	}
	say("2. preprocess  %6.1f ms  %s %d×%d → patch grid %v → %d image tokens; prompt rendered by the",
		ms(pp.Preprocess), demo.ImageName, pp.ImageWidth, pp.ImageHeight, pp.Images[0].Grid, pp.Images[0].Grid[1]*pp.Images[0].Grid[2]/4)
	say("                          chat template and tokenized: %d tokens (reference: %d)", len(pp.IDs), demo.ExpectedPromptTokens)
	say("   prompt: %q", pp.Text)

	var usage *glmv.Usage
	var answer string
	for ev, err := range m.Generate(ctx, req) {
		if err != nil {
			return err
		}
		switch ev.Kind {
		case glmv.EventDone:
			usage = ev.Usage
		case glmv.EventThinking, glmv.EventAnswer, glmv.EventRaw:
			answer += ev.Text
		case glmv.EventBox:
			answer += "[box " + ev.Text + "]"
		}
	}
	say("3. vision      %6.1f ms  ViT blocks + merger → %d embeddings scattered into the prompt", ms(usage.Vision), usage.VisionTokens)
	say("4. prefill     %6.1f ms  %d tokens through the decoder with 3-D rope positions", ms(usage.Prefill), usage.PromptTokens)
	say("5. decode      %6.1f ms  %d tokens, greedy, KV cache (%.0f tok/s)", ms(usage.Decode), usage.CompletionTokens, usage.DecodeTokensPerSecond())
	say("   text:      %q", answer)
	say("   tokens:    %v", usage.Tokens)
	say("   reference: %v", demo.ExpectedTokens)
	say("")
	ok := slices.Equal(usage.Tokens, demo.ExpectedTokens) && len(pp.IDs) == demo.ExpectedPromptTokens && pp.Images[0].Grid == demo.ExpectedGrid
	if !ok {
		say("FAIL: glmv's output differs from the reference implementation's.")
		return fmt.Errorf("demo check failed")
	}
	say("PASS: same image grid, same %d prompt tokens and the same %d generated tokens as the", len(pp.IDs), len(usage.Tokens))
	say("reference implementation, starting from the PNG file and the chat messages.")
	say("Next: `glmv run -m <checkpoint> --image photo.jpg \"Describe this image\"` with a real model.")
	return nil
}
