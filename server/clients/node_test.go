package clients

import (
	"context"
	"github.com/glmv/glmv/server"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The official npm client against the server. It needs node and a
// node_modules folder holding "openai", named by GLMV_NODE_MODULES (.ci/run
// installs one into a throwaway folder); it skips otherwise.
func TestOpenAINodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	modules := os.Getenv("GLMV_NODE_MODULES")
	if modules == "" {
		t.Skip("GLMV_NODE_MODULES does not name a node_modules folder with the openai package")
	}
	m, img := loadDemo(t)
	s := server.NewServer(server.Options{APIKey: "node-key"})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/client.js")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "GLMV_BASE_URL="+ts.URL+"/v1", "GLMV_API_KEY=node-key", "GLMV_IMAGE="+img)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
