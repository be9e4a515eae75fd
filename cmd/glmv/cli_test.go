package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/demo"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/safetensors"
)

// glmvCLI runs the command line in-process and returns the exit code and
// what it printed.
func glmvCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func demoFiles(t *testing.T) (string, string) {
	t.Helper()
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir, img
}

func TestDemoCommand(t *testing.T) {
	code, out, errs := glmvCLI(t, "demo")
	if code != 0 || !strings.Contains(out, "PASS") || !strings.Contains(out, "RANDOM weights") {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errs)
	}
}

func TestRunWithImage(t *testing.T) {
	dir, img := demoFiles(t)
	code, out, errs := glmvCLI(t, "run", "-m", dir, "--image", img, "--system", demo.SystemPrompt, "--no-think",
		"--max-tokens", "12", demo.Question)
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, errs)
	}
	// Token 45 is "M" and 63 "_" in the toy vocabulary: the reference's
	// tokens 63, 298, 45, 63 start the answer "_<|unused_298|>M_".
	if !strings.HasPrefix(out, "_<|unused_298|>M_") {
		t.Errorf("answer %q does not start like the reference tokens", out)
	}
	if !strings.Contains(errs, "95 prompt tokens (35 vision, 0 reused from the cache), 12 generated, length") || !strings.Contains(errs, "time to first token") {
		t.Errorf("stats line missing: %q", errs)
	}
}

func TestRunJSONEvents(t *testing.T) {
	dir, img := demoFiles(t)
	code, out, errs := glmvCLI(t, "run", "-m", dir, "--image", img, "--system", demo.SystemPrompt, "--no-think",
		"--max-tokens", "12", "--json", demo.Question)
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, errs)
	}
	var last jsonEvent
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev jsonEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d is not a JSON event: %q (%v)", n+1, sc.Text(), err)
		}
		last = ev
		n++
	}
	if last.Type != "done" || last.Usage == nil {
		t.Fatalf("last event %+v is not done with usage", last)
	}
	if !slices.Equal(last.Usage.Tokens, demo.ExpectedTokens) || last.Usage.PromptTokens != 95 || last.Usage.VisionTokens != 35 {
		t.Errorf("usage %+v", last.Usage)
	}
	if n < 2 {
		t.Errorf("only %d events", n)
	}
}

// The PNG written by --draw-boxes has the box outline exactly where the
// parsed box says, and the inside untouched.
func TestDrawBoxes(t *testing.T) {
	_, img := demoFiles(t)
	src, err := media.LoadImage(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := chat.Parse("The cat <|begin_of_box|>[[100,200,500,800]]<|end_of_box|>", chat.ParserOptions{ImageWidth: src.Width, ImageHeight: src.Height})
	if len(res.Boxes) != 1 {
		t.Fatalf("parsed %d boxes", len(res.Boxes))
	}
	// 0–1000 space → pixels of the 200×150 image.
	want := []float64{20, 30, 100, 120}
	if got := res.Boxes[0].Shapes[0].Pixels; !slices.Equal(got, want) {
		t.Fatalf("box pixels %v, want %v", got, want)
	}
	out := filepath.Join(t.TempDir(), "boxes.png")
	var log bytes.Buffer
	if err := drawBoxesFile(out, img, res.Boxes, &log); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	drawn, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) color.RGBA {
		r, g, b, _ := drawn.At(x, y).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	}
	orig := func(x, y int) color.RGBA {
		i := (y*src.Width + x) * 3
		return color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], 255}
	}
	c := boxColors[0]
	for _, p := range [][2]int{{20, 75}, {99, 75}, {60, 119}, {21, 100}} { // left, right, bottom edges
		if got := at(p[0], p[1]); got != c {
			t.Errorf("pixel %v = %v, want the box colour %v", p, got, c)
		}
	}
	for _, p := range [][2]int{{60, 75}, {10, 75}, {150, 140}} { // inside and outside stay
		if got := at(p[0], p[1]); got != orig(p[0], p[1]) {
			t.Errorf("pixel %v changed to %v", p, got)
		}
	}
}

func TestInspect(t *testing.T) {
	dir, _ := demoFiles(t)
	code, out, errs := glmvCLI(t, "inspect", "-m", dir, "--json")
	if code != 0 {
		t.Fatalf("inspect exited %d: %s", code, errs)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// Values computed here from the files themselves.
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var elems int64
	for _, n := range set.Names() {
		ti, _ := set.Info(n)
		elems += ti.NumElements()
	}
	var raw struct {
		Text struct {
			Layers  int `json:"num_hidden_layers"`
			KV      int `json:"num_key_value_heads"`
			HeadDim int `json:"head_dim"`
			MaxPos  int `json:"max_position_embeddings"`
		} `json:"text_config"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if r.Params.Total != elems || r.Tensors != len(set.Names()) {
		t.Errorf("inspect says %d params in %d tensors, files hold %d in %d", r.Params.Total, r.Tensors, elems, len(set.Names()))
	}
	if want := int64(raw.Text.Layers * 2 * raw.Text.KV * raw.Text.HeadDim * 4); r.KVBytesPerToken != want || r.ContextLength != raw.Text.MaxPos {
		t.Errorf("kv bytes %d (want %d), context %d (want %d)", r.KVBytesPerToken, want, r.ContextLength, raw.Text.MaxPos)
	}
	if r.SpecialTokens["<|image|>"] != 283 || len(r.Problems) != 0 {
		t.Errorf("special tokens %v, problems %v", r.SpecialTokens, r.Problems)
	}
	// The text form works too.
	if code, out, _ := glmvCLI(t, "inspect", "-m", dir); code != 0 || !strings.Contains(out, "problems        none found") {
		t.Errorf("text inspect exited %d:\n%s", code, out)
	}
}

// -m accepts a repo id found in the Hugging Face cache.
func TestHuggingFaceCache(t *testing.T) {
	home := t.TempDir()
	snap := filepath.Join(home, "hub", "models--zai-org--GLM-Tiny", "snapshots", "0123abcd")
	if _, _, err := demo.Extract(snap); err != nil {
		t.Fatal(err)
	}
	// Extract puts the checkpoint in snap/testmodel; make it the snapshot.
	if err := os.Rename(filepath.Join(snap, "testmodel"), snap+".tmp"); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(snap)
	if err := os.Rename(snap+".tmp", snap); err != nil {
		t.Fatal(err)
	}
	refs := filepath.Join(home, "hub", "models--zai-org--GLM-Tiny", "refs")
	os.MkdirAll(refs, 0o755)
	os.WriteFile(filepath.Join(refs, "main"), []byte("0123abcd"), 0o644)
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	code, out, errs := glmvCLI(t, "inspect", "-m", "zai-org/GLM-Tiny")
	if code != 0 || !strings.Contains(out, snap) {
		t.Errorf("inspect of a cached repo exited %d:\n%s%s", code, out, errs)
	}
}

func TestCLIErrors(t *testing.T) {
	dir, img := demoFiles(t)
	noTok := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(noTok, f), b, 0o644)
	}
	wrongType := t.TempDir()
	for _, f := range []string{"model.safetensors", "tokenizer.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(wrongType, f), b, 0o644)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	os.WriteFile(filepath.Join(wrongType, "config.json"), bytes.Replace(cfg, []byte(`"model_type": "glm4v_moe",`), []byte(`"model_type": "qwen2_vl",`), 1), 0o644)
	notImage := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(notImage, []byte("this is not a picture"), 0o644)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing folder", []string{"run", "-m", "/no/such/model", "hi"}, "no such folder"},
		{"missing files", []string{"run", "-m", noTok, "hi"}, "tokenizer.json is missing"},
		{"wrong model type", []string{"run", "-m", wrongType, "hi"}, `unknown model_type "qwen2_vl"`},
		{"missing image", []string{"run", "-m", dir, "--image", "/no/cat.jpg", "hi"}, "no such file"},
		{"unreadable image", []string{"run", "-m", dir, "--image", notImage, "hi"}, "notes.png"},
		{"prompt too long", []string{"run", "-m", dir, "--context", "40", "--image", img, "hi"}, "the prompt is 45 tokens and the context holds 40; shorten it by at least 6 tokens"},
		{"no model", []string{"run", "hi"}, "pass -m"},
		{"bad weights format", []string{"run", "-m", dir, "--weights", "q3", "hi"}, `unknown weight format "q3"`},
		{"bad precision", []string{"run", "-m", dir, "--precision", "fp8", "hi"}, `precision "fp8"`},
		{"bad bench precision", []string{"bench", "--precision", "half"}, `precision "half"`},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := glmvCLI(t, c.args...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want an error mentioning %q", code, errs, c.want)
			}
		})
	}
}

// A video file goes through ffmpeg, frame sampling, the vision tower and
// the prompt's per-frame timestamps.
func TestRunWithVideo(t *testing.T) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed (CI installs it)")
	}
	dir, _ := demoFiles(t)
	video := filepath.Join(t.TempDir(), "clip.mp4")
	cmd := exec.Command(ff, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=4:duration=3", "-pix_fmt", "yuv420p", video)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making the test video: %v\n%s", err, out)
	}
	// 3 s at the processor's 2 fps → 6 frames → 3 temporal groups of 2×2
	// merged tokens (64×48 is resized to 56×56 → 4×4 patches).
	code, out, errs := glmvCLI(t, "run", "-m", dir, "--video", video, "--max-tokens", "1", "--json", "What happens?")
	if code != 0 || !strings.Contains(out, `"vision_tokens":12`) {
		t.Errorf("exit %d, want 12 vision tokens in %s %s", code, out, errs)
	}
}

// -m takes a GGUF text model (mmproj found beside it or given with
// --mmproj) in inspect, run and prompt; the demo model is moe_a, whose
// llama.cpp F16 pair is in the reference fixtures.
func TestGGUFCommands(t *testing.T) {
	dir, img := demoFiles(t)
	ggufDir := filepath.Join("..", "..", "testdata", "reference", "models", "moe_a", "gguf")
	text := filepath.Join(ggufDir, "moe_a-F16.gguf")
	code, out, errs := glmvCLI(t, "inspect", "-m", text, "--json")
	if code != 0 {
		t.Fatalf("inspect exited %d: %s", code, errs)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	_, out, _ = glmvCLI(t, "inspect", "-m", dir, "--json")
	var st inspectReport
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if r.Params != st.Params || r.DTypes["F16"] == 0 || len(r.Files) != 2 || len(r.Problems) != 0 || r.SpecialTokens["<|image|>"] != 283 {
		t.Errorf("GGUF inspect %+v\ncheckpoint %+v", r, st)
	}
	code, out, errs = glmvCLI(t, "run", "-m", text, "--mmproj", filepath.Join(ggufDir, "mmproj-moe_a-F16.gguf"), "--image", img,
		"--system", demo.SystemPrompt, "--no-think", "--max-tokens", "12", demo.Question)
	if code != 0 || !strings.HasPrefix(out, "_<|unused_298|>M_") {
		t.Errorf("run on the GGUF exited %d: %q %s", code, out, errs)
	}
	msgs := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(msgs, []byte(`[{"role":"user","content":"hi"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want, _ := glmvCLI(t, "prompt", "-m", dir, "--messages", msgs)
	if code, got, errs := glmvCLI(t, "prompt", "-m", text, "--messages", msgs); code != 0 || got != want {
		t.Errorf("prompt from the GGUF exited %d: %q, checkpoint gives %q (%s)", code, got, want, errs)
	}
	in := "\"Hello <|user|> wörld 123\"\n"
	wantTok, _, _ := runWithStdin(t, in, "tokenize", "-t", dir)
	if gotTok, errs, code := runWithStdin(t, in, "tokenize", "-t", text); code != 0 || gotTok != wantTok || wantTok == "" {
		t.Errorf("tokenize from the GGUF exited %d: %q, tokenizer.json gives %q (%s)", code, gotTok, wantTok, errs)
	}
	if code, _, errs := glmvCLI(t, "run", "-m", dir, "--mmproj", text, "hi"); code == 0 || !strings.Contains(errs, "mmproj") {
		t.Errorf("--mmproj with a folder: exit %d %s", code, errs)
	}
}

// inspect lists what is wrong and exits non-zero, so scripts can tell.
func TestInspectExitsNonZeroOnProblems(t *testing.T) {
	dir, _ := demoFiles(t)
	if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	code, out, errs := glmvCLI(t, "inspect", "-m", dir)
	if code != 1 || !strings.Contains(out, "problems:") || !strings.Contains(errs, "problem") {
		t.Errorf("inspect of a folder without tokenizer.json exited %d:\n%s%s", code, out, errs)
	}
	code, out, _ = glmvCLI(t, "inspect", "-m", dir, "--json")
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || len(r.Problems) == 0 {
		t.Errorf("inspect --json exited %d with problems %v (%v)", code, r.Problems, err)
	}
}

// A prompt piped on standard input is answered like one given as an
// argument; an empty pipe is an error, not a chat.
func TestRunPromptFromPipe(t *testing.T) {
	dir, img := demoFiles(t)
	withStdin := func(text string) (int, string, string) {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Seek(0, 0)
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old }()
		return glmvCLI(t, "run", "-m", dir, "--image", img, "--system", demo.SystemPrompt, "--no-think", "--max-tokens", "12")
	}
	code, out, errs := withStdin(demo.Question + "\n")
	if code != 0 || !strings.HasPrefix(out, "_<|unused_298|>M_") {
		t.Errorf("piped prompt: exit %d, answer %q, %s", code, out, errs)
	}
	code, _, errs = withStdin("  \n")
	if code != 1 || !strings.Contains(errs, "no prompt") {
		t.Errorf("empty pipe: exit %d, %s", code, errs)
	}
	if _, err := readPrompt(strings.NewReader(strings.Repeat("x", maxPipedPrompt+1))); err == nil {
		t.Error("an oversize piped prompt was accepted")
	}
}

// glmv quantize writes a pair that run and inspect take, from a
// checkpoint folder and from a GGUF, and leaves nothing behind on error.
func TestQuantize(t *testing.T) {
	dir, img := demoFiles(t)
	out := t.TempDir()
	q8 := filepath.Join(out, "demo-Q8_0.gguf")
	code, stdout, errs := glmvCLI(t, "quantize", "-m", dir, "--to", "q8_0", "-o", q8)
	if code != 0 || !strings.Contains(stdout, "mmproj-demo-Q8_0.gguf") {
		t.Fatalf("quantize exited %d: %s %s", code, stdout, errs)
	}
	for _, p := range []string{q8, filepath.Join(out, "mmproj-demo-Q8_0.gguf")} {
		if st, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if st.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s has mode %v: want readable like other files", p, st.Mode())
		}
	}
	code, answer, errs := glmvCLI(t, "run", "-m", q8, "--image", img, "--system", demo.SystemPrompt, "--no-think", "--max-tokens", "4", demo.Question)
	if code != 0 || answer == "" {
		t.Fatalf("run on the quantized pair exited %d: %s", code, errs)
	}
	f16 := filepath.Join(out, "demo-F16.gguf")
	if code, _, errs := glmvCLI(t, "quantize", "-m", q8, "--to", "f16", "-o", f16); code != 0 {
		t.Fatalf("quantize from a GGUF exited %d: %s", code, errs)
	}
	code, stdout, errs = glmvCLI(t, "inspect", "-m", f16, "--json")
	var r inspectReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 || len(r.Problems) != 0 || r.DTypes["F16"] == 0 {
		t.Errorf("inspect of the re-quantized pair exited %d: %+v %s", code, r, errs)
	}
	if code, _, errs := glmvCLI(t, "quantize", "-m", dir, "--to", "q3_k_s", "-o", filepath.Join(out, "x.gguf")); code == 0 || !strings.Contains(errs, "q4_k_m") {
		t.Errorf("unknown type: exit %d, %s", code, errs)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("output folder holds %v, want the two pairs only", names)
	}
}
