package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/glmv/glmv"
)

// loadConversation reads `glmv run --messages FILE`: a JSON list of
// messages in the shape transformers' apply_chat_template takes, passed to
// the chat template unchanged. An empty path is no conversation (nil).
func loadConversation(path string) ([]glmv.Message, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readInput(path)
	if err != nil {
		return nil, fmt.Errorf("--messages: %w", err)
	}
	msgs, err := glmv.MessagesFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("--messages %s: %w", path, err)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("--messages %s: the conversation is empty", path)
	}
	return msgs, nil
}

// runConversation answers a conversation given with --messages, the prompt
// (when there is one) added as a last user turn with the attachments.
func runConversation(ctx context.Context, m *glmv.Model, f *runFlags, out *printer, msgs []glmv.Message, text string, attach []glmv.Part, stderr io.Writer) error {
	switch {
	case text != "":
		msgs = append(msgs, glmv.User(append(attach, glmv.Text(text))...))
	case len(attach) > 0:
		return errors.New("--image and --video attach to the prompt: give one, or put the media in the --messages file")
	}
	return answerOnce(ctx, m, f, out, msgs, stderr)
}
