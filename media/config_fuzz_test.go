package media

import "testing"

// FuzzParseConfig feeds arbitrary preprocessor_config.json documents: an
// accepted config must be valid and usable by smart_resize.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"size":{"shortest_edge":12544,"longest_edge":47040000},"patch_size":14,"temporal_patch_size":2,"merge_size":2,"image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5]}`))
	f.Add([]byte(`{"min_pixels":3136,"max_pixels":12845056}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		_, _, _ = SmartResize(c.TemporalPatchSize, 480, 640, c.TemporalPatchSize, c.Factor(), c.MinPixels, c.MaxPixels)
	})
}
