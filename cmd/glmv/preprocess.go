package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/safetensors"
)

func preprocessCommand() command {
	return command{name: "preprocess", summary: "write an image's or a video's decoded frames and processed pixels to a safetensors file", run: runPreprocess}
}

func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("preprocess", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir, image, video, out, resampler string
	fs.StringVar(&dir, "m", "", "checkpoint folder; its preprocessor_config.json is used (the GLM-4.1V/4.5V defaults when it has none) (required)")
	fs.StringVar(&image, "image", "", "image file (JPEG, PNG, GIF, WebP, BMP, TIFF)")
	fs.StringVar(&video, "video", "", "video file (decoded with ffmpeg)")
	fs.StringVar(&out, "o", "", "output safetensors file (required)")
	fs.StringVar(&resampler, "resampler", "torchvision", "resize implementation to reproduce: torchvision (the default image and video processors) or pil")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv preprocess -m DIR (--image FILE | --video FILE) -o OUT.safetensors")
		fmt.Fprintln(stderr, "\nWrites what the vision tower is given, to compare with the reference processor:")
		fmt.Fprintln(stderr, "  rgb           U8  [frames, H, W, 3]  decoded frames, upright (EXIF orientation,")
		fmt.Fprintln(stderr, "                                      a video's display rotation), video frames as sampled")
		fmt.Fprintln(stderr, "  pixel_values  F32 [patches, C·T·P·P] the processor's output (pixel_values or")
		fmt.Fprintln(stderr, "                                      pixel_values_videos in transformers)")
		fmt.Fprintln(stderr, "  grid_thw      I64 [1, 3]             image_grid_thw / video_grid_thw")
		fmt.Fprintln(stderr, "  frame_indices I64 [frames]           (videos) the sampled frame numbers")
		fmt.Fprintln(stderr, "\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dir == "" || out == "" || (image == "") == (video == "") || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("need -m DIR, exactly one of --image and --video, and -o OUT.safetensors")
	}
	var rs media.Resampler
	switch resampler {
	case "torchvision":
		rs = media.Torchvision
	case "pil":
		rs = media.Pillow
	default:
		return fmt.Errorf("--resampler %q: want torchvision or pil", resampler)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("-m %s: not a folder", dir)
	}
	cfg := media.DefaultConfig()
	if p := filepath.Join(dir, "preprocessor_config.json"); !errors.Is(statErr(p), os.ErrNotExist) {
		var err error
		if cfg, err = media.LoadConfig(p); err != nil {
			return err
		}
	}
	proc, err := media.NewProcessor(cfg, rs)
	if err != nil {
		return err
	}
	meta := map[string]string{"resampler": resampler}
	var frames []*media.Image
	var pat *media.Patches
	var indices []int
	if image != "" {
		img, err := media.LoadImage(image, nil)
		if err != nil {
			return err
		}
		if pat, err = proc.ProcessImage(img); err != nil {
			return err
		}
		frames = []*media.Image{img}
		meta["source"] = filepath.Base(image)
	} else {
		ff, err := media.FindFFmpeg()
		if err != nil {
			return err
		}
		v, err := proc.LoadVideo(ctx, ff, video)
		if err != nil {
			return err
		}
		if pat, err = proc.ProcessVideo(v.Frames); err != nil {
			return err
		}
		frames, indices = v.Frames, v.Indices
		meta["source"] = filepath.Base(video)
		meta["rotation"] = strconv.FormatFloat(v.Rotation, 'g', -1, 64)
		meta["fps"] = strconv.FormatFloat(v.Metadata.FPS, 'g', -1, 64)
	}
	tensors, err := preprocessTensors(frames, pat, indices)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := safetensors.Write(f, tensors, meta); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: rgb %d×%d×%d×3, pixel_values %d×%d, grid_thw %v\n", out,
		len(frames), frames[0].Height, frames[0].Width, pat.Rows(), len(pat.Values)/pat.Rows(), pat.Grid)
	return nil
}

func statErr(p string) error {
	_, err := os.Stat(p)
	return err
}

// preprocessTensors lays out the frames, the patches and the grid.
func preprocessTensors(frames []*media.Image, pat *media.Patches, indices []int) ([]safetensors.Tensor, error) {
	h, w := frames[0].Height, frames[0].Width
	rgb := make([]byte, 0, len(frames)*h*w*3)
	for i, f := range frames {
		if f.Width != w || f.Height != h {
			return nil, fmt.Errorf("frame %d is %d×%d, frame 0 is %d×%d", i, f.Width, f.Height, w, h)
		}
		rgb = append(rgb, f.Pix...)
	}
	rows := pat.Rows()
	if rows == 0 || len(pat.Values)%rows != 0 {
		return nil, fmt.Errorf("processor output of %d values for grid %v", len(pat.Values), pat.Grid)
	}
	values := make([]byte, 4*len(pat.Values))
	for i, v := range pat.Values {
		binary.LittleEndian.PutUint32(values[4*i:], math.Float32bits(v))
	}
	int64s := func(xs []int) []byte {
		b := make([]byte, 8*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(int64(x)))
		}
		return b
	}
	tensors := []safetensors.Tensor{
		{Name: "rgb", DType: safetensors.U8, Shape: []int{len(frames), h, w, 3}, Data: rgb},
		{Name: "pixel_values", DType: safetensors.F32, Shape: []int{rows, len(pat.Values) / rows}, Data: values},
		{Name: "grid_thw", DType: safetensors.I64, Shape: []int{1, 3}, Data: int64s(pat.Grid[:])},
	}
	if indices != nil {
		tensors = append(tensors, safetensors.Tensor{Name: "frame_indices", DType: safetensors.I64, Shape: []int{len(indices)}, Data: int64s(indices)})
	}
	return tensors, nil
}
