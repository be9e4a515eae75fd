package tokenizer

// StreamDecoder turns ids into text one id at a time, for printing a
// generation as it happens. Tokens may end in the middle of a UTF-8
// character; the decoder holds such bytes back until the character is
// complete, so it never emits half a character. The concatenation of all
// Add results and the final Flush equals Decode of all the ids.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder for a new stream of ids.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add appends one id and returns the text that became complete, possibly "".
func (d *StreamDecoder) Add(id int) string {
	d.pending = d.t.appendTokenBytes(d.pending, id)
	return d.drain(false)
}

// Flush returns whatever is held back (an incomplete character becomes
// U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

// drain emits the complete prefix of pending. Ill-formed bytes become U+FFFD
// right away; a valid but incomplete character at the end waits for more
// bytes unless final is set.
func (d *StreamDecoder) drain(final bool) string {
	out, rest := lossyPrefix(d.pending, final)
	d.pending = append(d.pending[:0], rest...)
	return out
}
