// Package tokenizer reads Hugging Face tokenizer.json files of the byte-level
// BPE kind that GLM checkpoints ship and turns text into token ids and back.
//
// The supported components are the ones byte-level BPE tokenizers use:
// normalizers NFC/NFD/NFKC/NFKD/Lowercase/Sequence (or none); pre-tokenizers
// Split (regex with lookahead, or string), ByteLevel, Digits and Sequence; a
// BPE model with merges in either spelling; the ByteLevel decoder. Anything
// else is rejected at load time with an error naming the component. Added
// tokens (special or not) are matched before everything else and never split.
//
// Encode never adds special tokens: chat templates write [gMASK]<sop> and the
// role tokens themselves. The results agree id for id with the Hugging Face
// tokenizers library (see the goldens in testdata/tokenizer). Split regexes
// run on github.com/dlclark/regexp2, except the GLM-4/Llama 3/Qwen pattern,
// which has an equivalent hand-written matcher. Character classes (\p{L},
// \s…) come from Go's Unicode tables, so characters assigned after that
// Unicode version may split differently from the reference.
package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Tokenizer is a loaded byte-level BPE tokenizer. It is safe for concurrent
// use.
type Tokenizer struct {
	model      *bpe
	normalize  normalizer // nil: none
	steps      []splitter
	added      []*AddedToken
	addedByID  map[int]*AddedToken
	addedByStr map[string]*AddedToken
	raw        *addedMatcher // added tokens matched on the raw text
	norm       *addedMatcher // added tokens matched after normalization
	idToToken  []string      // "" for unused ids
	decodeRaw  []bool        // token bytes are its UTF-8 (not byte-level characters)

	// Config holds tokenizer_config.json's settings when LoadDir found one.
	Config *Config
}

// Config is the part of tokenizer_config.json a runtime needs.
type Config struct {
	// BOS, EOS, PAD and UNK are the configured special token strings, ""
	// when not set.
	BOS, EOS, PAD, UNK string
	// ChatTemplate is the raw chat_template field (a string, or a list of
	// {name, template} objects), nil when absent.
	ChatTemplate json.RawMessage
}

// Load reads a tokenizer.json file (or a gzip-compressed one whose name
// ends in ".gz").
func Load(path string) (*Tokenizer, error) {
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// LoadDir loads dir/tokenizer.json and, when present, dir/tokenizer_config.json
// (into t.Config).
func LoadDir(dir string) (*Tokenizer, error) {
	t, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(cfgPath)
	if os.IsNotExist(err) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
	}
	t.Config = cfg
	return t, nil
}

// ParseConfig decodes a tokenizer_config.json document.
func ParseConfig(data []byte) (*Config, error) {
	var raw struct {
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
		PAD          json.RawMessage `json:"pad_token"`
		UNK          json.RawMessage `json:"unk_token"`
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("tokenizer_config: %w", err)
	}
	cfg := &Config{}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"bos_token", raw.BOS, &cfg.BOS}, {"eos_token", raw.EOS, &cfg.EOS}, {"pad_token", raw.PAD, &cfg.PAD}, {"unk_token", raw.UNK, &cfg.UNK}} {
		s, err := tokenString(f.raw)
		if err != nil {
			return nil, fmt.Errorf("tokenizer_config: %s: %w", f.name, err)
		}
		*f.dst = s
	}
	if !isNull(raw.ChatTemplate) {
		cfg.ChatTemplate = raw.ChatTemplate
	}
	return cfg, nil
}

// tokenString reads a special token given as a string or as an AddedToken
// object {"content": ...}.
func tokenString(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("want a string or {\"content\": ...}: %w", err)
	}
	return obj.Content, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return data, nil
}

// Parse builds a tokenizer from the bytes of a tokenizer.json document.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return build(&f)
}

// build makes a tokenizer from a decoded tokenizer.json document.
func build(f *fileJSON) (*Tokenizer, error) {
	t := &Tokenizer{
		addedByID:  make(map[int]*AddedToken),
		addedByStr: make(map[string]*AddedToken),
	}
	var err error
	if t.model, err = newBPE(&f.Model); err != nil {
		return nil, err
	}
	if t.normalize, err = buildNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	var byteLevelPre bool
	if t.steps, byteLevelPre, err = buildPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if !byteLevelPre {
		return nil, fmt.Errorf("pre_tokenizer: no ByteLevel step; only byte-level BPE tokenizers are supported")
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	// The post_processor only adds special tokens and offsets; Encode adds
	// none, so it is not read.

	maxID := -1
	for _, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab: negative id %d", id)
		}
		maxID = max(maxID, id)
	}
	var rawTokens, normTokens []*AddedToken
	for i, a := range f.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d]: bad id %d or empty content", i, a.ID)
		}
		tok := &AddedToken{ID: a.ID, Content: a.Content, Special: a.Special, Normalized: a.Normalized,
			SingleWord: a.SingleWord, LStrip: a.LStrip, RStrip: a.RStrip}
		t.added = append(t.added, tok)
		t.addedByID[a.ID] = tok
		t.addedByStr[a.Content] = tok
		maxID = max(maxID, a.ID)
		if a.Normalized && t.normalize != nil {
			normTokens = append(normTokens, tok)
		} else {
			rawTokens = append(rawTokens, tok)
		}
	}
	t.raw = newAddedMatcher(rawTokens)
	t.norm = newAddedMatcher(normTokens)

	t.idToToken = make([]string, maxID+1)
	t.decodeRaw = make([]bool, maxID+1)
	for s, id := range f.Model.Vocab {
		t.idToToken[id] = s
	}
	for _, a := range t.added {
		t.idToToken[a.ID] = a.Content
	}
	for id, s := range t.idToToken {
		for _, r := range s {
			if _, ok := runeToByte[r]; !ok {
				t.decodeRaw[id] = true // not byte-level text: decoded as its own UTF-8
				break
			}
		}
	}
	return t, nil
}

func checkDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		return fmt.Errorf("decoder: missing; only the ByteLevel decoder is supported")
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		if len(c.Decoders) == 1 {
			return checkDecoder(c.Decoders[0])
		}
		return fmt.Errorf("decoder: Sequence of %d decoders is not supported (only a lone ByteLevel)", len(c.Decoders))
	}
	return fmt.Errorf("decoder: unsupported type %q (only ByteLevel)", c.Type)
}

// VocabSize is one more than the largest token id.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// TokenID returns the id of a token given by its content: an added token
// ("<|user|>") or a vocabulary entry in byte-level spelling ("Ġthe").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if a, ok := t.addedByStr[s]; ok {
		return a.ID, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// Token returns the content of token id (byte-level spelling for ordinary
// tokens), and false for an id the tokenizer does not have.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.idToToken) || t.idToToken[id] == "" {
		return "", false
	}
	return t.idToToken[id], true
}

// AddedTokens lists the added tokens in file order. The result must not be
// modified.
func (t *Tokenizer) AddedTokens() []*AddedToken { return t.added }

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool {
	a, ok := t.addedByID[id]
	return ok && a.Special
}

// Encode turns text into token ids. Added tokens in the text (special or not)
// become their ids; no special tokens are added around the text.
//
// Text that is not valid UTF-8 is cut at each invalid byte, which is encoded
// as its own single-byte token, so DecodeBytes(Encode(s)) == s for every s.
func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	for len(text) > 0 {
		n := validPrefixLen(text)
		if n > 0 {
			ids = t.encodeValid(ids, text[:n])
			text = text[n:]
			continue
		}
		if id := t.model.byteID[text[0]]; id >= 0 {
			ids = append(ids, int(id))
		}
		text = text[1:]
	}
	return ids
}

// validPrefixLen is the length of the longest valid UTF-8 prefix of s.
func validPrefixLen(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(s)
}

func (t *Tokenizer) encodeValid(ids []int, text string) []int {
	t.raw.split(text, func(seg segment) {
		if seg.token != nil {
			ids = append(ids, seg.token.ID)
			return
		}
		s := seg.text
		if t.normalize != nil {
			s = t.normalize(s)
		}
		t.norm.split(s, func(seg segment) {
			if seg.token != nil {
				ids = append(ids, seg.token.ID)
				return
			}
			t.preTokenize(0, seg.text, func(piece string) {
				ids = t.model.encodeWord(ids, piece)
			})
		})
	})
	return ids
}

// preTokenize runs the pre-tokenizer steps from step i on s.
func (t *Tokenizer) preTokenize(i int, s string, emit func(string)) {
	if s == "" {
		return
	}
	if i == len(t.steps) {
		emit(s)
		return
	}
	t.steps[i].split(s, func(p string) { t.preTokenize(i+1, p, emit) })
}

// DecodeBytes returns the bytes the ids stand for, which may end in (or
// contain) an incomplete UTF-8 sequence. Unknown ids are skipped.
func (t *Tokenizer) DecodeBytes(ids []int) []byte {
	var out []byte
	for _, id := range ids {
		out = t.appendTokenBytes(out, id)
	}
	return out
}

func (t *Tokenizer) appendTokenBytes(out []byte, id int) []byte {
	if id < 0 || id >= len(t.idToToken) {
		return out
	}
	s := t.idToToken[id]
	if t.decodeRaw[id] {
		return append(out, s...)
	}
	for _, r := range s {
		out = append(out, runeToByte[r])
	}
	return out
}

// Decode turns ids into text, special tokens included. Byte sequences that
// are not valid UTF-8 become U+FFFD, one per maximal invalid part, as the
// tokenizers library (Rust's from_utf8_lossy) does.
func (t *Tokenizer) Decode(ids []int) string {
	return lossyString(t.DecodeBytes(ids))
}

// lossyString converts b to a string, replacing each maximal ill-formed
// subsequence with U+FFFD (the Unicode "substitution of maximal subparts").
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, _ := lossyPrefix(b, true)
	return out
}

// lossyPrefix converts b like lossyString. When final is false it stops
// before a valid but incomplete character at the end of b and returns
// those bytes as rest, for a streaming caller to complete later.
func lossyPrefix(b []byte, final bool) (out string, rest []byte) {
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		bad, incomplete := invalidPrefix(b)
		if incomplete && !final {
			break
		}
		sb.WriteRune(utf8.RuneError)
		b = b[bad:]
	}
	return sb.String(), b
}

// invalidPrefix, for b starting with an ill-formed sequence, returns the
// length of its maximal subpart (at least 1) and whether that subpart is a
// valid but incomplete start of a character running to the end of b.
func invalidPrefix(b []byte) (n int, incomplete bool) {
	c := b[0]
	var size int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		size = 2
	case c == 0xE0:
		size, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		size = 3
	case c == 0xED:
		size, hi = 3, 0x9F
	case c == 0xF0:
		size, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		size = 4
	case c == 0xF4:
		size, hi = 4, 0x8F
	default:
		return 1, false
	}
	i := 1
	for ; i < size; i++ {
		if i >= len(b) {
			return i, true
		}
		lim0, lim1 := byte(0x80), byte(0xBF)
		if i == 1 {
			lim0, lim1 = lo, hi
		}
		if b[i] < lim0 || b[i] > lim1 {
			return i, false
		}
	}
	return i, false // complete: callers only ask about ill-formed input
}
