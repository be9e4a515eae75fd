package main

import (
	"fmt"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/model/ggufmodel"
	"github.com/glmv/glmv/tokenizer"
)

// ggufTokenizer reads the tokenizer in a GGUF file's metadata, or returns
// ok=false when path is not a GGUF file.
func ggufTokenizer(path string) (tok *tokenizer.Tokenizer, ok bool, err error) {
	if !ggufmodel.IsGGUF(path) {
		return nil, false, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, true, err
	}
	defer f.Close()
	tok, err = tokenizer.FromGGUF(f.Header)
	return tok, true, err
}

// ggufTemplate compiles the chat template in a GGUF file's metadata, or
// returns ok=false when path is not a GGUF file.
func ggufTemplate(path string) (tmpl *chat.Template, ok bool, err error) {
	if !ggufmodel.IsGGUF(path) {
		return nil, false, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, true, err
	}
	defer f.Close()
	v, _ := f.Get(tokenizer.KeyChatTemplate)
	src, _ := v.Str()
	if src == "" {
		return nil, true, fmt.Errorf("%s has no %s", path, tokenizer.KeyChatTemplate)
	}
	tmpl, err = chat.Compile(src)
	return tmpl, true, err
}
