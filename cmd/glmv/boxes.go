package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/media"
)

// boxColors cycle over the boxes drawn.
var boxColors = []color.RGBA{
	{230, 25, 75, 255}, {60, 180, 75, 255}, {0, 130, 200, 255}, {245, 130, 48, 255},
	{145, 30, 180, 255}, {240, 50, 230, 255}, {0, 128, 128, 255}, {170, 110, 40, 255},
}

// drawBoxesFile draws every rectangle and point of boxes (in pixels of the
// original image) on the image at imagePath and writes a PNG to out.
func drawBoxesFile(out, imagePath string, boxes []chat.Box, log io.Writer) error {
	if imagePath == "" {
		return fmt.Errorf("--draw-boxes needs an --image to draw on")
	}
	img, err := media.LoadImage(imagePath, nil)
	if err != nil {
		return err
	}
	canvas := drawBoxes(img, boxes)
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("draw boxes: %w", err)
	}
	if err := png.Encode(f, canvas); err != nil {
		f.Close()
		return fmt.Errorf("draw boxes: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("draw boxes: %w", err)
	}
	n := 0
	for _, b := range boxes {
		n += len(b.Shapes)
	}
	fmt.Fprintf(log, "wrote %s with %d shapes from %d boxes\n", out, n, len(boxes))
	return nil
}

// drawBoxes returns a copy of img with the shapes drawn: rectangles as
// 3-pixel outlines labelled with their number and the box text, points as
// crosses.
func drawBoxes(img *media.Image, boxes []chat.Box) *image.RGBA {
	W, H := img.Width, img.Height
	canvas := image.NewRGBA(image.Rect(0, 0, W, H))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := (y*W + x) * 3
			canvas.SetRGBA(x, y, color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], 255})
		}
	}
	k := 0
	for _, b := range boxes {
		for _, s := range b.Shapes {
			if s.Pixels == nil {
				continue
			}
			c := boxColors[k%len(boxColors)]
			k++
			label := fmt.Sprintf("%d %s", k, b.Text)
			switch len(s.Pixels) {
			case 4:
				x0, y0, x1, y1 := int(s.Pixels[0]), int(s.Pixels[1]), int(s.Pixels[2]), int(s.Pixels[3])
				if x0 > x1 {
					x0, x1 = x1, x0
				}
				if y0 > y1 {
					y0, y1 = y1, y0
				}
				const t = 3
				fill(canvas, image.Rect(x0, y0, x1, y0+t), c)
				fill(canvas, image.Rect(x0, y1-t, x1, y1), c)
				fill(canvas, image.Rect(x0, y0, x0+t, y1), c)
				fill(canvas, image.Rect(x1-t, y0, x1, y1), c)
				drawLabel(canvas, x0, y0, label, c)
			case 2:
				x, y := int(s.Pixels[0]), int(s.Pixels[1])
				fill(canvas, image.Rect(x-6, y-1, x+7, y+2), c)
				fill(canvas, image.Rect(x-1, y-6, x+2, y+7), c)
				drawLabel(canvas, x+8, y-6, label, c)
			}
		}
	}
	return canvas
}

func fill(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(dst, r.Intersect(dst.Bounds()), &image.Uniform{c}, image.Point{}, draw.Src)
}

// drawLabel writes text in white on a strip of color c above (x, y), or
// below it when there is no room above.
func drawLabel(dst *image.RGBA, x, y int, text string, c color.RGBA) {
	face := basicfont.Face7x13
	if len(text) > 40 {
		text = text[:40] + "…"
	}
	w := font.MeasureString(face, text).Ceil() + 4
	top := y - 15
	if top < 0 {
		top = y + 3
	}
	fill(dst, image.Rect(x, top, x+w, top+15), c)
	d := &font.Drawer{Dst: dst, Src: image.White, Face: face, Dot: fixed.P(x+2, top+12)}
	d.DrawString(text)
}
