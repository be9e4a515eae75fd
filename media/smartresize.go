package media

import (
	"errors"
	"fmt"
	"math"
)

// ErrAspectRatio is returned by SmartResize for images more than 200 times
// wider than tall or the other way round.
var ErrAspectRatio = errors.New("media: absolute aspect ratio must be smaller than 200")

// SmartResize returns the size (h̄, w̄) the reference resizes a clip of
// numFrames frames of height×width pixels to: multiples of factor, close
// to the original aspect ratio, with t̄·h̄·w̄ inside [minPixels, maxPixels]
// where t̄ is numFrames rounded to a multiple of temporalFactor. Images use
// numFrames = temporalFactor.
//
// It follows transformers 5's glm4v smart_resize step for step (Python
// float arithmetic, round half to even): sides shorter than factor are first
// scaled up so the shorter one reaches factor; errors are a frame count below
// temporalFactor, non-positive sizes and an aspect ratio above 200.
func SmartResize(numFrames, height, width, temporalFactor, factor, minPixels, maxPixels int) (int, int, error) {
	if temporalFactor <= 0 || factor <= 0 || maxPixels <= 0 || minPixels < 0 {
		return 0, 0, fmt.Errorf("media: smart_resize: bad parameters (temporal factor %d, factor %d, pixels [%d, %d])",
			temporalFactor, factor, minPixels, maxPixels)
	}
	if numFrames < temporalFactor {
		return 0, 0, fmt.Errorf("media: smart_resize: t:%d must be larger than temporal_factor:%d", numFrames, temporalFactor)
	}
	if height <= 0 || width <= 0 {
		return 0, 0, fmt.Errorf("media: smart_resize: size %d×%d", width, height)
	}
	const limit = 1 << 26 // keeps every product below 2^53, far above any budget
	if height > limit || width > limit || numFrames > limit {
		return 0, 0, fmt.Errorf("media: smart_resize: size %d×%d×%d too large", numFrames, width, height)
	}
	f := float64(factor)
	if height < factor || width < factor {
		s := math.Max(f/float64(height), f/float64(width))
		height = int(float64(height) * s)
		width = int(float64(width) * s)
		if height <= 0 || width <= 0 || height > limit || width > limit {
			return 0, 0, fmt.Errorf("media: smart_resize: upscaled size %d×%d out of range", width, height)
		}
	}
	hi, lo := max(height, width), min(height, width)
	if r := float64(hi) / float64(lo); r > 200 {
		return 0, 0, fmt.Errorf("%w, got %v", ErrAspectRatio, r)
	}
	hBar := int(math.RoundToEven(float64(height)/f)) * factor
	wBar := int(math.RoundToEven(float64(width)/f)) * factor
	tBar := int(math.RoundToEven(float64(numFrames)/float64(temporalFactor))) * temporalFactor

	// Python ints do not overflow; float64 keeps these products exact here.
	budget := float64(tBar) * float64(hBar) * float64(wBar)
	volume := float64(numFrames) * float64(height) * float64(width)
	switch {
	case budget > float64(maxPixels):
		beta := math.Sqrt(volume / float64(maxPixels))
		hBar = max(factor, int(math.Floor(float64(height)/beta/f))*factor)
		wBar = max(factor, int(math.Floor(float64(width)/beta/f))*factor)
	case budget < float64(minPixels):
		beta := math.Sqrt(float64(minPixels) / volume)
		hBar = int(math.Ceil(float64(float64(height)*beta)/f)) * factor
		wBar = int(math.Ceil(float64(float64(width)*beta)/f)) * factor
	}
	return hBar, wBar, nil
}
