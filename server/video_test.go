package server

import (
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeVideo encodes n synthetic 64×48 frames at 2 fps with ffmpeg into the
// given container and returns it as a data: URL.
func makeVideo(t *testing.T, ffmpeg, name, mime string, codec ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := range 8 {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				img.Set(x, y, color.RGBA{uint8(x*4 + i*20), uint8(y * 5), uint8(i * 30), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%03d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-v", "error", "-nostdin", "-y", "-framerate", "2", "-i", filepath.Join(dir, "f%03d.png")}, codec...)
	if b, err := exec.Command(ffmpeg, append(args, out)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// A video_url part with an MP4 or WebM data: URL is sampled through
// ffmpeg and answered; a broken one is a 400.
func TestVideoURL(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe is not installed")
	}
	m, _ := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	for _, v := range []struct{ name, mime string }{{"clip.mp4", "video/mp4"}, {"clip.webm", "video/webm"}} {
		codec := []string{"-c:v", "mpeg4", "-pix_fmt", "yuv420p"}
		if strings.HasSuffix(v.name, ".webm") {
			codec = []string{"-c:v", "libvpx", "-pix_fmt", "yuv420p"}
		}
		url := makeVideo(t, ffmpeg, v.name, v.mime, codec...)
		body := `{"max_tokens":3,"messages":[{"role":"user","content":[{"type":"video_url","video_url":{"url":"` + url + `"}},{"type":"text","text":"What happens?"}]}]}`
		resp, b := do(t, ts, "POST", "/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", v.name, resp.StatusCode, b)
		}
		if c := decodeInto[completion](t, b); c.Usage.PromptTokens < 20 {
			t.Errorf("%s: prompt of %d tokens has no video", v.name, c.Usage.PromptTokens)
		}
	}
	resp, b := do(t, ts, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"video_url","video_url":{"url":"data:video/mp4;base64,AAAAAAAA"}}]}]}`)
	if resp.StatusCode != 400 {
		t.Errorf("broken video: %d %s", resp.StatusCode, b)
	}
}
