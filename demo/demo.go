// Package demo bundles a tiny random-weight GLM-4.5V-architecture
// checkpoint (the reference test model moe_a, 4 text layers, vocabulary of
// 300), a tokenizer and chat template for its toy vocabulary, a test
// image, and the reference implementation's output for that image, so
// `glmv demo` can run and check the whole pipeline with nothing
// downloaded.
package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed testmodel img_landscape.png
var files embed.FS

// ImageName is the bundled image's file name.
const ImageName = "img_landscape.png"

// Question and SystemPrompt are the conversation of the reference case.
const (
	SystemPrompt = "You are a tiny test model."
	Question     = "What is in the image?"
)

// ExpectedPromptTokens is the length of the reference case's expanded
// prompt, and ExpectedTokens the 12 greedy tokens the reference
// implementation (transformers 5.2.0) generated for it with eos disabled.
var (
	ExpectedPromptTokens = 95
	ExpectedTokens       = []int{63, 298, 45, 63, 259, 278, 63, 298, 16, 8, 23, 139}
	ExpectedGrid         = [3]int{1, 10, 14}
)

// Extract writes the bundled checkpoint and image into dir and returns the
// checkpoint folder and the image path.
func Extract(dir string) (modelDir, imagePath string, err error) {
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return "", "", fmt.Errorf("demo: extract: %w", err)
	}
	return filepath.Join(dir, "testmodel"), filepath.Join(dir, ImageName), nil
}
