// Package clients tests the server with the official OpenAI client
// libraries (Go openai-go/v3 and, when node and the npm package are
// present, npm "openai"). It lives apart from package server so that the
// server's own test and fuzz binaries do not build the large client.
package clients

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/demo"
	"github.com/glmv/glmv/server"
)

// loadDemo loads the bundled tiny model and returns it with the demo image
// as a data: URL.
func loadDemo(t *testing.T) (*glmv.Model, string) {
	t.Helper()
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := glmv.Load(dir, glmv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return m, "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

// serveWith starts s on loopback.
func serveWith(t *testing.T, s *server.Server) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}
