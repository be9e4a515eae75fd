package glmv

import (
	"context"
	"fmt"
	"os"

	"github.com/glmv/glmv/media"
)

// loadVideoBytes hands an in-memory video file to ffmpeg through a
// temporary file, sampling its frames as for a file on disk.
func (m *Model) loadVideoBytes(ctx context.Context, data []byte) (*media.Video, error) {
	ff, err := m.ffmpeg()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "glmv-video-*")
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("video: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	return m.proc.LoadVideo(ctx, ff, f.Name())
}
