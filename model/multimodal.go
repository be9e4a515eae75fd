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
	inVideo, ni, nv := 0, 0, 0
	for i, id := range ids {
		switch id {
		case cfg.VideoStartID:
			inVideo++
		case cfg.VideoEndID:
			inVideo--
		case cfg.ImageTokenID:
			src := &imgRows
			n := &ni
			if inVideo > 0 {
				src, n = &vidRows, &nv
			}
			if (*n+1)*H > len(*src) {
				return nil, fmt.Errorf("prompt has more image tokens than the vision tower produced rows (at position %d)", i)
			}
			copy(emb[i*H:(i+1)*H], (*src)[*n*H:(*n+1)*H])
			*n++
		}
	}
	if ni*H != len(imgRows) || nv*H != len(vidRows) {
		return nil, fmt.Errorf("prompt has %d image and %d video tokens, the vision tower produced %d and %d rows", ni, nv, len(imgRows)/H, len(vidRows)/H)
	}
	return &Prompt{Embeds: emb, Pos: pos, Delta: delta, IDs: ids}, nil
}
