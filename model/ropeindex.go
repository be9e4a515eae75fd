package model

import "fmt"

// RopeIndex computes the 3-D rope positions (temporal, height, width) of a
// prompt, as the reference get_rope_index does, and the rope delta that
// continues them during decoding (absolute index i gets position i+delta).
//
// ids is the expanded prompt. Every run of image-token ids is one image
// (grid from images, in order) or, inside <|begin_of_video|> …
// <|end_of_video|>, one temporal group of a video (grids from videos, each
// [t, h, w] contributing t groups). Text tokens advance all three axes by
// one; a vision run of merged grid h'×w' places its tokens at (cur,
// cur+row, cur+col) and advances by max(h', w').
func RopeIndex(cfg *Config, ids []int, images, videos [][3]int) (pos [3][]int, delta int, err error) {
	m := cfg.Vision.SpatialMerge
	S := len(ids)
	for a := range pos {
		pos[a] = make([]int, S)
	}
	var groups [][3]int // video temporal groups, expanded
	for _, g := range videos {
		for i := 0; i < g[0]; i++ {
			groups = append(groups, [3]int{1, g[1], g[2]})
		}
	}
	cur, maxPos := 0, -1
	inVideo := 0
	nImg, nGrp := 0, 0
	for i := 0; i < S; {
		id := ids[i]
		switch id {
		case cfg.VideoStartID:
			inVideo++
		case cfg.VideoEndID:
			inVideo--
		}
		if id != cfg.ImageTokenID {
			for a := range pos {
				pos[a][i] = cur
			}
			maxPos = max(maxPos, cur)
			cur++
			i++
			continue
		}
		var g [3]int
		if inVideo > 0 {
			if nGrp >= len(groups) {
				return pos, 0, fmt.Errorf("rope index: video frame tokens at position %d but only %d video frame groups were given", i, len(groups))
			}
			g = groups[nGrp]
			nGrp++
		} else {
			if nImg >= len(images) {
				return pos, 0, fmt.Errorf("rope index: image tokens at position %d but only %d images were given", i, len(images))
			}
			g = images[nImg]
			nImg++
		}
		if g[0] <= 0 || g[1]%m != 0 || g[2]%m != 0 || g[1] <= 0 || g[2] <= 0 {
			return pos, 0, fmt.Errorf("rope index: bad grid %v for merge size %d", g, m)
		}
		t, h, w := g[0], g[1]/m, g[2]/m
		n := t * h * w
		if i+n > S {
			return pos, 0, fmt.Errorf("rope index: grid %v needs %d image tokens at position %d, only %d tokens remain", g, n, i, S-i)
		}
		for j := 0; j < n; j++ {
			if ids[i+j] != cfg.ImageTokenID {
				return pos, 0, fmt.Errorf("rope index: grid %v needs %d image tokens at position %d, the run has %d", g, n, i, j)
			}
			ti, r, c := j/(h*w), (j/w)%h, j%w
			pos[0][i+j], pos[1][i+j], pos[2][i+j] = cur+ti, cur+r, cur+c
			maxPos = max(maxPos, cur+max(ti, r, c))
		}
		cur += max(t, h, w)
		i += n
	}
	if nImg != len(images) {
		return pos, 0, fmt.Errorf("rope index: %d images given but the prompt has image tokens for %d", len(images), nImg)
	}
	if nGrp != len(groups) {
		return pos, 0, fmt.Errorf("rope index: videos give %d frame groups but the prompt has tokens for %d", len(groups), nGrp)
	}
	return pos, maxPos + 1 - S, nil
}
