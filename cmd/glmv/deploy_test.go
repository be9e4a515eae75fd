package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// TestDeployManifests checks the Kubernetes example in deploy/: every
// document decodes strictly into the API type its kind names (a misspelled
// or misplaced field fails), the probes and scrape annotations name paths
// glmv serve answers, and the container's arguments are glmv serve flags.
func TestDeployManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/ (%v)", err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			name := filepath.Base(f) + "#" + string(rune('0'+i))
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			kinds[meta.Kind]++
			switch meta.Kind {
			case "Deployment":
				var d appsv1.Deployment
				if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkDeployment(t, name, &d)
			case "Service":
				var s corev1.Service
				if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			case "Ingress":
				var in networkingv1.Ingress
				if err := yaml.UnmarshalStrict([]byte(doc), &in); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			default:
				t.Errorf("%s: unexpected kind %q", name, meta.Kind)
			}
		}
	}
	if kinds["Deployment"] != 1 || kinds["Service"] != 1 {
		t.Errorf("want one Deployment and one Service, have %v", kinds)
	}
}

func checkDeployment(t *testing.T, name string, d *appsv1.Deployment) {
	t.Helper()
	sel := d.Spec.Selector.MatchLabels
	for k, v := range sel {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod labels %v", name, k, v, d.Spec.Template.Labels)
		}
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: scrape annotations %v", name, ann)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container", name)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/health" {
		t.Errorf("%s: readiness probe %+v, want GET /health", name, p)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("%s: container args %v do not run glmv serve", name, c.Args)
	}
	// Every argument must be one of glmv serve's flags: with -h appended,
	// serve prints its usage and exits 0 only if everything before parsed.
	args := append(append([]string{}, c.Args...), "-h")
	if code, _, errs := glmvCLI(t, args...); code != 0 {
		t.Errorf("%s: glmv %s: exit %d: %s", name, strings.Join(c.Args, " "), code, errs)
	}
}
