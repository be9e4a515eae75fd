package glmv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glmv/glmv/model"
)

// GenerationConfig holds the defaults of a checkpoint's
// generation_config.json that glmv uses.
type GenerationConfig struct {
	DoSample          bool
	Temperature       float64
	TopK              int
	TopP              float64
	RepetitionPenalty float64
	MaxNewTokens      int
	EOS               []int
}

// loadGenerationConfig reads dir/generation_config.json; a missing file
// gives greedy defaults with the config's eos ids.
func loadGenerationConfig(dir string, eos []int) (GenerationConfig, error) {
	g := GenerationConfig{Temperature: 1, TopP: 1, RepetitionPenalty: 1, EOS: eos}
	path := filepath.Join(dir, "generation_config.json")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return g, nil
	}
	if err != nil {
		return g, fmt.Errorf("generation config: %w", err)
	}
	var raw struct {
		DoSample          *bool           `json:"do_sample"`
		Temperature       *float64        `json:"temperature"`
		TopK              *int            `json:"top_k"`
		TopP              *float64        `json:"top_p"`
		RepetitionPenalty *float64        `json:"repetition_penalty"`
		MaxNewTokens      *int            `json:"max_new_tokens"`
		EOS               json.RawMessage `json:"eos_token_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return g, fmt.Errorf("generation config %s: %w", path, err)
	}
	if raw.DoSample != nil {
		g.DoSample = *raw.DoSample
	}
	if raw.Temperature != nil {
		g.Temperature = *raw.Temperature
	}
	if raw.TopK != nil {
		g.TopK = *raw.TopK
	}
	if raw.TopP != nil {
		g.TopP = *raw.TopP
	}
	if raw.RepetitionPenalty != nil {
		g.RepetitionPenalty = *raw.RepetitionPenalty
	}
	if raw.MaxNewTokens != nil {
		g.MaxNewTokens = *raw.MaxNewTokens
	}
	if eos, err := model.ParseIDList(raw.EOS); err != nil {
		return g, fmt.Errorf("generation config %s: eos_token_id: %w", path, err)
	} else if eos != nil {
		g.EOS = eos
	}
	return g, nil
}
