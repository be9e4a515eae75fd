package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glmv/glmv/demo"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve binds, serves the demo model with a request id and JSON logs, and
// shuts down cleanly when its context ends.
func TestServeAndShutdown(t *testing.T) {
	dir, _, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"-m", dir, "--addr", addr, "--name", "tiny", "--log-format", "json", "--api-key", "k"}, io.Discard, &syncWriter{w: &logs})
	}()
	var resp *http.Response
	for range 500 {
		if resp, err = http.Get("http://" + addr + "/health"); err == nil && resp.StatusCode == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health never became ready: %v", err)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("chat: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), `"request_id":`) || !strings.Contains(logs.String(), `"msg":"request"`) {
		t.Errorf("no JSON access log with a request id:\n%s", logs.String())
	}
}

// A taken port fails before the model is loaded.
func TestServePortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = runServe(context.Background(), []string{"-m", "/nonexistent/model", "--addr", ln.Addr().String()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("err = %v, want the bind error", err)
	}
}

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
