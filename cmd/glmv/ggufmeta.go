package main

import (
	"fmt"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/model/ggufmodel"
	"github.com/glmv/glmv/tokenizer"
)

// withGGUF opens path and calls read with it when path is a GGUF file;
// ok is false (and read is not called) when it is not one.
func withGGUF(path string, read func(f *gguf.File) error) (ok bool, err error) {
	if !ggufmodel.IsGGUF(path) {
		return false, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return true, err
	}
	defer f.Close()
	return true, read(f)
}

// ggufTokenizer reads the tokenizer in a GGUF file's metadata, or returns
// ok=false when path is not a GGUF file.
func ggufTokenizer(path string) (tok *tokenizer.Tokenizer, ok bool, err error) {
	ok, err = withGGUF(path, func(f *gguf.File) (err error) {
		tok, err = tokenizer.FromGGUF(f.Header)
		return err
	})
	return tok, ok, err
}

// ggufTemplate compiles the chat template in a GGUF file's metadata, or
// returns ok=false when path is not a GGUF file.
func ggufTemplate(path string) (tmpl *chat.Template, ok bool, err error) {
	ok, err = withGGUF(path, func(f *gguf.File) (err error) {
		v, _ := f.Get(tokenizer.KeyChatTemplate)
		src, _ := v.Str()
		if src == "" {
			return fmt.Errorf("%s has no %s", path, tokenizer.KeyChatTemplate)
		}
		tmpl, err = chat.Compile(src)
		return err
	})
	return tmpl, ok, err
}
