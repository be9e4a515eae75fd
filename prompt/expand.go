// Package prompt turns a rendered chat prompt into the model's input: it
// expands each image and video placeholder into the number of vision
// tokens the processor produced, exactly as the reference processor does.
package prompt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Markers are the special-token strings the expansion writes.
type Markers struct {
	Image      string // "<|image|>"
	Video      string // "<|video|>"
	ImageStart string // "<|begin_of_image|>"
	ImageEnd   string // "<|end_of_image|>"
}

// DefaultMarkers are the GLM-4.xV token strings.
var DefaultMarkers = Markers{Image: "<|image|>", Video: "<|video|>", ImageStart: "<|begin_of_image|>", ImageEnd: "<|end_of_image|>"}

// TimestampStyle is how a video frame group's time is written.
type TimestampStyle int

const (
	// TimestampSeconds writes the whole seconds, as GLM-4.1V/4.5V do ("3").
	TimestampSeconds TimestampStyle = iota
	// TimestampTenths writes "3.5 seconds", as GLM-4.6V does.
	TimestampTenths
)

// Format renders one timestamp in this style.
func (s TimestampStyle) Format(t float64) string {
	if s == TimestampTenths {
		return strconv.FormatFloat(t, 'f', 1, 64) + " seconds"
	}
	return strconv.Itoa(int(math.Trunc(t)))
}

// Video describes one video for expansion: its grid [t, h, w] (in
// patches) and the timestamp of each of the t temporal groups.
type Video struct {
	Grid       [3]int
	Timestamps []float64
}

// Expand replaces, in order, each image placeholder of text by
// t·h·w/merge² image tokens (grid of images[i]) and each video placeholder
// by, per temporal group, begin-of-image + h·w/merge² image tokens +
// end-of-image + the group's timestamp. The placeholder counts must match
// the media given.
func Expand(text string, mk Markers, merge int, images [][3]int, videos []Video, ts TimestampStyle) (string, error) {
	if merge <= 0 {
		return "", fmt.Errorf("expand prompt: merge size %d", merge)
	}
	if n := strings.Count(text, mk.Image); n != len(images) {
		return "", fmt.Errorf("expand prompt: the prompt has %d image placeholders for %d images", n, len(images))
	}
	if n := strings.Count(text, mk.Video); n != len(videos) {
		return "", fmt.Errorf("expand prompt: the prompt has %d video placeholders for %d videos", n, len(videos))
	}
	var sb strings.Builder
	img, vid := 0, 0
	for len(text) > 0 {
		i := strings.Index(text, mk.Image)
		j := strings.Index(text, mk.Video)
		if i < 0 && j < 0 {
			sb.WriteString(text)
			break
		}
		if j < 0 || (i >= 0 && i < j) {
			sb.WriteString(text[:i])
			g := images[img]
			img++
			n, err := tokens(g, merge)
			if err != nil {
				return "", fmt.Errorf("expand prompt: image %d: %w", img, err)
			}
			sb.WriteString(strings.Repeat(mk.Image, n))
			text = text[i+len(mk.Image):]
			continue
		}
		sb.WriteString(text[:j])
		v := videos[vid]
		vid++
		per, err := tokens([3]int{1, v.Grid[1], v.Grid[2]}, merge)
		if err != nil || v.Grid[0] <= 0 {
			return "", fmt.Errorf("expand prompt: video %d: bad grid %v", vid, v.Grid)
		}
		for g := 0; g < v.Grid[0]; g++ {
			sb.WriteString(mk.ImageStart)
			sb.WriteString(strings.Repeat(mk.Image, per))
			sb.WriteString(mk.ImageEnd)
			t := 0.0
			switch {
			case g < len(v.Timestamps):
				t = v.Timestamps[g]
			case len(v.Timestamps) > 0:
				t = v.Timestamps[len(v.Timestamps)-1]
			}
			sb.WriteString(ts.Format(t))
		}
		text = text[j+len(mk.Video):]
	}
	return sb.String(), nil
}

func tokens(g [3]int, merge int) (int, error) {
	if g[0] <= 0 || g[1] <= 0 || g[2] <= 0 || g[1]%merge != 0 || g[2]%merge != 0 {
		return 0, fmt.Errorf("bad grid %v for merge size %d", g, merge)
	}
	return g[0] * g[1] * g[2] / (merge * merge), nil
}
