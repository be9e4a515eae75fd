//go:build unix

// Command realsize measures glmv on a real-size checkpoint: it writes a
// GLM-4.1V-9B-shaped checkpoint the way the Hugging Face Hub lays it out
// (sharded bf16 safetensors with an index, about 20.6 GB of random weights,
// the tiny demo tokenizer), then runs glmv on it, each measurement in a
// process of its own, and reports wall time and peak resident memory:
//
//  1. load + first token with the weights as stored (memory-mapped);
//  2. load + first token with --weights q4 (each matrix converted, then its
//     file pages released, so peak memory stays near the Q4_0 size);
//  3. glmv quantize to Q4_K_M (when this glmv has the command);
//  4. start-up + first token from that GGUF, twice (the second with a warm
//     page cache).
//
// It needs about 32 GB of free disk and is not part of the test suite:
//
//	go run ./tools/realsize -dir /var/tmp/glmv-realsize
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glmv/glmv/demo"
	"github.com/glmv/glmv/internal/half"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/safetensors"
)

func main() {
	dir := flag.String("dir", "realsize-work", "work folder (checkpoint, GGUF, binary)")
	shardGiB := flag.Float64("shard-gib", 5, "largest shard size in GiB")
	layers := flag.Int("layers", 0, "text layers (0: the real 40)")
	reuse := flag.Bool("reuse", false, "reuse a checkpoint already written to the work folder")
	flag.Parse()
	if err := run(*dir, *shardGiB, *layers, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "realsize:", err)
		os.Exit(1)
	}
}

func run(dir string, shardGiB float64, layers int, reuse bool) error {
	ckpt := filepath.Join(dir, "GLM-4.1V-9B-random")
	bin := filepath.Join(dir, "glmv")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Println("building glmv…")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/glmv").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	if !reuse {
		start := time.Now()
		size, err := writeCheckpoint(ckpt, int64(shardGiB*(1<<30)), layers)
		if err != nil {
			return err
		}
		fmt.Printf("wrote %s: %.2f GB in %.0f s\n", ckpt, float64(size)/1e9, time.Since(start).Seconds())
	}
	prompt := []string{"--no-think", "--max-tokens", "1", "Describe the picture."}
	measure("load + first token, as stored (mmap)", bin, append([]string{"run", "-m", ckpt}, prompt...)...)
	measure("load + first token, --weights q4", bin, append([]string{"run", "-m", ckpt, "--weights", "q4"}, prompt...)...)
	gguf := filepath.Join(dir, "GLM-4.1V-9B-random-Q4_K_M.gguf")
	if measure("glmv quantize --to q4_k_m", bin, "quantize", "-m", ckpt, "--to", "q4_k_m", "-o", gguf) {
		for _, pass := range []string{"cold-ish", "warm"} {
			measure("start-up + first token from the GGUF ("+pass+" page cache)", bin, append([]string{"run", "-m", gguf}, prompt...)...)
		}
	}
	return nil
}

// measure runs bin with args, prints its wall time and peak resident
// memory, and reports whether it succeeded.
func measure(what, bin string, args ...string) bool {
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss << 10
		}
	}
	if err != nil {
		fmt.Printf("%-58s failed: %v\n%s\n", what, err, lastLines(stderr.String(), 5))
		return false
	}
	fmt.Printf("%-58s %7.1f s   peak RSS %6.2f GiB\n", what, wall.Seconds(), float64(rss)/(1<<30))
	if s := lastLines(stderr.String(), 1); s != "" {
		fmt.Printf("    %s\n", s)
	}
	return true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeCheckpoint writes the checkpoint folder and returns the bytes of
// weights written.
func writeCheckpoint(dir string, shardBytes int64, layers int) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	// Tokenizer, chat template, generation and preprocessor configs: the
	// demo checkpoint's (a 300-token toy vocabulary; the prompt's ids stay
	// far below the real vocabulary size).
	tmp, err := os.MkdirTemp("", "realsize-demo")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	demoDir, _, err := demo.Extract(tmp)
	if err != nil {
		return 0, err
	}
	files, _ := os.ReadDir(demoDir)
	for _, f := range files {
		if f.Name() == "config.json" || strings.HasSuffix(f.Name(), ".safetensors") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(demoDir, f.Name()))
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o644); err != nil {
			return 0, err
		}
	}
	cfg, err := model.Preset("glm4.1v", layers)
	if err != nil {
		return 0, err
	}
	if err := writeConfig(filepath.Join(dir, "config.json"), cfg); err != nil {
		return 0, err
	}
	// Shards in binding order, each up to shardBytes, as the Hub splits
	// them.
	var shards [][]safetensors.Entry
	var cur []safetensors.Entry
	var curBytes, total int64
	for _, t := range model.ExpectedTensors(cfg) {
		e := safetensors.Entry{Name: t.Name, DType: safetensors.BF16, Shape: t.Shape}
		if len(cur) > 0 && curBytes+e.Size() > shardBytes {
			shards = append(shards, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, e)
		curBytes += e.Size()
		total += e.Size()
	}
	shards = append(shards, cur)
	index := map[string]any{"metadata": map[string]any{"total_size": total}}
	weightMap := map[string]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	var written int64
	lastPct := -1
	for i, es := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		bw := bufio.NewWriterSize(f, 8<<20)
		err = safetensors.WriteFunc(bw, es, map[string]string{"format": "pt"}, func(e safetensors.Entry, w io.Writer) error {
			written += e.Size()
			if pct := int(100 * written / total); pct/5 != lastPct/5 {
				fmt.Printf("  %s: %d%%\n", name, pct)
				lastPct = pct
			}
			return randomBF16(w, e, rng)
		})
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		for _, e := range es {
			weightMap[e.Name] = name
		}
	}
	index["weight_map"] = weightMap
	b, _ := json.MarshalIndent(index, "", "  ")
	return total, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), b, 0o644)
}

// randomBF16 writes e's values: norms near 1, everything else uniform with
// variance 1/fan_in, so activations stay in range through 40 layers.
func randomBF16(w io.Writer, e safetensors.Entry, rng *rand.Rand) error {
	n := e.Size() / 2
	fanIn := 1
	if len(e.Shape) > 1 {
		fanIn = e.Shape[len(e.Shape)-1]
	}
	center, spread := float32(0), float32(math.Sqrt(3/float64(fanIn)))
	if strings.Contains(e.Name, "norm") {
		center, spread = 1, 0.05
	}
	buf := make([]byte, 0, 1<<20)
	for i := int64(0); i < n; i++ {
		v := center + spread*(2*rng.Float32()-1)
		h := half.F32ToBF16(v)
		buf = append(buf, byte(h), byte(h>>8))
		if len(buf) == cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// writeConfig writes cfg as a Hugging Face config.json of the glm4v
// family (the fields glmv and transformers read).
func writeConfig(path string, c *model.Config) error {
	t, v := c.Text, c.Vision
	if c.ModelType != model.FamilyDense {
		return errors.New("only the glm4v (dense) shape is written")
	}
	cfg := map[string]any{
		"architectures": []string{"Glm4vForConditionalGeneration"},
		"model_type":    "glm4v",
		// The demo tokenizer's ids for the vision markers.
		"image_token_id": 283, "video_token_id": 284,
		"image_start_token_id": 266, "image_end_token_id": 267,
		"video_start_token_id": 268, "video_end_token_id": 269,
		"tie_word_embeddings": false,
		"text_config": map[string]any{
			"model_type": "glm4v_text", "attention_bias": true, "hidden_act": "silu",
			"hidden_size": t.Hidden, "intermediate_size": t.Intermediate,
			"num_attention_heads": t.Heads, "num_key_value_heads": t.KVHeads, "num_hidden_layers": t.Layers,
			"max_position_embeddings": t.MaxPositions, "rms_norm_eps": t.RMSNormEps, "vocab_size": t.Vocab,
			"eos_token_id": []int{256, 263, 265}, "pad_token_id": 256, "partial_rotary_factor": t.PartialRotary,
			"rope_parameters": map[string]any{"rope_type": "default", "rope_theta": t.RopeTheta,
				"mrope_section": t.MRopeSection, "partial_rotary_factor": t.PartialRotary},
		},
		"vision_config": map[string]any{
			"model_type": "glm4v_vision", "depth": v.Depth, "hidden_size": v.Hidden, "num_heads": v.Heads,
			"intermediate_size": v.Intermediate, "out_hidden_size": v.OutHidden, "patch_size": v.PatchSize,
			"temporal_patch_size": v.TemporalPatch, "spatial_merge_size": v.SpatialMerge, "image_size": v.ImageSize,
			"in_channels": v.InChannels, "rms_norm_eps": v.RMSNormEps, "hidden_act": "silu", "attention_bias": false,
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
