package media

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Config holds the image/video processor settings of a checkpoint
// (preprocessor_config.json / video_preprocessor_config.json).
type Config struct {
	// MinPixels and MaxPixels bound t̄·h̄·w̄ in smart_resize
	// (size.shortest_edge / size.longest_edge, or min_pixels / max_pixels).
	MinPixels, MaxPixels int
	// PatchSize is the vision patch edge p (14).
	PatchSize int
	// TemporalPatchSize is the number of frames per patch Tp (2).
	TemporalPatchSize int
	// MergeSize is the spatial merge m (2); smart_resize's factor is p·m.
	MergeSize int
	// ImageMean and ImageStd normalise each RGB channel.
	ImageMean, ImageStd [3]float64
	// RescaleFactor maps uint8 levels to [0, 1] (1/255).
	RescaleFactor float64
	// DoRescale and DoNormalize switch those steps (both true in every
	// GLM-4.xV checkpoint).
	DoRescale, DoNormalize bool
	// FPS is the video sampling rate in frames per second (2).
	FPS float64
	// MaxDuration is the video length in seconds beyond which frames are
	// spread evenly instead of taken at FPS (300).
	MaxDuration float64
}

// The CLIP normalisation constants used by every GLM-4.xV checkpoint.
var (
	clipMean = [3]float64{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float64{0.26862954, 0.26130258, 0.27577711}
)

// DefaultConfig returns the real GLM-4.5V / GLM-4.1V settings: size
// {shortest_edge 12544, longest_edge 47040000}, patch 14, temporal patch 2,
// merge 2, CLIP mean/std, rescale 1/255, fps 2, max duration 300 s.
// (transformers 5's image class default longest_edge of 11,760,000 is
// deliberately not used; the checkpoints say 47,040,000.)
func DefaultConfig() Config {
	return Config{
		MinPixels:         112 * 112,
		MaxPixels:         28 * 28 * 2 * 30000,
		PatchSize:         14,
		TemporalPatchSize: 2,
		MergeSize:         2,
		ImageMean:         clipMean,
		ImageStd:          clipStd,
		RescaleFactor:     1.0 / 255,
		DoRescale:         true,
		DoNormalize:       true,
		FPS:               2,
		MaxDuration:       300,
	}
}

// Factor is smart_resize's spatial factor p·m.
func (c Config) Factor() int { return c.PatchSize * c.MergeSize }

// Validate reports settings the processor cannot work with.
func (c Config) Validate() error {
	switch {
	case c.PatchSize <= 0 || c.PatchSize > 1024:
		return fmt.Errorf("media: patch_size %d out of range", c.PatchSize)
	case c.TemporalPatchSize <= 0 || c.TemporalPatchSize > 64:
		return fmt.Errorf("media: temporal_patch_size %d out of range", c.TemporalPatchSize)
	case c.MergeSize <= 0 || c.MergeSize > 64:
		return fmt.Errorf("media: merge_size %d out of range", c.MergeSize)
	case c.MinPixels < 0 || c.MaxPixels <= 0 || c.MinPixels > c.MaxPixels:
		return fmt.Errorf("media: pixel budget [%d, %d] invalid", c.MinPixels, c.MaxPixels)
	case c.DoRescale && !(c.RescaleFactor > 0) || math.IsInf(c.RescaleFactor, 0):
		return fmt.Errorf("media: rescale_factor %v invalid", c.RescaleFactor)
	case !(c.FPS > 0) || math.IsInf(c.FPS, 0):
		return fmt.Errorf("media: fps %v invalid", c.FPS)
	case !(c.MaxDuration > 0) || math.IsInf(c.MaxDuration, 0):
		return fmt.Errorf("media: max_duration %v invalid", c.MaxDuration)
	}
	if c.DoNormalize {
		for i, s := range c.ImageStd {
			if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(c.ImageMean[i]) || math.IsInf(c.ImageMean[i], 0) {
				return fmt.Errorf("media: image_mean/std %v/%v invalid", c.ImageMean, c.ImageStd)
			}
		}
	}
	return nil
}

// rawConfig mirrors the JSON keys transformers writes; pointers tell absent
// keys from zero values.
type rawConfig struct {
	Size *struct {
		ShortestEdge *int `json:"shortest_edge"`
		LongestEdge  *int `json:"longest_edge"`
	} `json:"size"`
	MinPixels         *int            `json:"min_pixels"`
	MaxPixels         *int            `json:"max_pixels"`
	PatchSize         *int            `json:"patch_size"`
	TemporalPatchSize *int            `json:"temporal_patch_size"`
	MergeSize         *int            `json:"merge_size"`
	ImageMean         json.RawMessage `json:"image_mean"`
	ImageStd          json.RawMessage `json:"image_std"`
	RescaleFactor     *float64        `json:"rescale_factor"`
	DoRescale         *bool           `json:"do_rescale"`
	DoNormalize       *bool           `json:"do_normalize"`
	FPS               *float64        `json:"fps"`
	MaxDuration       *float64        `json:"max_duration"`
}

// ParseConfig reads a preprocessor_config.json body. Keys that are absent
// keep the DefaultConfig values; size.shortest_edge/longest_edge win over
// the older min_pixels/max_pixels spelling when both are present.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	var r rawConfig
	if err := json.Unmarshal(data, &r); err != nil {
		return Config{}, fmt.Errorf("media: preprocessor config: %w", err)
	}
	if r.MinPixels != nil {
		c.MinPixels = *r.MinPixels
	}
	if r.MaxPixels != nil {
		c.MaxPixels = *r.MaxPixels
	}
	if r.Size != nil {
		if r.Size.ShortestEdge != nil {
			c.MinPixels = *r.Size.ShortestEdge
		}
		if r.Size.LongestEdge != nil {
			c.MaxPixels = *r.Size.LongestEdge
		}
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&c.PatchSize, r.PatchSize)
	setInt(&c.TemporalPatchSize, r.TemporalPatchSize)
	setInt(&c.MergeSize, r.MergeSize)
	for _, m := range []struct {
		raw json.RawMessage
		dst *[3]float64
		key string
	}{{r.ImageMean, &c.ImageMean, "image_mean"}, {r.ImageStd, &c.ImageStd, "image_std"}} {
		if len(m.raw) == 0 || string(m.raw) == "null" {
			continue
		}
		v, err := parseTriple(m.raw)
		if err != nil {
			return Config{}, fmt.Errorf("media: preprocessor config %s: %w", m.key, err)
		}
		*m.dst = v
	}
	if r.RescaleFactor != nil {
		c.RescaleFactor = *r.RescaleFactor
	}
	if r.DoRescale != nil {
		c.DoRescale = *r.DoRescale
	}
	if r.DoNormalize != nil {
		c.DoNormalize = *r.DoNormalize
	}
	if r.FPS != nil {
		c.FPS = *r.FPS
	}
	if r.MaxDuration != nil {
		c.MaxDuration = *r.MaxDuration
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseTriple accepts a list of three numbers or a single number (applied
// to every channel), as transformers does.
func parseTriple(raw json.RawMessage) ([3]float64, error) {
	var list []float64
	if err := json.Unmarshal(raw, &list); err == nil {
		if len(list) != 3 {
			return [3]float64{}, fmt.Errorf("want 3 values, got %d", len(list))
		}
		return [3]float64{list[0], list[1], list[2]}, nil
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err != nil {
		return [3]float64{}, errors.New("want a number or a list of 3 numbers")
	}
	return [3]float64{one, one, one}, nil
}

// LoadConfig reads preprocessor_config.json (or video_preprocessor_config.json)
// from path.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("media: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
