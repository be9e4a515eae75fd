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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/model/ggufmodel"
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
	weights := fs.String("weights", "", "convert weights in memory while loading: f32, bf16, f16, q8, q4, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k (default: as stored; FP8 checkpoints: q8)")
	contextLen := fs.Int("context", 0, "cap the context length in tokens (0: the model's)")
	var ef engineFlags
	ef.register(fs)
	apiKey := fs.String("api-key", "", "require \"Authorization: Bearer KEY\" on the API (default: GLMV_API_KEY; empty: no auth)")
	cors := fs.String("cors-origin", "", "comma-separated origins browsers may call the API from, or \"*\" (default: no CORS)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	maxBody := fs.Int64("max-body-bytes", server.MaxBodyBytes, "largest request body accepted")
	maxImages := fs.Int("max-images", server.DefaultMaxImages, "most images in one request")
	maxPixels := fs.Int64("max-pixels", server.DefaultMaxPixels, "most image pixels in one request, summed over its images (read from their headers)")
	maxTokens := fs.Int("max-tokens", 0, "largest max_tokens accepted (0: the context length)")
	maxQueue := fs.Int("max-queue", server.DefaultMaxQueue, "requests that may wait for their turn; more get 429 with Retry-After")
	maxLarge := fs.Int("max-large-requests", server.DefaultLargeRequests, "requests with a body over 8 MiB handled at once; others wait before their body is read")
	timeout := fs.Duration("request-timeout", server.DefaultRequestTimeout, "longest a request may run once its turn comes")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM or Ctrl-C, how long running requests may finish before they are cancelled")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv serve -m MODEL [--addr HOST:PORT] [options]\n\nServes an OpenAI-compatible API: POST /v1/chat/completions and\n/v1/completions (streaming or not; images and videos as base64 data: URLs;\nthinking in reasoning_content; enable_thinking through chat_template_kwargs),\nGET /v1/models[/{id}], POST /tokenize and /detokenize, GET /health\n(\"loading\" until the model is ready) and GET /metrics (Prometheus). The port\nis bound before the model loads. Up to --parallel requests are decoded\ntogether; the others wait in a bounded queue (--max-queue, then 429).\nThe sampling seed used is reported in X-Glmv-Seed.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelName == "" {
		return errors.New("no model: pass -m with a checkpoint folder or a Hugging Face repo id")
	}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, nil))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", *logFormat)
	}
	key := *apiKey
	if key == "" {
		key = os.Getenv("GLMV_API_KEY")
	}
	var origins []string
	for o := range strings.SplitSeq(*cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	// Bind first: a taken port fails at once, and /health answers
	// "loading" while the weights load.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	queue := *maxQueue
	if queue == 0 {
		queue = -1 // no waiting at all (0 in Limits means the default)
	}
	api := server.NewServer(server.Options{Log: log, APIKey: key, CORSOrigins: origins, Limits: server.Limits{
		MaxBodyBytes: *maxBody, MaxImages: *maxImages, MaxPixels: *maxPixels, MaxTokens: *maxTokens,
		MaxQueue: queue, RequestTimeout: *timeout, MaxLargeRequests: *maxLarge,
	}})
	// Requests get a context that ends when the grace period after a
	// shutdown signal runs out.
	reqCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return reqCtx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	shutdown := func() error {
		log.Info("shutting down", "grace", grace.String())
		shut, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		err := srv.Shutdown(shut)
		if errors.Is(err, context.DeadlineExceeded) {
			log.Warn("cancelling requests still running after the grace period")
			cancelRequests()
			err = srv.Close()
		}
		return err
	}
	opts := glmv.Options{Threads: *threads, Weights: *weights, ContextLimit: *contextLen, Logger: log, MMProj: *mmproj,
		Progress: newProgressBar(stderr).update}
	ef.apply(&opts)
	m, err := glmv.Load(*modelName, opts)
	if err != nil {
		srv.Close()
		return err
	}
	defer m.Close()
	if *name == "" {
		*name = filepath.Base(filepath.Clean(m.Dir))
		if ggufmodel.IsGGUF(*modelName) {
			*name = strings.TrimSuffix(filepath.Base(*modelName), ".gguf")
		}
	}
	if ctx.Err() != nil {
		return shutdown()
	}
	api.SetModel(m, *name)
	log.Info("serving", "addr", ln.Addr().String(), "model", *name)
	fmt.Fprintf(stdout, "glmv serving %s on http://%s/v1 (chat page: http://%s/)\n", *name, ln.Addr(), ln.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return shutdown()
	}
}
