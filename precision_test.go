package glmv

import (
	"strings"
	"testing"
)

// An unknown Options.Precision is refused before anything is loaded.
func TestLoadRejectsPrecision(t *testing.T) {
	_, err := Load(t.TempDir(), Options{Precision: "fp8"})
	if err == nil || !strings.Contains(err.Error(), "precision") {
		t.Fatalf("Load with precision fp8: %v, want a precision error", err)
	}
}
