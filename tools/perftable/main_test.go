package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for glmv: with
// PERFTABLE_FAKE_GLMV set it answers `bench --json ARGS` with a result
// built from ARGS and GLMV_KERNELS, so run can be tested without
// measuring anything.
func TestMain(m *testing.M) {
	if os.Getenv("PERFTABLE_FAKE_GLMV") != "" {
		os.Exit(fakeBench(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeBench(args []string) int {
	if len(args) < 2 || args[0] != "bench" || args[1] != "--json" {
		fmt.Fprintln(os.Stderr, "fake glmv: want bench --json, got", args)
		return 2
	}
	b := bench{Shape: "glm4.1v", KernelSet: "avx512", KernelSets: []string{"go", "avx2", "avx512"},
		CPUModel: "Fake CPU 9000", CPUFeatures: []string{"avx2", "avx512f"}, Precision: "auto",
		PrecisionInEffect: "f32", PrefillTokS: 10, DecodeTokS: 2, DecodeGBs: 20, StreamReadGBs: 25, DecodeFraction: 0.8,
		WeightProbeFrac: 0.97,
		VisionDepth:     24}
	if set := os.Getenv("GLMV_KERNELS"); set != "" {
		b.KernelSet = set
	}
	for i := 2; i+1 < len(args); i += 2 {
		v := args[i+1]
		switch args[i] {
		case "--shape":
			b.Shape = v
		case "--layers":
			fmt.Sscan(v, &b.Layers)
		case "--weights":
			b.Weights = v
		case "--threads":
			fmt.Sscan(v, &b.Threads)
		case "--prompt":
			fmt.Sscan(v, &b.PromptTokens)
		case "--precision":
			b.Precision = v
		case "--vision-depth":
			fmt.Sscan(v, &b.VisionDepth)
		}
	}
	if b.VisionDepth > 0 {
		b.VisionMs, b.VisionGFLOPs, b.VisionPatches = 12345, 600, 3996
	}
	if b.Weights == "f16" {
		fmt.Fprintln(os.Stderr, "fake glmv: f16 refused, to test a failing row")
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(b)
	return 0
}

func fakeRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PERFTABLE_FAKE_GLMV", "1")
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"-glmv", exe}, args...), &out, &errOut)
	return out.String(), err
}

func TestRunRowsAndLowerSets(t *testing.T) {
	dir := t.TempDir()
	out, err := fakeRun(t, "-out", dir, "-rows", "q8_40,vis_bf16,avx2_q8_40")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Fake CPU 9000 (avx2, avx512f)",
		"| GLM-4.1V, 40 layers, Q8_0, avx512, 2 | 10.0 tok/s (0 tokens) | 2.00 tok/s | 20.0 (0.80 of 25.0) | 0.97 |",
		"| GLM-4.1V, 40 layers, Q8_0, avx2, 2 |",
		"| bf16, `auto`, avx512 | 12.3 s | 600 | 3996 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The lower-set row not asked for (avx2_vis_bf16) is not run.
	if strings.Contains(out, "| bf16, `auto`, avx2") {
		t.Errorf("avx2_vis_bf16 ran without being asked for:\n%s", out)
	}
	// The saved results print the same tables.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"-from", dir}, &again, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if again.String() != out {
		t.Errorf("-from prints\n%s\nwhile the run printed\n%s", again.String(), out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 3 {
		t.Errorf("saved %d results, want 3: %v", len(files), files)
	}
}

func TestRunFailingRow(t *testing.T) {
	_, err := fakeRun(t, "-out", t.TempDir(), "-rows", "vis_f16")
	if err == nil || !strings.Contains(err.Error(), "row vis_f16") || !strings.Contains(err.Error(), ".log") {
		t.Fatalf("a failing row gave %v, want an error naming the row and its log", err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-rows", "nope"},
		{"-threads", "0"},
		{"extra"},
		{"-from", t.TempDir()},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.json"), []byte(`{"other": 1}`), 0o644)
	if err := run(context.Background(), []string{"-from", bad}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("-from a folder of foreign JSON: no error")
	}
}

func TestRenderRecordedZen5(t *testing.T) {
	results, err := loadResults("testdata/zen5")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(results))
	for i, r := range results {
		names[i] = r.Name
	}
	// baseRows order first, then the lower-set rows.
	want := []string{"q8_40", "q8_40_t1", "moe_q4", "vis_bf16", "vis_bf16_f32", "avx2_q8_40"}
	if !slices.Equal(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
	var out bytes.Buffer
	if err := render(&out, results); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| GLM-4.1V, 40 layers, Q8_0, avx512, 2 | 61.8 tok/s (512 tokens) | 4.90 tok/s | 44.3 (0.87 of 50.9) | – | 14.3 GB |",
		"| GLM-4.5V, 4 layers, Q4_0, avx512, 2 | 325.1 tok/s (512 tokens) | 32.48 tok/s | 33.1 (0.76 of 43.8) | – | 8.4 GB |",
		"| bf16, `f32`, avx512 | 26.0 s | 316 | 3996 |",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("missing row %q in\n%s", line, out.String())
		}
	}
}

func TestListNamesEveryRow(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-list"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range baseRows(2) {
		if !strings.Contains(out.String(), r.Name+" ") {
			t.Errorf("-list lacks %s", r.Name)
		}
	}
}
