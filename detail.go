package glmv

import (
	"fmt"

	"github.com/glmv/glmv/media"
)

// LowDetailPixels is the most pixels (per frame, after resizing) an image
// sent with Detail "low" keeps: 448×448, at most 256 image tokens with
// GLM-4.xV's 28-pixel merged patches. The checkpoint's own cap applies when
// it is lower.
const LowDetailPixels = 448 * 448

// processorFor returns the image processor for an image detail level:
// "", "auto" and "high" use the checkpoint's processor; "low" caps the
// resized image at LowDetailPixels, trading detail for fewer tokens.
func (m *Model) processorFor(detail string) (*media.Processor, error) {
	switch detail {
	case "", "auto", "high":
		return m.proc, nil
	case "low":
		cfg := m.proc.Config()
		low := LowDetailPixels * cfg.TemporalPatchSize
		if cfg.MaxPixels <= low {
			return m.proc, nil
		}
		cfg.MaxPixels = low
		cfg.MinPixels = min(cfg.MinPixels, low)
		return media.NewProcessor(cfg, m.proc.Resampler())
	}
	return nil, fmt.Errorf("image detail must be \"low\", \"high\" or \"auto\", not %q", detail)
}

// ImageTokens is how many prompt tokens an image of width×height pixels
// takes at the given detail ("", "auto", "high" or "low"), computed from
// its size alone so a server can refuse an image that cannot fit before
// decoding it.
func (m *Model) ImageTokens(width, height int, detail string) (int, error) {
	proc, err := m.processorFor(detail)
	if err != nil {
		return 0, err
	}
	c := proc.Config()
	h, w, err := media.SmartResize(c.TemporalPatchSize, height, width, c.TemporalPatchSize, c.Factor(), c.MinPixels, c.MaxPixels)
	if err != nil {
		return 0, fmt.Errorf("image %d×%d: %w", width, height, err)
	}
	return (h / c.Factor()) * (w / c.Factor()), nil
}
