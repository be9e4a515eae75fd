package glmv

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzGenerationConfig feeds arbitrary generation_config.json files.
func FuzzGenerationConfig(f *testing.F) {
	f.Add([]byte(`{"do_sample":true,"temperature":0.8,"top_p":0.6,"top_k":2,"eos_token_id":[1,2],"max_new_tokens":100}`))
	f.Add([]byte(`{"eos_token_id":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = loadGenerationConfig(dir, nil)
	})
}
