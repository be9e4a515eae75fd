package media

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestSampleFrameIndices(t *testing.T) {
	tests := []struct {
		name  string
		meta  VideoMetadata
		fps   float64
		maxD  float64
		want  []int
		error bool
	}{
		// The reference video case: 20 frames at 4 fps, 5 s, sampled at 2 fps.
		{"fixture", VideoMetadata{20, 4, 5}, 2, 300, []int{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}, false},
		// 3 frames at 1 fps: floor(3·2) = 6 samples at ceil(k/2) → 0,1,1,2,2,3→clamped; dedup 0,1,2 → pad.
		{"upsampled", VideoMetadata{3, 1, 3}, 2, 300, []int{0, 1, 2, 2}, false},
		// Unknown duration: round(9/2)+1 = 5 s at unknown fps (2) → 10 samples of 10 frames.
		{"derived duration", VideoMetadata{10, 0, 0}, 2, 300, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false},
		// Odd count is padded with the last index.
		{"odd", VideoMetadata{30, 10, 3}, 1, 300, []int{0, 10, 20, 20}, false},
		// Longer than max duration: linspace(0, 10, 4) = 0, 3.33, 6.67, 10 → ceil(t·1).
		{"long", VideoMetadata{11, 1, 10}, 1, 4, []int{0, 4, 7, 10}, false},
		// Longer than max duration but fewer frames than samples: all frames.
		{"long few frames", VideoMetadata{3, 0.1, 30}, 1, 5, []int{0, 1, 2, 2}, false},
		{"no frames", VideoMetadata{0, 4, 5}, 2, 300, nil, true},
		{"bad fps", VideoMetadata{10, 4, 5}, 0, 300, nil, true},
		{"too short", VideoMetadata{10, 4, 0.1}, 2, 300, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SampleFrameIndices(tc.meta, tc.fps, tc.maxD)
			if tc.error {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLinspace(t *testing.T) {
	got := linspace(0, 5, 4)
	want := []float64{0, 5.0 / 3, 10.0 / 3, 5}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-15 || d < -1e-15 {
			t.Fatalf("linspace = %v, want %v", got, want)
		}
	}
	if got := linspace(1, 2, 1); !slices.Equal(got, []float64{1}) {
		t.Fatalf("linspace(1,2,1) = %v", got)
	}
}

func TestGroupTimestamps(t *testing.T) {
	ts := []float64{0, 0.5, 1, 1.5, 2, 2.5}
	if got := GroupTimestamps(ts, 3); !slices.Equal(got, []float64{0, 1, 2}) {
		t.Errorf("got %v", got)
	}
	if got := GroupTimestamps(ts, 5); !slices.Equal(got, []float64{0, 1, 2, 2, 2}) {
		t.Errorf("padded: got %v", got)
	}
	if got := GroupTimestamps(nil, 2); !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("empty: got %v", got)
	}
	if got := FrameTimestamps([]int{0, 6}, 0); !slices.Equal(got, []float64{0, 0.25}) {
		t.Errorf("unknown fps counts as 24: got %v", got)
	}
}

// synthFrames makes n w×h frames with moving gradients and shapes.
func synthFrames(n, w, h int) []*Image {
	frames := make([]*Image, n)
	for k := range frames {
		img := &Image{Width: w, Height: h, Pix: make([]uint8, w*h*3)}
		for y := range h {
			for x := range w {
				p := img.Pix[(y*w+x)*3:]
				p[0] = uint8(x*255/max(w-1, 1) + 7*k)
				p[1] = uint8(y*255/max(h-1, 1) ^ (13 * k))
				if (x/8+y/8+k)%2 == 0 {
					p[2] = 220
				} else {
					p[2] = uint8(31 * k)
				}
			}
		}
		frames[k] = img
	}
	return frames
}

func writePNG(t *testing.T, path string, img *Image) {
	t.Helper()
	rgba := image.NewNRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i := range img.Width * img.Height {
		copy(rgba.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		rgba.Pix[4*i+3] = 255
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, rgba); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func needFFmpeg(t *testing.T) *FFmpeg {
	t.Helper()
	ff, err := FindFFmpeg()
	if err != nil {
		if errors.Is(err, ErrNoFFmpeg) {
			t.Skipf("skipping: %v", err)
		}
		t.Fatal(err)
	}
	return ff
}

// makeVideo encodes frames into a video file with the ffmpeg command.
func makeVideo(t *testing.T, ff *FFmpeg, frames []*Image, fps int, name string, codecArgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, f := range frames {
		writePNG(t, filepath.Join(dir, fmt.Sprintf("f%03d.png", i)), f)
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-v", "error", "-nostdin", "-y", "-framerate", fmt.Sprint(fps),
		"-i", filepath.Join(dir, "f%03d.png")}, codecArgs...)
	args = append(args, out)
	cmd := exec.Command(ff.FFmpegPath, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	return out
}

func TestVideoFileThroughFFmpeg(t *testing.T) {
	ff := needFFmpeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := synthFrames(20, 64, 48)
	proc, err := NewProcessor(DefaultConfig(), Torchvision)
	if err != nil {
		t.Fatal(err)
	}
	// Lossless RGB (FFV1) in AVI (frame count in the header) and MKV (frame
	// count found by decoding): the decoded frames must equal the sources.
	for _, container := range []string{"avi", "mkv"} {
		t.Run(container, func(t *testing.T) {
			path := makeVideo(t, ff, src, 4, "clip."+container, "-c:v", "ffv1", "-pix_fmt", "bgr0")
			meta, err := ff.Probe(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if meta.TotalFrames != 20 || meta.FPS != 4 || meta.Duration != 5 {
				t.Fatalf("metadata %+v, want 20 frames at 4 fps, 5 s", meta)
			}
			v, err := proc.LoadVideo(ctx, ff, path)
			if err != nil {
				t.Fatal(err)
			}
			wantIdx := []int{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}
			if !slices.Equal(v.Indices, wantIdx) {
				t.Fatalf("indices %v, want %v", v.Indices, wantIdx)
			}
			if !slices.Equal(v.Timestamps, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5}) {
				t.Fatalf("timestamps %v", v.Timestamps)
			}
			for i, k := range v.Indices {
				if !slices.Equal(v.Frames[i].Pix, src[k].Pix) {
					t.Fatalf("decoded frame %d differs from the source", k)
				}
			}
			got, err := proc.ProcessVideo(v.Frames)
			if err != nil {
				t.Fatal(err)
			}
			// The same clip given as a list of frames with its frame rate.
			sampled, err := proc.SampleVideo(VideoFromFrames(src, 4))
			if err != nil {
				t.Fatal(err)
			}
			want, err := proc.ProcessVideo(sampled.Frames)
			if err != nil {
				t.Fatal(err)
			}
			if got.Grid != [3]int{5, 4, 4} || want.Grid != got.Grid || !slices.Equal(got.Values, want.Values) {
				t.Fatalf("grid %v / %v or values differ between file and frame list", got.Grid, want.Grid)
			}
		})
	}
	// A lossy stream decodes to frames of the right size and count.
	t.Run("mpeg4", func(t *testing.T) {
		path := makeVideo(t, ff, src[:7], 2, "clip.mp4", "-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p")
		v, err := proc.LoadVideo(ctx, ff, path)
		if err != nil {
			t.Fatal(err)
		}
		// 7 frames at 2 fps = 3.5 s → 7 samples at 2 fps → all 7, padded to 8.
		if !slices.Equal(v.Indices, []int{0, 1, 2, 3, 4, 5, 6, 6}) {
			t.Fatalf("indices %v", v.Indices)
		}
		for _, f := range v.Frames {
			if f.Width != 64 || f.Height != 48 {
				t.Fatalf("frame %d×%d", f.Width, f.Height)
			}
		}
		p, err := proc.ProcessVideo(v.Frames)
		if err != nil {
			t.Fatal(err)
		}
		if p.Grid != [3]int{4, 4, 4} {
			t.Fatalf("grid %v", p.Grid)
		}
	})
	t.Run("errors", func(t *testing.T) {
		path := makeVideo(t, ff, src[:4], 4, "short.avi", "-c:v", "ffv1", "-pix_fmt", "bgr0")
		if _, err := ff.DecodeFrames(ctx, path, []int{1, 9}); err == nil {
			t.Error("frame past the end: no error")
		}
		notVideo := filepath.Join(t.TempDir(), "x.mp4")
		if err := os.WriteFile(notVideo, []byte("not a video"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ff.Probe(ctx, notVideo); err == nil {
			t.Error("probing garbage: no error")
		}
		missing := &FFmpeg{FFmpegPath: "/nonexistent/ffmpeg", FFprobePath: "/nonexistent/ffprobe"}
		if _, err := missing.Probe(ctx, path); err == nil {
			t.Error("missing ffprobe: no error")
		}
	})
}

func TestProcessVideoFrameList(t *testing.T) {
	proc, err := NewProcessor(DefaultConfig(), Torchvision)
	if err != nil {
		t.Fatal(err)
	}
	frames := synthFrames(3, 64, 48)
	p, err := proc.ProcessVideo(frames)
	if err != nil {
		t.Fatal(err)
	}
	// Three frames → smart_resize(3, 48, 64) = 56×56; padded to four frames.
	if p.Grid != [3]int{2, 4, 4} || p.ResizedH != 56 || p.ResizedW != 56 {
		t.Fatalf("grid %v resized %d×%d", p.Grid, p.ResizedH, p.ResizedW)
	}
	if p.NumTokens() != 8 || p.TokensPerFrameGroup() != 4 {
		t.Fatalf("tokens %d / %d per group", p.NumTokens(), p.TokensPerFrameGroup())
	}
	// The second temporal group pairs frame 2 with its copy: in every row of
	// that group, the two temporal halves of each channel are equal.
	pp := 14 * 14
	for r := 16; r < 32; r++ {
		row := p.Values[r*p.RowLen : (r+1)*p.RowLen]
		for c := range 3 {
			a := row[(c*2)*pp : (c*2+1)*pp]
			b := row[(c*2+1)*pp : (c*2+2)*pp]
			if !slices.Equal(a, b) {
				t.Fatalf("row %d channel %d: padded frame differs", r, c)
			}
		}
	}
	// In the first group they differ (frames 0 and 1 are different).
	row := p.Values[:p.RowLen]
	if slices.Equal(row[:pp], row[pp:2*pp]) {
		t.Fatal("frames 0 and 1 were not paired")
	}
	if _, err := proc.ProcessVideo(frames[:1]); err == nil {
		t.Error("one frame: want the reference's temporal-factor error")
	}
	if _, err := proc.ProcessVideo([]*Image{frames[0], synthFrames(1, 32, 32)[0]}); err == nil {
		t.Error("frames of different sizes: no error")
	}
	if _, err := proc.ProcessVideo(nil); err == nil {
		t.Error("no frames: no error")
	}
}

func TestSampleFrameIndicesGLM46V(t *testing.T) {
	seq := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	small := []struct {
		meta VideoMetadata
		want []int
	}{
		// 20 frames < 30 wanted: linspace(0, 19, 30) as ints, de-duplicated.
		{VideoMetadata{20, 4, 5}, seq(20)},
		// 7 frames < 21 wanted; odd after de-duplication → padded.
		{VideoMetadata{7, 2, 3.5}, []int{0, 1, 2, 3, 4, 5, 6, 6}},
		// The timestamp walk at 6 samples per second of a 10 fps clip.
		{VideoMetadata{100, 10, 10}, []int{0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20, 22, 24, 25, 27, 29, 30, 32,
			34, 35, 37, 39, 40, 42, 44, 45, 47, 49, 50, 52, 54, 56, 57, 59, 61, 62, 64, 66, 67, 69, 71, 72, 74, 76, 77,
			79, 81, 82, 84, 86, 87, 89, 91, 92, 94, 95, 97, 99}},
	}
	for _, c := range small {
		got, err := SampleFrameIndicesGLM46V(c.meta, 2)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, %v; want %v", c.meta, got, err, c.want)
		}
	}
	// Longer clips: count, ends and sum (expected values from a line-by-line
	// Python transcription of the reference sampler).
	large := []struct {
		meta                VideoMetadata
		n, first, last, sum int
	}{
		{VideoMetadata{1000, 25, 40}, 80, 0, 988, 39520},                    // 1 fps tier
		{VideoMetadata{9000, 30, 300}, 600, 0, 8985, 2695500},               // 1 fps, 300 s
		{VideoMetadata{100000, 30, 100000.0 / 30}, 640, 0, 99999, 31999365}, // 0.5 fps, capped at 640
	}
	for _, c := range large {
		got, err := SampleFrameIndicesGLM46V(c.meta, 2)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, v := range got {
			sum += v
		}
		if len(got) != c.n || got[0] != c.first || got[len(got)-1] != c.last || sum != c.sum {
			t.Errorf("%+v: %d frames %d..%d sum %d; want %d frames %d..%d sum %d", c.meta, len(got), got[0],
				got[len(got)-1], sum, c.n, c.first, c.last, c.sum)
		}
	}
	if _, err := SampleFrameIndicesGLM46V(VideoMetadata{10, 0, 5}, 2); err == nil {
		t.Error("unknown fps: no error")
	}
}
