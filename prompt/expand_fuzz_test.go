package prompt

import (
	"strings"
	"testing"
)

// FuzzExpand checks that expansion never panics and, when it succeeds,
// writes exactly the number of image tokens the grids imply.
func FuzzExpand(f *testing.F) {
	f.Add("a<|image|>b<|video|>c", 2, 4, 2, 2, 2)
	f.Add("<|image|><|image|>", 4, 4, 1, 2, 2)
	f.Fuzz(func(t *testing.T, text string, ih, iw, vt, vh, vw int) {
		images := make([][3]int, strings.Count(text, DefaultMarkers.Image))
		for i := range images {
			images[i] = [3]int{1, ih, iw}
		}
		videos := make([]Video, strings.Count(text, DefaultMarkers.Video))
		for i := range videos {
			videos[i] = Video{Grid: [3]int{vt, vh, vw}, Timestamps: []float64{0.5}}
		}
		if ih*iw > 1<<12 || vt*vh*vw > 1<<12 || ih < 0 || iw < 0 || vt < 0 || vh < 0 || vw < 0 {
			return
		}
		out, err := Expand(text, DefaultMarkers, 2, images, videos, TimestampSeconds)
		if err != nil {
			return
		}
		want := strings.Count(text, DefaultMarkers.Image)*ih*iw/4 + len(videos)*vt*vh*vw/4
		// The input text may itself contain pieces that join into image
		// tokens only around the placeholders; count on the replaced parts.
		if got := strings.Count(out, DefaultMarkers.Image); got < want {
			t.Fatalf("%d image tokens, want at least %d", got, want)
		}
	})
}
