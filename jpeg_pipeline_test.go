package glmv

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmv/glmv/demo"
)

// The whole pipeline on a JPEG (bytes → RGB → processor → vision tower →
// generation) is the pipeline on the RGB Pillow decodes from that JPEG,
// stored losslessly: same patches bit for bit, same prompt, same tokens.
// Go's image/jpeg pixels would give other patches, checked last so that
// the comparison cannot pass vacuously.
func TestPipelineJPEGMatchesPillowRGB(t *testing.T) {
	m, _ := loadDemo(t)
	dir := filepath.Join("testdata", "media", "jpeg")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jpg, pillow := read("landscape_420_q90.jpg"), read("landscape_420_q90.png")

	run := func(img []byte) (*PreparedPrompt, []int) {
		t.Helper()
		req := demoRequest("")
		req.Messages[1] = User(ImageBytes(img), Text(demo.Question))
		pp, err := m.Prepare(context.Background(), &req)
		if err != nil {
			t.Fatal(err)
		}
		_, usage, err := collect(t, m, context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return pp, usage.Tokens
	}
	got, gotTokens := run(jpg)
	want, wantTokens := run(pillow)
	if !slices.Equal(got.IDs, want.IDs) || len(got.Images) != 1 || len(want.Images) != 1 ||
		got.Images[0].Grid != want.Images[0].Grid {
		t.Fatalf("prompt differs: %d vs %d ids, images %v vs %v", len(got.IDs), len(want.IDs), got.Images, want.Images)
	}
	if !sameBits(got.Images[0].Values, want.Images[0].Values) {
		t.Error("pixel values from the JPEG differ from those of Pillow's RGB")
	}
	if !slices.Equal(gotTokens, wantTokens) {
		t.Errorf("tokens %v, with Pillow's RGB %v", gotTokens, wantTokens)
	}

	std, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	var stdPNG bytes.Buffer
	rgba := image.NewRGBA(std.Bounds())
	for y := range std.Bounds().Dy() {
		for x := range std.Bounds().Dx() {
			rgba.Set(x, y, std.At(x, y))
		}
	}
	if err := png.Encode(&stdPNG, rgba); err != nil {
		t.Fatal(err)
	}
	req := demoRequest("")
	req.Messages[1] = User(ImageBytes(stdPNG.Bytes()), Text(demo.Question))
	other, err := m.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if sameBits(other.Images[0].Values, want.Images[0].Values) {
		t.Error("image/jpeg's pixels give Pillow's patches too; this test would prove nothing")
	}
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
