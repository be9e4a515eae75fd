package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/glmv/glmv/compute"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/hub"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/model/ggufmodel"
	"github.com/glmv/glmv/safetensors"
	"github.com/glmv/glmv/tokenizer"
)

func inspectCommand() command {
	return command{name: "inspect", summary: "describe a checkpoint: family, parameters, dtypes, memory, context, tokens, problems", run: runInspect}
}

// inspectReport is what `glmv inspect --json` prints.
type inspectReport struct {
	Dir             string            `json:"dir"`
	Files           []string          `json:"files,omitempty"`
	ModelType       string            `json:"model_type"`
	Family          string            `json:"family"`
	Params          model.ParamCounts `json:"params"`
	Tensors         int               `json:"tensors"`
	DTypes          map[string]int    `json:"dtypes"`
	WeightBytes     int64             `json:"weight_bytes"`
	ContextLength   int               `json:"context_length"`
	KVBytesPerToken int64             `json:"kv_cache_bytes_per_token"`
	MemoryFullCtx   int64             `json:"memory_bytes_at_full_context"`
	// KVCache gives, per KV cache format (--kv-type), the bytes per token
	// and at full context, and weights plus full-context KV.
	KVCache         []kvMemory     `json:"kv_cache"`
	TextLayers      int            `json:"text_layers"`
	Experts         int            `json:"experts,omitempty"`
	ExpertsPerToken int            `json:"experts_per_token,omitempty"`
	VisionDepth     int            `json:"vision_depth"`
	SpecialTokens   map[string]int `json:"special_tokens,omitempty"`
	EOS             []int          `json:"eos_token_ids"`
	Problems        []string       `json:"problems"`
	KernelSet       string         `json:"kernel_set"`
	CPUModel        string         `json:"cpu_model"`
	CPUFeatures     []string       `json:"cpu_features"`
	// Precision is what the default --precision auto computes in here.
	Precision string `json:"precision_auto"`
}

// kvMemory is the KV cache memory of one format.
type kvMemory struct {
	Type          string `json:"type"`
	Default       bool   `json:"default,omitempty"`
	BytesPerToken int64  `json:"bytes_per_token"`
	FullContext   int64  `json:"bytes_at_full_context"`
	Total         int64  `json:"memory_bytes_at_full_context"`
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("m", "", "checkpoint folder, Hugging Face repo id in the local cache, or GGUF text model file (required)")
	mmproj := fs.String("mmproj", "", "vision projector GGUF of a GGUF model (default: the mmproj*.gguf beside it)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv inspect -m MODEL [--json]\n\nDescribes a checkpoint without running it: family, parameter counts (total\nand active per token), tensor dtypes, memory needed, context length,\nspecial tokens, and anything missing or inconsistent in the folder.\n\nOptions:")
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	if err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("no model: pass -m with a checkpoint folder or a Hugging Face repo id")
	}
	var r *inspectReport
	if ggufmodel.IsGGUF(*name) {
		if r, err = inspectGGUF(*name, *mmproj); err != nil {
			return err
		}
	} else {
		dir, err := hub.Resolve(*name, os.Getenv)
		if err != nil {
			return err
		}
		if r, err = inspect(dir); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
		return problemsError(r.Problems)
	}
	gib := func(b int64) string {
		if b < 1<<30 {
			return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
		}
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	billions := func(n int64) string {
		if n >= 1e9 {
			return fmt.Sprintf("%d (%.2fB)", n, float64(n)/1e9)
		}
		return fmt.Sprintf("%d (%.2fM)", n, float64(n)/1e6)
	}
	fmt.Fprintf(stdout, "folder          %s\n", r.Dir)
	for _, f := range r.Files {
		fmt.Fprintf(stdout, "file            %s\n", f)
	}
	fmt.Fprintf(stdout, "family          %s (%s)\n", r.Family, r.ModelType)
	fmt.Fprintf(stdout, "parameters      %s total: text %s, vision %s\n", billions(r.Params.Total), billions(r.Params.Text), billions(r.Params.Vision))
	fmt.Fprintf(stdout, "active/token    %s (text, without the embedding table)\n", billions(r.Params.Active))
	layers := fmt.Sprintf("%d text layers", r.TextLayers)
	if r.Experts > 0 {
		layers += fmt.Sprintf(", %d experts (top %d)", r.Experts, r.ExpertsPerToken)
	}
	fmt.Fprintf(stdout, "structure       %s, %d vision blocks\n", layers, r.VisionDepth)
	var dts []string
	for k, v := range r.DTypes {
		dts = append(dts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(dts)
	fmt.Fprintf(stdout, "tensors         %d (%s), %s on disk\n", r.Tensors, strings.Join(dts, ", "), gib(r.WeightBytes))
	fmt.Fprintf(stdout, "context         %d tokens\n", r.ContextLength)
	for _, kv := range r.KVCache {
		name := "kv " + kv.Type
		if kv.Default {
			name += "*"
		}
		fmt.Fprintf(stdout, "memory %-8s %s weights (memory-mapped) + %s KV cache at full context (%d bytes/token) = %s\n",
			name, gib(r.WeightBytes), gib(kv.FullContext), kv.BytesPerToken, gib(kv.Total))
	}
	fmt.Fprintln(stdout, "                (* the default --kv-type)")
	if len(r.SpecialTokens) > 0 {
		var st []string
		for k, v := range r.SpecialTokens {
			st = append(st, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(st)
		fmt.Fprintf(stdout, "special tokens  %s\n", strings.Join(st, " "))
	}
	fmt.Fprintf(stdout, "stop tokens     %v\n", r.EOS)
	fmt.Fprintf(stdout, "kernels         %s on this CPU (%s: %s)\n", r.KernelSet, cmp.Or(r.CPUModel, "model unknown"), strings.Join(r.CPUFeatures, " "))
	fmt.Fprintf(stdout, "precision       auto: %s\n", r.Precision)
	if len(r.Problems) == 0 {
		fmt.Fprintln(stdout, "problems        none found")
	} else {
		fmt.Fprintln(stdout, "problems:")
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  - %s\n", strings.ReplaceAll(p, "\n", "\n    "))
		}
	}
	return problemsError(r.Problems)
}

// problemsError makes inspect exit non-zero when it found problems, so a
// script can tell a usable checkpoint from a broken one.
func problemsError(problems []string) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return errors.New("found 1 problem (listed above)")
	}
	return fmt.Errorf("found %d problems (listed above)", len(problems))
}

// inspect gathers the report; only an unreadable config is an error, all
// else becomes a listed problem.
func inspect(dir string) (*inspectReport, error) {
	cfg, err := model.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	r := newReport(dir, cfg)
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		for _, f := range set.Files {
			if st, err := os.Stat(f.Path); err == nil {
				r.WeightBytes += st.Size()
			}
			for _, t := range f.Header.Tensors {
				r.DTypes[string(t.DType)]++
				r.Tensors++
			}
		}
		if _, err := model.BindWeights(cfg, &model.SafetensorsSource{Set: set}); err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
		set.Close()
	}
	fillMemory(r, cfg)
	for _, f := range []struct{ name, why string }{
		{"tokenizer.json", "glmv cannot tokenize prompts"},
		{"generation_config.json", "sampling falls back to greedy"},
		{"preprocessor_config.json", "images use the GLM-4.5V default preprocessing"},
	} {
		if _, err := os.Stat(filepath.Join(dir, f.name)); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s is missing: %s", f.name, f.why))
		}
	}
	if _, err := chat.LoadTemplate(dir); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("chat template: %v", err))
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		// Reported above.
	} else if tok, err := tokenizer.LoadDir(dir); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		checkTokens(r, cfg, tok)
	}
	return r, nil
}

// checkTokens records the special tokens and any disagreement with cfg.
func checkTokens(r *inspectReport, cfg *model.Config, tok *tokenizer.Tokenizer) {
	r.SpecialTokens = map[string]int{}
	for _, s := range []struct {
		text string
		want int
	}{{"<|image|>", cfg.ImageTokenID}, {"<|video|>", cfg.VideoTokenID}, {"<|begin_of_image|>", cfg.ImageStartID},
		{"<|end_of_image|>", cfg.ImageEndID}, {"<|begin_of_video|>", cfg.VideoStartID}, {"<|end_of_video|>", cfg.VideoEndID},
		{"<think>", -1}, {"</think>", -1}, {"<|begin_of_box|>", -1}, {"<|end_of_box|>", -1}, {"<|user|>", -1}, {"<|assistant|>", -1}} {
		id, ok := tok.TokenID(s.text)
		if !ok {
			r.Problems = append(r.Problems, fmt.Sprintf("tokenizer has no %s token", s.text))
			continue
		}
		r.SpecialTokens[s.text] = id
		if s.want >= 0 && id != s.want {
			r.Problems = append(r.Problems, fmt.Sprintf("tokenizer maps %s to %d but the config says %d", s.text, id, s.want))
		}
	}
	if tok.VocabSize() > cfg.Text.Vocab {
		r.Problems = append(r.Problems, fmt.Sprintf("tokenizer has %d tokens but the model's vocabulary is %d", tok.VocabSize(), cfg.Text.Vocab))
	}
}

// inspectGGUF describes a GGUF text model and its vision projector.
func inspectGGUF(path, mmproj string) (*inspectReport, error) {
	pair, err := ggufmodel.Open(path, mmproj)
	if err != nil {
		return nil, err
	}
	defer pair.Close()
	cfg := pair.Config
	r := newReport(path, cfg)
	r.Files = []string{pair.Text.Path, pair.Vision.Path}
	for _, f := range []*gguf.File{pair.Text, pair.Vision} {
		if st, err := os.Stat(f.Path); err == nil {
			r.WeightBytes += st.Size()
		}
		for _, t := range f.Tensors {
			r.DTypes[t.Type.String()]++
			r.Tensors++
		}
	}
	fillMemory(r, cfg)
	src, err := ggufmodel.NewSource(pair.Text, pair.Vision)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else if _, err := model.BindWeights(cfg, src); err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	if tok, err := tokenizer.FromGGUF(pair.Text.Header); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		checkTokens(r, cfg, tok)
	}
	if _, ok, err := ggufTemplate(path); ok && err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	return r, nil
}

func familyName(cfg *model.Config) string {
	if cfg.Text.MoE != nil {
		return "GLM-4.5V / GLM-4.6V (mixture-of-experts text model)"
	}
	return "GLM-4.1V (dense text model)"
}

// newReport fills the fields that come from the configuration alone.
func newReport(path string, cfg *model.Config) *inspectReport {
	r := &inspectReport{Dir: path, ModelType: cfg.ModelType, Params: cfg.Params(), DTypes: map[string]int{},
		ContextLength: cfg.Text.MaxPositions, KVBytesPerToken: cfg.Text.KVBytesPerToken(),
		TextLayers: cfg.Text.Layers, VisionDepth: cfg.Vision.Depth, EOS: cfg.Text.EOS, Problems: []string{},
		KernelSet: compute.KernelName(), CPUModel: compute.CPUModel(), CPUFeatures: compute.CPUFeatures(), Family: familyName(cfg),
		Precision: compute.PrecisionNote(compute.PrecisionAuto)}
	if cfg.Text.MoE != nil {
		r.Experts, r.ExpertsPerToken = cfg.Text.MoE.Experts, cfg.Text.MoE.TopK
	}
	return r
}

// fillMemory adds the memory needed at full context, per KV cache type,
// once WeightBytes is known.
func fillMemory(r *inspectReport, cfg *model.Config) {
	r.MemoryFullCtx = r.WeightBytes + r.KVBytesPerToken*int64(r.ContextLength)
	for _, name := range model.KVTypes {
		dt, _ := model.ParseKVType(name)
		per := model.KVBytesPerToken(&cfg.Text, dt)
		full := per * int64(cfg.Text.MaxPositions)
		r.KVCache = append(r.KVCache, kvMemory{Type: name, Default: name == model.KVTypes[0], BytesPerToken: per, FullContext: full, Total: r.WeightBytes + full})
	}
}
