package chat

import (
	"strconv"
	"strings"
)

// Box is one <|begin_of_box|>…<|end_of_box|> span of model output.
type Box struct {
	// Text is what the model wrote between the markers, e.g. "[[12,40,380,900]]".
	Text string
	// Shapes are the rectangles and points found in Text, in order; empty
	// when the box wraps plain text (GLM also boxes final answers).
	Shapes []Shape
}

// ShapeKind tells rectangles from points.
type ShapeKind int

const (
	// Rect is [x1, y1, x2, y2]: top-left and bottom-right corners.
	Rect ShapeKind = iota
	// Point is [x, y].
	Point
)

// Shape is one rectangle or point of a box.
type Shape struct {
	Kind ShapeKind
	// Norm holds the coordinates as the model wrote them, in its 0–1000
	// space (x by image width, y by height): 4 values for a Rect, 2 for a
	// Point.
	Norm []float64
	// Pixels holds the same coordinates in pixels of the original image,
	// x·W/1000 and y·H/1000, or nil when the image size is not known.
	Pixels []float64
}

// parseBox finds the shapes in a box's text. Each innermost bracket group
// — [..], (..) or <..> — holding 2 numbers is a point and 4 numbers a
// rectangle (a multiple of 4 is several rectangles); without brackets, the
// whole text is read the same way.
func parseBox(text string, w, h int) *Box {
	b := &Box{Text: text}
	var groups [][]float64
	var stack []int
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '[', '(', '<':
			stack = append(stack, i)
		case ']', ')', '>':
			if len(stack) == 0 {
				continue
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			inner := text[open+1 : i]
			if strings.ContainsAny(inner, "[]()<>") {
				continue // not innermost
			}
			if nums, ok := numbers(inner); ok {
				groups = append(groups, nums)
			}
		}
	}
	if len(groups) == 0 && !strings.ContainsAny(text, "[]()<>") {
		if nums, ok := numbers(text); ok {
			groups = append(groups, nums)
		}
	}
	for _, g := range groups {
		switch {
		case len(g) == 2:
			b.Shapes = append(b.Shapes, newShape(Point, g, w, h))
		case len(g) > 0 && len(g)%4 == 0:
			for i := 0; i < len(g); i += 4 {
				b.Shapes = append(b.Shapes, newShape(Rect, g[i:i+4], w, h))
			}
		}
	}
	return b
}

func newShape(kind ShapeKind, norm []float64, w, h int) Shape {
	s := Shape{Kind: kind, Norm: append([]float64(nil), norm...)}
	if w > 0 && h > 0 {
		s.Pixels = make([]float64, len(norm))
		for i, v := range norm {
			size := float64(w)
			if i%2 == 1 {
				size = float64(h)
			}
			s.Pixels[i] = v / 1000 * size
		}
	}
	return s
}

// numbers reads a list of numbers separated by commas and/or spaces; ok is
// false if anything else is in s or no number is.
func numbers(s string) ([]float64, bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 || len(fields) > 64 {
		return nil, false
	}
	out := make([]float64, 0, len(fields))
	for _, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v != v || v > 1e9 || v < -1e9 { // also rejects NaN and Inf
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}
