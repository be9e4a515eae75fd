package model

import (
	"context"
	"fmt"
)

// PixelInput is the processor output for one image or video: patch rows
// ([t·h·w, PatchDim]) and the grid [t, h, w] in patches.
type PixelInput struct {
	Values []float32
	Grid   [3]int
}

// Prompt is a prompt ready for the decoder: input embeddings with the
// vision rows scattered in, 3-D positions and the rope delta.
type Prompt struct {
	Embeds []float32 // [len(IDs), hidden]
	Pos    [3][]int
	Delta  int
	IDs    []int
}

// runVision embeds a list of images or videos, in order, with one pass of
// the vision tower, and returns one row per placeholder token.
func (m *Model) runVision(ctx context.Context, inputs []PixelInput) ([]float32, error) {
	if len(inputs) == 0 {
		return nil, nil
	}
	var pixels []float32
	var grids [][3]int
	for i, in := range inputs {
		rows := in.Grid[0] * in.Grid[1] * in.Grid[2]
		if want := rows * m.Config.Vision.PatchDim(); len(in.Values) != want || rows <= 0 {
			return nil, fmt.Errorf("vision input %d: %d values for grid %v, want %d", i, len(in.Values), in.Grid, want)
		}
		pixels = append(pixels, in.Values...)
		grids = append(grids, in.Grid)
	}
	return m.Vision.Forward(ctx, pixels, Segments(grids))
}

// BuildPrompt embeds an expanded prompt: text tokens from the embedding
// table, image tokens outside video spans from the images (in order) and
// image tokens inside <|begin_of_video|>…<|end_of_video|> from the videos.
func (m *Model) BuildPrompt(ctx context.Context, ids []int, images, videos []PixelInput) (*Prompt, error) {
	cfg := m.Config
	H := cfg.Text.Hidden
	var ig, vg [][3]int
	for _, in := range images {
		ig = append(ig, in.Grid)
	}
	for _, in := range videos {
		vg = append(vg, in.Grid)
	}
	pos, delta, err := RopeIndex(cfg, ids, ig, vg)
	if err != nil {
		return nil, err
	}
	emb := make([]float32, len(ids)*H)
	for i, id := range ids {
		if id == cfg.ImageTokenID {
			continue
		}
		if id < 0 || id >= cfg.Text.Vocab {
			return nil, fmt.Errorf("token id %d at position %d is outside the vocabulary [0, %d)", id, i, cfg.Text.Vocab)
		}
		m.Weights.Text.Embed.Row(id, emb[i*H:(i+1)*H])
	}
	imgRows, err := m.runVision(ctx, images)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	vidRows, err := m.runVision(ctx, videos)
	if err != nil {
		return nil, fmt.Errorf("videos: %w", err)
	}
	ni, nv, err := WalkVisionTokens(cfg, ids, func(i int, video bool, n int) error {
		src := imgRows
		if video {
			src = vidRows
		}
		if (n+1)*H > len(src) {
			return fmt.Errorf("prompt has more image tokens than the vision tower produced rows (at position %d)", i)
		}
		copy(emb[i*H:(i+1)*H], src[n*H:(n+1)*H])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ni*H != len(imgRows) || nv*H != len(vidRows) {
		return nil, fmt.Errorf("prompt has %d image and %d video tokens, the vision tower produced %d and %d rows", ni, nv, len(imgRows)/H, len(vidRows)/H)
	}
	return &Prompt{Embeds: emb, Pos: pos, Delta: delta, IDs: ids}, nil
}

// WalkVisionTokens calls visit for each image token of ids, in order, with
// its position, whether it lies inside a video (between the video start and
// end markers) and its index among the image tokens of its kind: the vision
// row it takes from the images' rows or from the videos' rows. It returns
// the number of image and video rows used, or visit's first error.
func WalkVisionTokens(cfg *Config, ids []int, visit func(pos int, video bool, row int) error) (images, videos int, err error) {
	inVideo := 0
	for i, id := range ids {
		switch id {
		case cfg.VideoStartID:
			inVideo++
		case cfg.VideoEndID:
			inVideo--
		case cfg.ImageTokenID:
			n := &images
			if inVideo > 0 {
				n = &videos
			}
			if err := visit(i, inVideo > 0, *n); err != nil {
				return images, videos, err
			}
			*n++
		}
	}
	return images, videos, nil
}
