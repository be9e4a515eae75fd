package glmv

import (
	"context"
	"slices"
	"testing"

	"github.com/glmv/glmv/demo"
)

// A chat's second turn reuses what the first computed up to the first
// token where the prompts differ (the template re-renders the assistant
// turn, dropping its thinking), reuses the image without the vision
// tower, and answers exactly as a model without caches does.
func TestChatTurnReuse(t *testing.T) {
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	warm, err := Load(dir, Options{KVType: "f32"})
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	cold, err := Load(dir, Options{KVType: "f32", CacheMiB: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	ctx := context.Background()
	turn1 := Request{Messages: []Message{System(demo.SystemPrompt), User(ImageFile(img), Text(demo.Question))}, MaxTokens: 12}
	answer, u1, err := collect(t, warm, ctx, turn1)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := warm.Prepare(ctx, &turn1)
	if err != nil {
		t.Fatal(err)
	}
	turn2 := turn1
	turn2.Messages = append(slices.Clone(turn1.Messages), Assistant(answer), User(Text("And the colours?")))
	p2, err := warm.Prepare(ctx, &turn2)
	if err != nil {
		t.Fatal(err)
	}
	// The first turn's sequence holds its prompt and every generated
	// token but the last (never fed back).
	held := append(slices.Clone(p1.IDs), u1.Tokens...)
	if u1.FinishReason == "length" {
		held = held[:len(held)-1]
	}
	want := 0
	for want < len(held) && want < len(p2.IDs)-1 && held[want] == p2.IDs[want] {
		want++
	}
	_, u2, err := collect(t, warm, ctx, turn2)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := collect(t, cold, ctx, turn2)
	if err != nil {
		t.Fatal(err)
	}
	if u2.CachedTokens != want || want <= len(p1.IDs)/2 {
		t.Errorf("turn 2 reused %d tokens, want %d (turn 1 prompt %d, turn 2 prompt %d)", u2.CachedTokens, want, len(p1.IDs), len(p2.IDs))
	}
	if u2.Vision != 0 {
		t.Errorf("turn 2 ran the vision tower for %v", u2.Vision)
	}
	if !slices.Equal(u2.Tokens, ref.Tokens) {
		t.Errorf("turn 2 tokens %v, without caches %v", u2.Tokens, ref.Tokens)
	}
	if s := warm.Stats(); s.PrefixHits < 1 || s.CachedSequences < 1 {
		t.Errorf("stats %+v", s)
	}
}
