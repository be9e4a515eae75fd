package prompt

import (
	"strings"
	"testing"

	"github.com/glmv/glmv/internal/reftest"
)

func grids(v any) [][3]int {
	list, _ := v.([]any)
	var out [][3]int
	for _, g := range list {
		gg := g.([]any)
		out = append(out, [3]int{int(gg[0].(float64)), int(gg[1].(float64)), int(gg[2].(float64))})
	}
	return out
}

// The expansion of every reference case's prompt equals the reference
// processor's expanded prompt.
func TestExpandReference(t *testing.T) {
	reftest.Run(t, func(t *testing.T, c *reftest.Case) {
		var videos []Video
		for _, g := range grids(c.Meta["video_grid_thw"]) {
			v := Video{Grid: g}
			md, _ := c.Meta["video_metadata"].(map[string]any)
			ts, _ := md["timestamps"].([]any)
			for i := 0; i < len(ts); i += 2 {
				v.Timestamps = append(v.Timestamps, ts[i].(float64))
			}
			videos = append(videos, v)
		}
		got, err := Expand(c.Meta["prompt"].(string), DefaultMarkers, 2, grids(c.Meta["image_grid_thw"]), videos, TimestampSeconds)
		if err != nil {
			t.Fatal(err)
		}
		if want := c.Meta["expanded_prompt"].(string); got != want {
			t.Errorf("expanded prompt differs\n got %q\nwant %q", got, want)
		}
	})
}

func TestExpandErrors(t *testing.T) {
	mk := DefaultMarkers
	if _, err := Expand("a<|image|>b", mk, 2, nil, nil, TimestampSeconds); err == nil || !strings.Contains(err.Error(), "1 image placeholders for 0 images") {
		t.Errorf("err = %v", err)
	}
	if _, err := Expand("<|video|>", mk, 2, nil, nil, TimestampSeconds); err == nil || !strings.Contains(err.Error(), "video placeholders") {
		t.Errorf("err = %v", err)
	}
	if _, err := Expand("<|image|>", mk, 2, [][3]int{{1, 3, 4}}, nil, TimestampSeconds); err == nil || !strings.Contains(err.Error(), "bad grid") {
		t.Errorf("err = %v", err)
	}
}

func TestExpandOrderAndStyles(t *testing.T) {
	got, err := Expand("<|video|>x<|image|>", DefaultMarkers, 2, [][3]int{{1, 2, 4}}, []Video{{Grid: [3]int{2, 2, 2}, Timestamps: []float64{0, 2.5}}}, TimestampTenths)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|begin_of_image|><|image|><|end_of_image|>0.0 seconds<|begin_of_image|><|image|><|end_of_image|>2.5 seconds" + "x<|image|><|image|>"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if s := TimestampSeconds.Format(2.9); s != "2" {
		t.Errorf("seconds style writes %q for 2.9", s)
	}
}
