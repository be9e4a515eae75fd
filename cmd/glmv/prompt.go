package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/glmv/glmv/chat"
)

func promptCommand() command {
	return command{name: "prompt", summary: "print the prompt a checkpoint's chat template renders for a conversation", run: runPrompt}
}

func runPrompt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prompt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir string
	fs.StringVar(&dir, "m", "", "checkpoint folder holding chat_template.jinja or tokenizer_config.json, or a GGUF model file (required)")
	fs.StringVar(&dir, "model", "", "same as -m")
	messagesPath := fs.String("messages", "", "JSON file: a list of messages, or an object with messages, tools,\nadd_generation_prompt and enable_thinking (required; - reads stdin)")
	toolsPath := fs.String("tools", "", "JSON file with a list of tool definitions (overrides tools in --messages)")
	noThink := fs.Bool("no-think", false, "set enable_thinking to false (left undefined otherwise)")
	noGen := fs.Bool("no-generation-prompt", false, "do not end the prompt with the assistant's turn opener")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv prompt -m DIR --messages FILE.json [--tools FILE.json] [--no-think]")
		fmt.Fprintln(stderr, "\nPrints exactly the prompt the chat template renders (no newline is added).\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dir == "" || *messagesPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("need -m DIR and --messages FILE.json, and no other arguments")
	}
	tmpl, isGGUF, err := ggufTemplate(dir)
	if !isGGUF {
		tmpl, err = chat.LoadTemplate(dir)
	}
	if err != nil {
		return err
	}
	data, err := readInput(*messagesPath)
	if err != nil {
		return err
	}
	c := chat.Context{AddGenerationPrompt: true}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		// A whole context; add_generation_prompt stays true when absent.
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("%s: %w", *messagesPath, err)
		}
	} else if err := json.Unmarshal(data, &c.Messages); err != nil {
		return fmt.Errorf("%s: want a list of messages or a context object: %w", *messagesPath, err)
	}
	if *toolsPath != "" {
		data, err := readInput(*toolsPath)
		if err != nil {
			return err
		}
		c.Tools = nil
		if err := json.Unmarshal(data, &c.Tools); err != nil {
			return fmt.Errorf("%s: want a list of tool definitions: %w", *toolsPath, err)
		}
	}
	if *noThink {
		off := false
		c.EnableThinking = &off
	}
	if *noGen {
		c.AddGenerationPrompt = false
	}
	out, err := tmpl.Render(c)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return data, nil
}
