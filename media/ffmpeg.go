package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
)

// ErrNoFFmpeg is returned when the ffmpeg or ffprobe command cannot be found.
var ErrNoFFmpeg = errors.New("media: video files need the ffmpeg and ffprobe commands (Debian/Ubuntu: apt-get install ffmpeg)")

// FFmpeg runs the ffmpeg and ffprobe command-line tools to read video files.
type FFmpeg struct {
	// FFmpegPath and FFprobePath are the executables.
	FFmpegPath, FFprobePath string
	// MaxPixels limits width·height of a frame; 0 means DefaultMaxPixels.
	MaxPixels int64
}

// FindFFmpeg looks both tools up on $PATH.
func FindFFmpeg() (*FFmpeg, error) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFFmpeg, err)
	}
	fp, err := exec.LookPath("ffprobe")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFFmpeg, err)
	}
	return &FFmpeg{FFmpegPath: ff, FFprobePath: fp}, nil
}

type probeOutput struct {
	Streams []struct {
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		NbFrames     string `json:"nb_frames"`
		NbReadFrames string `json:"nb_read_frames"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Duration     string `json:"duration"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func (f *FFmpeg) probe(ctx context.Context, path string, count bool) (*probeOutput, error) {
	args := []string{"-v", "error", "-select_streams", "v:0"}
	entries := "stream=width,height,nb_frames,avg_frame_rate,r_frame_rate,duration:stream_side_data=rotation:format=duration"
	if count {
		args = append(args, "-count_frames")
		entries = "stream=width,height,nb_read_frames,avg_frame_rate,r_frame_rate,duration:stream_side_data=rotation:format=duration"
	}
	args = append(args, "-show_entries", entries, "-of", "json", "--", path)
	cmd := exec.CommandContext(ctx, f.FFprobePath, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", ErrNoFFmpeg, err)
		}
		return nil, fmt.Errorf("media: ffprobe %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var p probeOutput
	if err := json.Unmarshal(out, &p); err != nil {
		return nil, fmt.Errorf("media: ffprobe %s: %w", path, err)
	}
	if len(p.Streams) == 0 {
		return nil, fmt.Errorf("media: %s has no video stream", path)
	}
	return &p, nil
}

// parseRate reads "num/den" (or a plain number); 0 when unknown.
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	if ok {
		d, err := strconv.ParseFloat(den, 64)
		if err != nil || d == 0 {
			return 0
		}
		n /= d
	}
	if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return 0
	}
	return n
}

// Probe reads the metadata of the first video stream like the reference's
// PyAV reader: TotalFrames from the container (counted by decoding when the
// container does not say), FPS the average frame rate, Duration =
// TotalFrames / FPS (the stream or container duration when the rate is
// unknown).
func (f *FFmpeg) Probe(ctx context.Context, path string) (VideoMetadata, error) {
	m, _, err := f.probeRotation(ctx, path)
	return m, err
}

// probeRotation is Probe that also returns the display-matrix rotation in
// degrees counterclockwise (ffprobe's sign; 0 when there is none).
func (f *FFmpeg) probeRotation(ctx context.Context, path string) (VideoMetadata, float64, error) {
	p, err := f.probe(ctx, path, false)
	if err != nil {
		return VideoMetadata{}, 0, err
	}
	s := p.Streams[0]
	n, err := strconv.Atoi(s.NbFrames)
	if err != nil || n <= 0 {
		c, err := f.probe(ctx, path, true)
		if err != nil {
			return VideoMetadata{}, 0, err
		}
		if n, err = strconv.Atoi(c.Streams[0].NbReadFrames); err != nil || n <= 0 {
			return VideoMetadata{}, 0, fmt.Errorf("media: %s: cannot count video frames", path)
		}
	}
	m := VideoMetadata{TotalFrames: n, FPS: parseRate(s.AvgFrameRate)}
	var rotation float64
	for _, sd := range s.SideData {
		if sd.Rotation != nil {
			rotation = *sd.Rotation
		}
	}
	if m.FPS == 0 {
		m.FPS = parseRate(s.RFrameRate)
	}
	if m.FPS > 0 {
		m.Duration = float64(n) / m.FPS
	} else if d := parseRate(s.Duration); d > 0 {
		m.Duration = d
	} else {
		m.Duration = parseRate(p.Format.Duration)
	}
	return m, rotation, nil
}

// DecodeFrames decodes the frames with the given indices (in decoding order,
// counted from 0; indices may repeat) of the first video stream as 8-bit
// RGB, turned upright: the rotation of the stream's display matrix (the
// legacy "rotate" tag) is applied as ffmpeg's default auto-rotation applies
// it (a transpose for ±90°, both flips for 180°), so a phone video filmed
// in portrait comes out portrait. This is also what the reference sees:
// transformers' video processors decode with torchcodec, which applies the
// display matrix rotation since torchcodec 0.11 (older stacks — PyAV,
// torchvision.io, torchcodec before 0.11 — returned the coded,
// unrotated frames). ffmpeg converts YUV to RGB
// with its own scaler, so lossy videos can differ from another decoder by
// a level or so; lossless RGB streams decode exactly.
func (f *FFmpeg) DecodeFrames(ctx context.Context, path string, indices []int) ([]*Image, error) {
	if len(indices) == 0 {
		return nil, fmt.Errorf("media: no frames requested from %s", path)
	}
	want := map[int][]int{} // frame index → positions in the result
	last := -1
	for pos, i := range indices {
		if i < 0 {
			return nil, fmt.Errorf("media: frame index %d", i)
		}
		want[i] = append(want[i], pos)
		last = max(last, i)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.FFmpegPath, "-v", "error", "-nostdin",
		"-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
		"-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("media: ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", ErrNoFFmpeg, err)
		}
		return nil, fmt.Errorf("media: start ffmpeg: %w", err)
	}
	out := make([]*Image, len(indices))
	r := bufio.NewReaderSize(stdout, 1<<20)
	maxPx := f.MaxPixels
	if maxPx <= 0 {
		maxPx = DefaultMaxPixels
	}
	var readErr error
	frame := 0
	for ; frame <= last; frame++ {
		positions := want[frame]
		img, err := readPPM(r, maxPx, len(positions) == 0)
		if err != nil {
			readErr = err
			break
		}
		for _, pos := range positions {
			out[pos] = img
		}
	}
	cancel() // the rest of the stream is not needed
	_, _ = io.Copy(io.Discard, r)
	waitErr := cmd.Wait()
	if readErr != nil {
		if errors.Is(readErr, io.EOF) {
			if err := parent.Err(); err != nil {
				return nil, fmt.Errorf("media: decode %s: %w", path, err)
			}
			if waitErr != nil && stderr.Len() > 0 {
				return nil, fmt.Errorf("media: ffmpeg %s: %v: %s", path, waitErr, strings.TrimSpace(stderr.String()))
			}
			return nil, fmt.Errorf("media: %s has only %d frames, frame %d requested", path, frame, last)
		}
		return nil, fmt.Errorf("media: ffmpeg %s: %w (%s)", path, readErr, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// readPPM reads one binary PPM (P6, maxval 255) image; with skip it only
// consumes it.
func readPPM(r *bufio.Reader, maxPixels int64, skip bool) (*Image, error) {
	var fields [4]int
	magic := make([]byte, 2)
	if _, err := io.ReadFull(r, magic); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated PPM frame: %w", err)
		}
		return nil, err
	}
	if string(magic) != "P6" {
		return nil, fmt.Errorf("unexpected frame format %q", magic)
	}
	for k := 1; k < 4; k++ {
		v, err := readPPMInt(r)
		if err != nil {
			return nil, err
		}
		fields[k] = v
	}
	w, h, maxval := fields[1], fields[2], fields[3]
	if w <= 0 || h <= 0 || maxval != 255 || int64(w)*int64(h) > maxPixels {
		return nil, fmt.Errorf("unsupported frame %d×%d maxval %d", w, h, maxval)
	}
	n := int64(w) * int64(h) * 3
	if skip {
		if _, err := r.Discard(int(n)); err != nil {
			return nil, fmt.Errorf("truncated frame: %w", err)
		}
		return nil, nil
	}
	img := &Image{Width: w, Height: h, Pix: make([]uint8, n)}
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		return nil, fmt.Errorf("truncated frame: %w", err)
	}
	return img, nil
}

// readPPMInt skips whitespace and comments, reads a decimal number and the
// single whitespace byte after it.
func readPPMInt(r *bufio.Reader) (int, error) {
	c, err := r.ReadByte()
	for err == nil && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#') {
		if c == '#' {
			_, err = r.ReadString('\n')
			if err != nil {
				break
			}
		}
		c, err = r.ReadByte()
	}
	if err != nil {
		return 0, fmt.Errorf("PPM header: %w", err)
	}
	v := 0
	digits := 0
	for err == nil && c >= '0' && c <= '9' {
		if v > 1<<26 {
			return 0, errors.New("PPM header: number too large")
		}
		v = v*10 + int(c-'0')
		digits++
		c, err = r.ReadByte()
	}
	if digits == 0 || err != nil {
		return 0, fmt.Errorf("PPM header: bad number")
	}
	return v, nil
}

// Video is a decoded, sampled clip ready for ProcessVideo.
type Video struct {
	// Frames are the sampled frames, in order.
	Frames []*Image
	// Indices are their frame numbers in the source.
	Indices []int
	// Timestamps are their times in seconds (index / fps).
	Timestamps []float64
	// Metadata describes the source stream.
	Metadata VideoMetadata
	// Rotation is the display-matrix rotation of a video file in degrees
	// counterclockwise, as ffprobe reports it (0 when none); Frames have it
	// applied already (see FFmpeg.DecodeFrames).
	Rotation float64
}

// LoadVideo probes a video file, samples frames as the reference processor
// does (fps and max_duration from the processor config) and decodes them.
func (p *Processor) LoadVideo(ctx context.Context, ff *FFmpeg, path string) (*Video, error) {
	if ff == nil {
		return nil, ErrNoFFmpeg
	}
	meta, rotation, err := ff.probeRotation(ctx, path)
	if err != nil {
		return nil, err
	}
	idx, err := p.SampleFrames(meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	frames, err := ff.DecodeFrames(ctx, path, idx)
	if err != nil {
		return nil, err
	}
	return &Video{Frames: frames, Indices: idx, Timestamps: FrameTimestamps(idx, meta.FPS), Metadata: meta, Rotation: rotation}, nil
}

// VideoFromFrames builds a Video from frames the caller already has (for
// example a list of image files) at the given frame rate: every frame is
// kept, and an odd count is padded later by ProcessVideo.
func VideoFromFrames(frames []*Image, fps float64) *Video {
	idx := make([]int, len(frames))
	for i := range idx {
		idx[i] = i
	}
	meta := VideoMetadata{TotalFrames: len(frames), FPS: fps}
	if fps > 0 {
		meta.Duration = float64(len(frames)) / fps
	}
	return &Video{Frames: frames, Indices: idx, Timestamps: FrameTimestamps(idx, fps), Metadata: meta}
}

// SampleVideo keeps the frames of v the reference sampler would choose
// given v's metadata (frames supplied as a list of images with a frame rate
// go through the same sampling as a decoded file).
func (p *Processor) SampleVideo(v *Video) (*Video, error) {
	if v == nil || len(v.Frames) == 0 {
		return nil, fmt.Errorf("media: empty video")
	}
	meta := v.Metadata
	meta.TotalFrames = len(v.Frames)
	idx, err := p.SampleFrames(meta)
	if err != nil {
		return nil, err
	}
	frames := make([]*Image, len(idx))
	for i, k := range idx {
		frames[i] = v.Frames[k]
	}
	return &Video{Frames: frames, Indices: idx, Timestamps: FrameTimestamps(idx, meta.FPS), Metadata: meta}, nil
}
