package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/hub"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/model/ggufmodel"
	"github.com/glmv/glmv/safetensors"
	"github.com/glmv/glmv/tokenizer"
)

func quantizeCommand() command {
	return command{name: "quantize", summary: "write a checkpoint (or a GGUF) as a llama.cpp GGUF pair of another type", run: runQuantize}
}

func runQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("m", "", "checkpoint folder, Hugging Face repo id in the local cache, or GGUF text model file (required)")
	mmproj := fs.String("mmproj", "", "vision projector GGUF of a GGUF source (default: the mmproj*.gguf beside it)")
	to := fs.String("to", "", "output type: f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k (required)")
	outPath := fs.String("o", "", "output text model file, e.g. model-Q4_K_M.gguf; the projector goes to mmproj-<name> beside it (required)")
	name := fs.String("name", "", "general.name to record (default: the source's folder or file name)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv quantize -m SRC --to TYPE -o OUT.gguf\n\nWrites the model as llama.cpp lays it out: the text model to OUT.gguf and the\nvision projector to mmproj-OUT.gguf beside it, with the tokenizer and chat\ntemplate in the metadata, converting one tensor at a time. Norms, biases and\nthe MoE router stay F32; the projector is F16 for the quantized types.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" || *to == "" || *outPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("need -m SRC, --to TYPE and -o OUT.gguf")
	}
	mix, err := ggufmodel.ParseMix(*to)
	if err != nil {
		return err
	}
	s, closeSrc, err := quantizeSource(*src, *mmproj)
	if err != nil {
		return err
	}
	defer closeSrc()
	if *name != "" {
		s.Name = *name
	}
	s.Pool = compute.NewPool(0)
	defer s.Pool.Close()
	textPath, visionPath := ggufmodel.Files(*outPath)
	start := time.Now()
	if err := writePair(ctx, s, mix, textPath, visionPath, newProgressBar(stderr).update); err != nil {
		return err
	}
	for _, p := range []string{textPath, visionPath} {
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(stdout, "%s  %.1f MiB\n", p, float64(st.Size())/(1<<20))
		}
	}
	fmt.Fprintf(stderr, "glmv: wrote %s in %.1fs\n", mix.Name, time.Since(start).Seconds())
	return nil
}

// writePair exports to temporary files beside the outputs and renames
// them into place only when both are complete.
func writePair(ctx context.Context, s *ggufmodel.ExportSource, mix ggufmodel.Mix, textPath, visionPath string, progress func(string, int, int)) error {
	var tmps []*os.File
	defer func() {
		for _, f := range tmps {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	for _, p := range []string{textPath, visionPath} {
		f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
		if err != nil {
			return err
		}
		tmps = append(tmps, f)
	}
	err := ggufmodel.Export(ctx, s, mix, tmps[0], tmps[1], func(done, total int, _ string) { progress("quantize", done, total) })
	if err != nil {
		return err
	}
	for i, p := range []string{textPath, visionPath} {
		if err := tmps[i].Close(); err != nil {
			return err
		}
		// CreateTemp makes the file private (0600); a model file is
		// readable like any file the user writes.
		if err := os.Chmod(tmps[i].Name(), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmps[i].Name(), p); err != nil {
			return err
		}
	}
	tmps = nil
	return nil
}

// quantizeSource opens what glmv quantize reads.
func quantizeSource(src, mmproj string) (*ggufmodel.ExportSource, func(), error) {
	if ggufmodel.IsGGUF(src) {
		pair, err := ggufmodel.Open(src, mmproj)
		if err != nil {
			return nil, nil, err
		}
		ws, err := ggufmodel.NewSource(pair.Text, pair.Vision)
		if err != nil {
			pair.Close()
			return nil, nil, err
		}
		s := &ggufmodel.ExportSource{Config: pair.Config, Weights: ws, Name: strings.TrimSuffix(filepath.Base(src), ".gguf")}
		pc := media.DefaultConfig()
		s.ImageMean, s.ImageStd = pc.ImageMean, pc.ImageStd
		if mean, std, ok := ggufmodel.ImageNorm(pair.Vision.Header); ok {
			s.ImageMean, s.ImageStd = mean, std
		}
		if s.Tokenizer, err = tokenizer.FromGGUF(pair.Text.Header); err != nil {
			pair.Close()
			return nil, nil, err
		}
		v, _ := pair.Text.Get(tokenizer.KeyChatTemplate)
		s.Template, _ = v.Str()
		return s, func() { pair.Close() }, nil
	}
	if mmproj != "" {
		return nil, nil, fmt.Errorf("--mmproj goes with a GGUF source, and %s is not one", src)
	}
	dir, err := hub.Resolve(src, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := model.LoadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := chat.LoadTemplate(dir)
	if err != nil {
		return nil, nil, err
	}
	pc := media.DefaultConfig()
	if p := filepath.Join(dir, "preprocessor_config.json"); fileExists(p) {
		if pc, err = media.LoadConfig(p); err != nil {
			return nil, nil, err
		}
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var ws model.WeightSource = &model.SafetensorsSource{Set: set}
	fp8, err := model.LoadFP8Config(dir)
	if err != nil {
		set.Close()
		return nil, nil, err
	}
	if fp8 != nil {
		// FP8 weights are decoded exactly to f32, then quantized.
		ws = &model.FP8Source{SafetensorsSource: &model.SafetensorsSource{Set: set}, Config: *fp8}
	}
	s := &ggufmodel.ExportSource{Config: cfg, Weights: ws, Tokenizer: tok, Template: tmpl.Source,
		ImageMean: pc.ImageMean, ImageStd: pc.ImageStd, Name: filepath.Base(filepath.Clean(dir))}
	return s, func() { set.Close() }, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
