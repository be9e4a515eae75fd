package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestResolve(t *testing.T) {
	home := t.TempDir()
	cache := filepath.Join(home, "hf", "hub")
	repo := filepath.Join(cache, "models--zai-org--GLM-4.5V")
	for _, d := range []string{"snapshots/abc123", "snapshots/def456", "refs"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("def456\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{"HF_HOME": filepath.Join(home, "hf")})

	got, err := Resolve("zai-org/GLM-4.5V", e)
	if err != nil || got != filepath.Join(repo, "snapshots", "def456") {
		t.Errorf("Resolve = %q, %v", got, err)
	}
	got, err = Resolve("zai-org/GLM-4.5V@abc123", e)
	if err != nil || got != filepath.Join(repo, "snapshots", "abc123") {
		t.Errorf("Resolve@rev = %q, %v", got, err)
	}
	if _, err := Resolve("zai-org/GLM-4.5V@nope", e); err == nil || !strings.Contains(err.Error(), "not in the cache") {
		t.Errorf("missing revision: %v", err)
	}
	if _, err := Resolve("zai-org/Other", e); err == nil || !strings.Contains(err.Error(), "hf download zai-org/Other") {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := Resolve("./no/such/dir", e); err == nil || !strings.Contains(err.Error(), "no such folder") {
		t.Errorf("missing folder: %v", err)
	}
	// A plain folder wins over the cache.
	if got, err := Resolve(home, e); err != nil || got != home {
		t.Errorf("folder: %q, %v", got, err)
	}
	// HF_HUB_CACHE takes precedence over HF_HOME.
	if d := CacheDir(env(map[string]string{"HF_HUB_CACHE": "/x", "HF_HOME": "/y"})); d != "/x" {
		t.Errorf("CacheDir = %s", d)
	}
}
