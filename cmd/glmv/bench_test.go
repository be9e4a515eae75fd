package main

import (
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/model"
)

// TestVisionFLOPs checks the vision tower's operation count against the
// formula written out from the config: matrix products 2·T·rows·cols,
// attention 4·n²·hidden per block and segment.
func TestVisionFLOPs(t *testing.T) {
	v := model.VisionConfig{Depth: 2, Hidden: 8, Heads: 2, OutHidden: 16, Intermediate: 24, PatchSize: 2,
		TemporalPatch: 2, SpatialMerge: 2, ImageSize: 8, InChannels: 3, RMSNormEps: 1e-5, RopeTheta: 10000}
	w := model.RandomVisionWeights(&v, compute.F32, 1)
	segs := []model.Segment{{H: 4, W: 6}, {H: 2, W: 2}}
	S, C, O, I := 28.0, 8.0, 16.0, 24.0
	N := S / 4
	block := 2*S*C*3*C + 2*S*C*C + 3*2*S*C*O + 4*(24*24+4*4)*C
	want := 2*S*24*C + 2*block + 2*N*4*C*O + 2*N*O*O + 3*2*N*O*I
	if got := visionFLOPs(w, segs, 2); got != want {
		t.Errorf("visionFLOPs = %v, want %v", got, want)
	}
}
