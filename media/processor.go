package media

import (
	"fmt"
)

// Patches is the processor output for one image or one video: the rows of
// the reference's pixel_values / pixel_values_videos and its grid_thw.
type Patches struct {
	// Values is [rows, C·Tp·p·p] row-major, rows = Grid[0]·Grid[1]·Grid[2].
	// Each merge group of m×m patches is m² consecutive rows (raster order
	// inside the group, groups in raster order, temporal groups outermost);
	// inside a row the layout is (channel, frame of the pair, y, x).
	Values []float32
	// Grid is (t, h, w) in patches: image_grid_thw / video_grid_thw.
	Grid [3]int
	// RowLen is C·Tp·p·p (1176 for the real models).
	RowLen int
	// MergeSize is m, for the token count.
	MergeSize int
	// ResizedH and ResizedW are the size the frames were resized to.
	ResizedH, ResizedW int
	// OrigH and OrigW are the size of the input (after EXIF orientation).
	OrigH, OrigW int
}

// Rows is the number of patch rows.
func (p *Patches) Rows() int { return p.Grid[0] * p.Grid[1] * p.Grid[2] }

// NumTokens is the number of placeholder tokens the prompt needs:
// t·h·w / m² (for a video, h·w/m² per temporal group times t).
func (p *Patches) NumTokens() int {
	m2 := p.MergeSize * p.MergeSize
	if m2 == 0 {
		return 0
	}
	return p.Rows() / m2
}

// TokensPerFrameGroup is h·w/m², the placeholder count of one temporal group.
func (p *Patches) TokensPerFrameGroup() int {
	m2 := p.MergeSize * p.MergeSize
	if m2 == 0 {
		return 0
	}
	return p.Grid[1] * p.Grid[2] / m2
}

// Processor is the GLM-4V image and video processor. It is immutable and
// safe for concurrent use.
type Processor struct {
	cfg       Config
	resampler Resampler
	// norm maps a uint8 level of channel c to its normalised float32 value
	// exactly as the chosen backend computes it.
	norm [3][256]float32
}

// NewProcessor builds a processor. Resampler Torchvision reproduces the
// transformers 5 default (fast) processor bit for bit; Pillow reproduces the
// PIL processor.
func NewProcessor(cfg Config, r Resampler) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r != Torchvision && r != Pillow {
		return nil, fmt.Errorf("media: unknown resampler %v", r)
	}
	p := &Processor{cfg: cfg, resampler: r}
	for c := range 3 {
		for v := range 256 {
			p.norm[c][v] = normalizeLevel(uint8(v), c, cfg, r)
		}
	}
	return p, nil
}

// Config returns the processor settings.
func (p *Processor) Config() Config { return p.cfg }

// Resampler returns the resampling backend.
func (p *Processor) Resampler() Resampler { return p.resampler }

// normalizeLevel computes one normalised value the way each reference
// backend does it, in float32.
func normalizeLevel(v uint8, c int, cfg Config, r Resampler) float32 {
	mean32 := float32(cfg.ImageMean[c])
	std32 := float32(cfg.ImageStd[c])
	if r == Torchvision {
		// transformers' fast processors fuse the two steps: mean and std
		// (float32 tensors) are multiplied by 1/rescale_factor, then
		// torchvision's normalize computes (x − mean') / std' in float32.
		switch {
		case cfg.DoRescale && cfg.DoNormalize:
			inv := float32(1 / cfg.RescaleFactor)
			m := mean32 * inv
			s := std32 * inv
			return (float32(v) - m) / s
		case cfg.DoRescale:
			return float32(v) * float32(cfg.RescaleFactor)
		case cfg.DoNormalize:
			return (float32(v) - mean32) / std32
		}
		return float32(v)
	}
	// PIL backend: numpy rescale in float64 cast to float32, then
	// (x − mean) / std in float32.
	x := float32(v)
	if cfg.DoRescale {
		x = float32(float64(v) * cfg.RescaleFactor)
	}
	if cfg.DoNormalize {
		x = (x - mean32) / std32
	}
	return x
}

// ProcessImage resizes, normalises and patchifies one image. The image is
// repeated TemporalPatchSize times along time, as the reference does.
func (p *Processor) ProcessImage(img *Image) (*Patches, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	c := p.cfg
	h, w, err := SmartResize(c.TemporalPatchSize, img.Height, img.Width, c.TemporalPatchSize, c.Factor(), c.MinPixels, c.MaxPixels)
	if err != nil {
		return nil, fmt.Errorf("media: image %d×%d: %w", img.Width, img.Height, err)
	}
	resized, err := Resize(img, w, h, p.resampler)
	if err != nil {
		return nil, err
	}
	frames := make([]*Image, c.TemporalPatchSize)
	for i := range frames {
		frames[i] = resized
	}
	out := p.patchify(frames)
	out.OrigH, out.OrigW = img.Height, img.Width
	return out, nil
}

func checkImage(img *Image) error {
	if img == nil || img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height*3 {
		return fmt.Errorf("media: invalid image")
	}
	return nil
}

// patchify normalises the resized frames (len a multiple of Tp, all the same
// size, multiples of p·m) and lays them out as patch rows.
func (p *Processor) patchify(frames []*Image) *Patches {
	c := p.cfg
	ps, tp, m := c.PatchSize, c.TemporalPatchSize, c.MergeSize
	H, W := frames[0].Height, frames[0].Width
	gt, gh, gw := len(frames)/tp, H/ps, W/ps
	rowLen := 3 * tp * ps * ps
	out := &Patches{
		Values:    make([]float32, gt*gh*gw*rowLen),
		Grid:      [3]int{gt, gh, gw},
		RowLen:    rowLen,
		MergeSize: m,
		ResizedH:  H,
		ResizedW:  W,
	}
	// Each frame of a temporal group is normalised once into planar
	// float32 [c][y][x]; a repeated frame (a still image) shares its plane.
	planes := make([][]float32, tp)
	bufs := make([][]float32, tp) // allocated on first use, reused per group
	row := 0
	for t := range gt {
		for f := range tp {
			img := frames[t*tp+f]
			if f > 0 && img == frames[t*tp+f-1] {
				planes[f] = planes[f-1]
				continue
			}
			if bufs[f] == nil {
				bufs[f] = make([]float32, 3*H*W)
			}
			pl := bufs[f]
			for ch := range 3 {
				lut := &p.norm[ch]
				dst := pl[ch*H*W : (ch+1)*H*W]
				for i := range dst {
					dst[i] = lut[img.Pix[i*3+ch]]
				}
			}
			planes[f] = pl
		}
		for bh := range gh / m {
			for bw := range gw / m {
				for ih := range m {
					for iw := range m {
						dst := out.Values[row*rowLen : (row+1)*rowLen]
						y0 := (bh*m + ih) * ps
						x0 := (bw*m + iw) * ps
						k := 0
						for ch := range 3 {
							for f := range tp {
								pl := planes[f][ch*H*W:]
								for py := range ps {
									base := (y0+py)*W + x0
									k += copy(dst[k:k+ps], pl[base:base+ps])
								}
							}
						}
						row++
					}
				}
			}
		}
	}
	return out
}
