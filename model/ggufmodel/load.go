package ggufmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/model"
)

// IsGGUF reports whether path is a regular file that starts with the GGUF
// magic.
func IsGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.Read(b[:]); err != nil {
		return false
	}
	return string(b[:]) == gguf.Magic
}

// FindMMProj finds the vision projector beside a text GGUF: the one
// mmproj-*.gguf in its folder, or, when there are several, the one named
// after the text file (mmproj-<text name>), then one of the same model
// with the same type, then F16, BF16, F32, Q8_0.
func FindMMProj(textPath string) (string, error) {
	dir := filepath.Dir(textPath)
	cands, err := filepath.Glob(filepath.Join(dir, "mmproj*.gguf"))
	if err != nil {
		return "", err
	}
	slices.Sort(cands)
	switch len(cands) {
	case 0:
		return "", fmt.Errorf("no mmproj*.gguf vision projector beside %s (pass --mmproj FILE)", textPath)
	case 1:
		return cands[0], nil
	}
	base := strings.TrimSuffix(filepath.Base(textPath), ".gguf")
	stem, typ := base, ""
	if i := strings.LastIndex(base, "-"); i > 0 {
		stem, typ = base[:i], base[i+1:]
	}
	var same []string
	for _, c := range cands {
		name := strings.TrimSuffix(filepath.Base(c), ".gguf")
		if name == "mmproj-"+base {
			return c, nil
		}
		if strings.HasPrefix(name, "mmproj-"+stem+"-") {
			same = append(same, c)
		}
	}
	if len(same) == 1 {
		return same[0], nil
	}
	if len(same) == 0 {
		same = cands
	}
	for _, t := range []string{typ, "F16", "BF16", "F32", "Q8_0"} {
		for _, c := range same {
			if t != "" && strings.EqualFold(strings.TrimSuffix(c, ".gguf"), filepath.Join(dir, "mmproj-"+stem+"-"+t)) {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("several vision projectors beside %s (%s); pass --mmproj FILE", textPath, strings.Join(cands, ", "))
}

// Pair is an opened text GGUF and its mmproj.
type Pair struct {
	Text, Vision *gguf.File
	Config       *model.Config
}

// Open opens a text GGUF and its mmproj (found beside it when mmproj is
// "") and builds the configuration from their metadata.
func Open(textPath, mmproj string) (*Pair, error) {
	if mmproj == "" {
		var err error
		if mmproj, err = FindMMProj(textPath); err != nil {
			return nil, err
		}
	}
	text, err := gguf.Open(textPath)
	if err != nil {
		return nil, err
	}
	vision, err := gguf.Open(mmproj)
	if err != nil {
		text.Close()
		return nil, err
	}
	cfg, err := Config(text.Header, vision.Header)
	if err != nil {
		text.Close()
		vision.Close()
		return nil, fmt.Errorf("%s + %s: %w", textPath, mmproj, err)
	}
	return &Pair{Text: text, Vision: vision, Config: cfg}, nil
}

// Close closes both files.
func (p *Pair) Close() error {
	return errors.Join(p.Text.Close(), p.Vision.Close())
}

// Load opens a GGUF pair and binds it into a model (see Open). pool may be
// nil.
func Load(textPath, mmproj string, pool *compute.Pool) (*model.Model, error) {
	p, err := Open(textPath, mmproj)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return p.Model(pool)
}

// Model binds the pair's tensors into a model, which then owns the files
// (closing the model closes them; the headers stay readable). On error the
// files are closed.
func (p *Pair) Model(pool *compute.Pool) (*model.Model, error) {
	src, err := NewSource(p.Text, p.Vision)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := model.New(p.Config, src, pool)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", p.Text.Path, err)
	}
	return m, nil
}
