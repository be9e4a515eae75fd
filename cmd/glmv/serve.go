package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/server"
)

func serveCommand() command {
	return command{name: "serve", summary: "serve the model over an OpenAI-compatible HTTP API", run: runServe}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelName := fs.String("m", "", "checkpoint folder, Hugging Face repo id in the local cache, or GGUF text model file (required)")
	mmproj := fs.String("mmproj", "", "vision projector GGUF of a GGUF model (default: the mmproj*.gguf beside it)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	name := fs.String("name", "", "model name announced by /v1/models (default: the checkpoint folder's name)")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	weights := fs.String("weights", "", "convert weights in memory: f32, bf16, f16, q8 or q4 (default: as stored)")
	contextLen := fs.Int("context", 0, "cap the context length in tokens (0: the model's)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv serve -m MODEL [--addr HOST:PORT] [options]\n\nServes POST /v1/chat/completions (streaming or not; images as base64\ndata: URLs; thinking in reasoning_content; enable_thinking through\nchat_template_kwargs), GET /v1/models and GET /health. One request runs at\na time; the others wait.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelName == "" {
		return errors.New("no model: pass -m with a checkpoint folder or a Hugging Face repo id")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	m, err := glmv.Load(*modelName, glmv.Options{Threads: *threads, Weights: *weights, ContextLimit: *contextLen, Logger: log, MMProj: *mmproj,
		Progress: newProgressBar(stderr).update})
	if err != nil {
		return err
	}
	defer m.Close()
	if *name == "" {
		*name = filepath.Base(filepath.Clean(m.Dir))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: server.New(m, *name, log).Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving", "addr", ln.Addr().String(), "model", *name)
	fmt.Fprintf(stdout, "glmv serving %s on http://%s/v1\n", *name, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}
