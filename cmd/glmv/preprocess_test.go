package main

import (
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/safetensors"
)

func readPreprocessed(t *testing.T, path string) (rgb []byte, rgbShape []int, values []float32, grid []int64, f *safetensors.File) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	info, ok := f.Info("rgb")
	if !ok || info.DType != safetensors.U8 {
		t.Fatalf("rgb: %+v", info)
	}
	if rgb, err = f.Bytes("rgb"); err != nil {
		t.Fatal(err)
	}
	if values, _, err = f.Float32("pixel_values"); err != nil {
		t.Fatal(err)
	}
	if grid, _, err = f.Int64("grid_thw"); err != nil {
		t.Fatal(err)
	}
	return rgb, info.Shape, values, grid, f
}

// The image's decoded pixels and the processor's output, against the
// reference's pixel_values for the same image.
func TestPreprocessImage(t *testing.T) {
	dir, img := demoFiles(t)
	out := filepath.Join(t.TempDir(), "img.safetensors")
	code, stdout, errs := glmvCLI(t, "preprocess", "-m", dir, "--image", img, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "grid_thw [1 10 14]") {
		t.Errorf("summary %q", stdout)
	}
	rgb, shape, values, grid, _ := readPreprocessed(t, out)
	src, err := media.LoadImage(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{1, src.Height, src.Width, 3}) || !slices.Equal(rgb, src.Pix) {
		t.Fatalf("rgb %v differs from the decoded image (%d×%d)", shape, src.Width, src.Height)
	}
	if !slices.Equal(grid, []int64{1, 10, 14}) {
		t.Fatalf("grid_thw %v", grid)
	}
	ref, err := safetensors.Open("../../testdata/reference/models/moe_a/case_image.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, _, err := ref.Float32("pixel_values")
	if err != nil {
		t.Fatal(err)
	}
	if len(values) != len(want) {
		t.Fatalf("%d values, the reference has %d", len(values), len(want))
	}
	worst := 0.0
	for i := range values {
		worst = max(worst, math.Abs(float64(values[i]-want[i])))
	}
	// One uint8 level over the smallest std (the processors' tolerance).
	if tol := 1/255.0/0.26130258 + 1e-5; worst > tol {
		t.Errorf("pixel_values max |Δ| %.3g from the reference's, tolerance %.3g", worst, tol)
	}
}

// A video's frames come out as sampled and upright; frame_indices says
// which were taken.
func TestPreprocessRotatedVideo(t *testing.T) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed (CI installs it)")
	}
	dir, _ := demoFiles(t)
	tmp := t.TempDir()
	plain, rotated := filepath.Join(tmp, "plain.mov"), filepath.Join(tmp, "rotated.mov")
	for _, args := range [][]string{
		{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=4:duration=3", "-c:v", "png", plain},
		{"-v", "error", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated},
	} {
		if b, err := exec.Command(ff, args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
		}
	}
	for name, path := range map[string]string{"plain": plain, "rotated": rotated} {
		out := filepath.Join(tmp, name+".safetensors")
		if code, _, errs := glmvCLI(t, "preprocess", "-m", dir, "--video", path, "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errs)
		}
	}
	rgb, shape, _, grid, f := readPreprocessed(t, filepath.Join(tmp, "plain.safetensors"))
	idx, _, err := f.Int64("frame_indices")
	if err != nil {
		t.Fatal(err)
	}
	// 3 s at the processor's 2 fps: 6 frames of the 12.
	if !slices.Equal(shape, []int{6, 48, 64, 3}) || !slices.Equal(idx, []int64{0, 2, 4, 6, 8, 10}) || !slices.Equal(grid, []int64{3, 4, 4}) {
		t.Fatalf("plain video: rgb %v, indices %v, grid %v", shape, idx, grid)
	}
	rrgb, rshape, _, _, rf := readPreprocessed(t, filepath.Join(tmp, "rotated.safetensors"))
	if !slices.Equal(rshape, []int{6, 64, 48, 3}) {
		t.Fatalf("rotated video: rgb %v, want the frames upright (64 high, 48 wide)", rshape)
	}
	if rf.Header.Metadata["rotation"] == "" {
		t.Errorf("no rotation in the metadata: %v", rf.Header.Metadata)
	}
	// Each upright frame is the coded frame turned a quarter (the display
	// matrix written for rotate=90 by this ffmpeg turns counterclockwise).
	for k := range 6 {
		a := &media.Image{Width: 64, Height: 48, Pix: rgb[k*64*48*3 : (k+1)*64*48*3]}
		b := rrgb[k*64*48*3 : (k+1)*64*48*3]
		cw, ccw := quarterTurn(a, true), quarterTurn(a, false)
		if !slices.Equal(b, cw.Pix) && !slices.Equal(b, ccw.Pix) {
			t.Fatalf("rotated frame %d is not the plain frame turned a quarter", k)
		}
	}
}

func quarterTurn(img *media.Image, clockwise bool) *media.Image {
	w, h := img.Width, img.Height
	out := &media.Image{Width: h, Height: w, Pix: make([]byte, len(img.Pix))}
	for y := range h {
		for x := range w {
			dx, dy := h-1-y, x
			if !clockwise {
				dx, dy = y, w-1-x
			}
			copy(out.Pix[(dy*h+dx)*3:][:3], img.Pix[(y*w+x)*3:][:3])
		}
	}
	return out
}

func TestPreprocessErrors(t *testing.T) {
	dir, img := demoFiles(t)
	out := filepath.Join(t.TempDir(), "x.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"preprocess", "-m", dir, "-o", out}, "exactly one of --image and --video"},
		{[]string{"preprocess", "-m", dir, "--image", img, "--video", img, "-o", out}, "exactly one of"},
		{[]string{"preprocess", "-m", dir, "--image", img}, "-o OUT.safetensors"},
		{[]string{"preprocess", "-m", filepath.Join(dir, "nope"), "--image", img, "-o", out}, "not a folder"},
		{[]string{"preprocess", "-m", dir, "--image", filepath.Join(dir, "config.json"), "-o", out}, "not a supported image"},
		{[]string{"preprocess", "-m", dir, "--image", img, "-o", out, "--resampler", "lanczos"}, "want torchvision or pil"},
	} {
		code, _, errs := glmvCLI(t, c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}
