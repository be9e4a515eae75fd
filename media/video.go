package media

import (
	"fmt"
	"math"
)

// VideoMetadata describes a decoded video stream the way the reference's
// VideoMetadata does.
type VideoMetadata struct {
	// TotalFrames is the number of frames in the stream.
	TotalFrames int
	// FPS is the stream's frame rate; 0 when unknown.
	FPS float64
	// Duration is the length in seconds; 0 when unknown (then derived).
	Duration float64
}

// SampleFrameIndices returns the indices of the frames the GLM-4.1V/4.5V
// video processor keeps (Glm4vVideoProcessor.sample_frames): for clips of
// at most maxDuration seconds, floor(duration·fps) frames at
// min(N−1, ceil(k·videoFPS/fps)); for longer ones int(maxDuration·fps)
// frames spread evenly over the duration (all frames when that is not
// fewer). Duplicates are dropped keeping the first, and an odd count is
// padded by repeating the last index. An unknown frame rate counts as 2,
// an unknown duration as round((N−1)/videoFPS)+1.
func SampleFrameIndices(meta VideoMetadata, fps, maxDuration float64) ([]int, error) {
	n := meta.TotalFrames
	if n <= 0 {
		return nil, fmt.Errorf("media: video has %d frames", n)
	}
	if !(fps > 0) || math.IsInf(fps, 0) || !(maxDuration > 0) {
		return nil, fmt.Errorf("media: sampling at %v fps over %v s", fps, maxDuration)
	}
	if meta.FPS < 0 || math.IsNaN(meta.FPS) || math.IsInf(meta.FPS, 0) || meta.Duration < 0 || math.IsNaN(meta.Duration) || math.IsInf(meta.Duration, 0) {
		return nil, fmt.Errorf("media: video metadata fps %v duration %v", meta.FPS, meta.Duration)
	}
	videoFPS := meta.FPS
	if videoFPS == 0 {
		videoFPS = 2
	}
	last := n - 1
	duration := meta.Duration
	if duration == 0 {
		duration = math.RoundToEven(float64(last)/videoFPS) + 1
	}
	// A sane cap on the work: the result can never exceed the frame count
	// after de-duplication, but the loop runs over the requested samples.
	const maxSamples = 1 << 22
	var idx []int
	if duration <= maxDuration {
		count := math.Floor(duration * fps)
		if count > maxSamples {
			return nil, fmt.Errorf("media: %v s at %v fps is too many samples", duration, fps)
		}
		for k := range int(count) {
			v := math.Ceil(float64(float64(k)*videoFPS) / fps)
			idx = append(idx, int(math.Min(float64(last), v)))
		}
	} else {
		num := int(maxDuration * fps)
		if num > maxSamples {
			return nil, fmt.Errorf("media: %v s at %v fps is too many samples", maxDuration, fps)
		}
		if num >= n {
			for k := range n {
				idx = append(idx, k)
			}
		} else {
			for _, t := range linspace(0, duration, num) {
				idx = append(idx, int(math.Min(float64(last), math.Ceil(t*videoFPS))))
			}
		}
	}
	uniq := dedupe(idx)
	if len(uniq) == 0 {
		return nil, fmt.Errorf("media: no frames sampled (duration %v s at %v fps)", duration, fps)
	}
	if len(uniq)%2 == 1 {
		uniq = append(uniq, uniq[len(uniq)-1])
	}
	return uniq, nil
}

// dedupe removes repeated frame indices in place, keeping the first
// occurrence of each, as the reference samplers do.
func dedupe(idx []int) []int {
	seen := make(map[int]bool, len(idx))
	uniq := idx[:0]
	for _, v := range idx {
		if !seen[v] {
			seen[v] = true
			uniq = append(uniq, v)
		}
	}
	return uniq
}

// linspace matches numpy.linspace(start, stop, num, endpoint=True).
func linspace(start, stop float64, num int) []float64 {
	if num <= 0 {
		return nil
	}
	out := make([]float64, num)
	if num == 1 {
		out[0] = start
		return out
	}
	div := float64(num - 1)
	step := (stop - start) / div
	for k := range out {
		// float64(…) keeps numpy's separate rounding of the product.
		if step == 0 {
			out[k] = float64(float64(k)/div*(stop-start)) + start
		} else {
			out[k] = float64(float64(k)*step) + start
		}
	}
	out[num-1] = stop
	return out
}

// SampleFrames applies SampleFrameIndices with the processor's fps and
// max_duration.
func (p *Processor) SampleFrames(meta VideoMetadata) ([]int, error) {
	return SampleFrameIndices(meta, p.cfg.FPS, p.cfg.MaxDuration)
}

// FrameTimestamps returns the time in seconds of each sampled frame,
// index / videoFPS; an unknown frame rate (0) counts as 24, as the
// reference processor assumes.
func FrameTimestamps(indices []int, videoFPS float64) []float64 {
	if !(videoFPS > 0) {
		videoFPS = 24
	}
	ts := make([]float64, len(indices))
	for i, v := range indices {
		ts[i] = float64(v) / videoFPS
	}
	return ts
}

// GroupTimestamps returns the timestamp the prompt shows for each of gridT
// temporal groups: the reference takes every second frame timestamp
// (timestamps[::2], the first frame of each pair), truncates to gridT and
// pads with the last value (or 0). GLM-4.1V/4.5V print int(t) seconds,
// GLM-4.6V "%.1f seconds".
func GroupTimestamps(frameTimestamps []float64, gridT int) []float64 {
	out := make([]float64, 0, max(gridT, 0))
	for i := 0; i < len(frameTimestamps) && len(out) < gridT; i += 2 {
		out = append(out, frameTimestamps[i])
	}
	for len(out) < gridT {
		if len(out) == 0 {
			out = append(out, 0)
		} else {
			out = append(out, out[len(out)-1])
		}
	}
	return out
}

// ProcessVideo resizes, normalises and patchifies the frames of one video
// (already sampled, all the same size), as Glm4vVideoProcessor does: one
// smart_resize for the whole clip with num_frames = len(frames), every frame
// resized to it, the last frame repeated up to a multiple of the temporal
// patch size, and consecutive frames paired inside each patch row.
func (p *Processor) ProcessVideo(frames []*Image) (*Patches, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("media: video has no frames")
	}
	for i, f := range frames {
		if err := checkImage(f); err != nil {
			return nil, fmt.Errorf("media: video frame %d: %w", i, err)
		}
		if f.Width != frames[0].Width || f.Height != frames[0].Height {
			return nil, fmt.Errorf("media: video frame %d is %d×%d, frame 0 is %d×%d",
				i, f.Width, f.Height, frames[0].Width, frames[0].Height)
		}
	}
	c := p.cfg
	H, W := frames[0].Height, frames[0].Width
	h, w, err := SmartResize(len(frames), H, W, c.TemporalPatchSize, c.Factor(), c.MinPixels, c.MaxPixels)
	if err != nil {
		return nil, fmt.Errorf("media: video of %d frames %d×%d: %w", len(frames), W, H, err)
	}
	resized := make([]*Image, 0, len(frames)+c.TemporalPatchSize)
	for i, f := range frames {
		r, err := Resize(f, w, h, p.resampler)
		if err != nil {
			return nil, fmt.Errorf("media: video frame %d: %w", i, err)
		}
		resized = append(resized, r)
	}
	for len(resized)%c.TemporalPatchSize != 0 {
		resized = append(resized, resized[len(resized)-1])
	}
	out := p.patchify(resized)
	out.OrigH, out.OrigW = H, W
	return out, nil
}

// SampleFrameIndicesGLM46V returns the frames GLM-4.6V's video processor
// (Glm46vVideoProcessor.sample_frames) keeps: a target rate of 3 fps for
// clips up to 30 s, 1 fps up to 300 s and 0.5 fps beyond (durations capped
// at 2400 s), int(duration·rate·temporalPatchSize) frames at most 640,
// chosen by walking the frame timestamps in steps of
// 1/(temporalPatchSize·rate) seconds and falling back to evenly spaced
// indices when that walk yields too few or too many; then padded to a
// multiple of temporalPatchSize, de-duplicated and padded to even. The
// stream's frame rate is required.
func SampleFrameIndicesGLM46V(meta VideoMetadata, temporalPatchSize int) ([]int, error) {
	n := meta.TotalFrames
	if n <= 0 {
		return nil, fmt.Errorf("media: video has %d frames", n)
	}
	if !(meta.FPS > 0) || math.IsInf(meta.FPS, 0) {
		return nil, fmt.Errorf("media: GLM-4.6V frame sampling needs the video's frame rate, got %v", meta.FPS)
	}
	if meta.Duration < 0 || math.IsNaN(meta.Duration) || math.IsInf(meta.Duration, 0) || temporalPatchSize <= 0 {
		return nil, fmt.Errorf("media: video duration %v, temporal patch %d", meta.Duration, temporalPatchSize)
	}
	last := n - 1
	duration := meta.Duration
	if duration == 0 {
		duration = math.RoundToEven(float64(last)/meta.FPS) + 1
	}
	effective := math.Min(duration, 2400)
	rate := 0.5
	switch {
	case effective <= 30:
		rate = 3
	case effective <= 300:
		rate = 1
	}
	extract := min(int(effective*rate*float64(temporalPatchSize)), 640)
	even := func(a, b float64) []int {
		v := linspace(a, b, extract)
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out
	}
	var idx []int
	if n < extract {
		idx = even(0, float64(last))
	} else {
		perFrame := 1 / meta.FPS
		maxSecond := float64(int(duration))
		step := 1 / (float64(temporalPatchSize) * rate)
		current := 0.0
		for i := range n {
			if float64(i)*perFrame >= current {
				current += step
				idx = append(idx, i)
				if current >= maxSecond {
					break
				}
			}
		}
		if len(idx) < 3 {
			idx = even(0, float64(last))
		}
		switch {
		case len(idx) < extract:
			idx = even(float64(idx[0]), float64(idx[len(idx)-1]))
		case len(idx) > extract:
			idx = even(0, float64(last))
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("media: no frames sampled (duration %v s)", duration)
	}
	if len(idx)%temporalPatchSize != 0 {
		idx = append(idx, idx[len(idx)-1])
	}
	uniq := dedupe(idx)
	if len(uniq)%2 == 1 {
		uniq = append(uniq, uniq[len(uniq)-1])
	}
	return uniq, nil
}
