package media

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// rotateCW turns an image by quarter turns clockwise.
func rotateCW(src *Image, quarters int) *Image {
	img := src
	for range quarters % 4 {
		w, h := img.Width, img.Height
		out := &Image{Width: h, Height: w, Pix: make([]uint8, len(img.Pix))}
		for y := range h {
			for x := range w {
				// A pixel at (x, y) goes to (h-1-y, x).
				copy(out.Pix[(x*h+h-1-y)*3:][:3], img.Pix[(y*w+x)*3:][:3])
			}
		}
		img = out
	}
	return img
}

// A video whose container carries a display rotation (a phone filming in
// portrait) decodes upright: each frame is the coded frame turned by the
// display matrix's angle (counterclockwise, as ffprobe reports it and
// ffmpeg's auto-rotation applies it), exactly (lossless PNG frames in MOV).
func TestRotatedVideoComesOutUpright(t *testing.T) {
	ff := needFFmpeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := synthFrames(8, 64, 48)
	plain := makeVideo(t, ff, src, 4, "plain.mov", "-c:v", "png", "-pix_fmt", "rgb24")
	proc, err := NewProcessor(DefaultConfig(), Torchvision)
	if err != nil {
		t.Fatal(err)
	}
	for _, deg := range []int{0, 90, 180, 270} {
		t.Run(fmt.Sprint(deg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rotated.mov")
			// The rotate tag is written as the display matrix on a remux.
			cmd := exec.Command(ff.FFmpegPath, "-v", "error", "-nostdin", "-y", "-i", plain,
				"-c", "copy", "-metadata:s:v:0", fmt.Sprintf("rotate=%d", deg), path)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, b)
			}
			v, err := proc.LoadVideo(ctx, ff, path)
			if err != nil {
				t.Fatal(err)
			}
			ccw := int(v.Rotation)
			if (ccw == 0) != (deg == 0) || ccw%90 != 0 {
				t.Fatalf("display rotation %v for rotate=%d", v.Rotation, deg)
			}
			quarters := ((-ccw/90)%4 + 4) % 4 // counterclockwise turns as clockwise ones
			var want []*Image
			for _, k := range v.Indices {
				want = append(want, rotateCW(src[k], quarters))
			}
			for i, k := range v.Indices {
				want := want[i]
				got := v.Frames[i]
				if got.Width != want.Width || got.Height != want.Height || !slices.Equal(got.Pix, want.Pix) {
					t.Fatalf("frame %d: %d×%d, want the source turned %d° counterclockwise (%d×%d)", k, got.Width, got.Height, ccw, want.Width, want.Height)
				}
			}
			// The processor sees the upright frames.
			got, err := proc.ProcessVideo(v.Frames)
			if err != nil {
				t.Fatal(err)
			}
			wantP, err := proc.ProcessVideo(want)
			if err != nil {
				t.Fatal(err)
			}
			if got.Grid != wantP.Grid || !slices.Equal(got.Values, wantP.Values) {
				t.Fatalf("pixel values differ from the upright frames' (grid %v, want %v)", got.Grid, wantP.Grid)
			}
		})
	}
}
