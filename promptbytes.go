package glmv

import "sync"

// MaxPromptBytes bounds the text a prompt that fits the context can have:
// every token spells at most as many bytes as the longest one, so text
// longer than ContextLimit × that is refused before it is tokenized.
func (m *Model) MaxPromptBytes() int {
	if m.longestToken == nil {
		return m.limit * m.computeLongestToken()
	}
	return m.limit * m.longestToken()
}

func (m *Model) computeLongestToken() int {
	n := 1
	for id := range m.Tokenizer.VocabSize() {
		n = max(n, len(m.Tokenizer.DecodeBytes([]int{id})))
	}
	return n
}

// initLongestToken makes MaxPromptBytes compute the longest token once.
func (m *Model) initLongestToken() {
	m.longestToken = sync.OnceValue(m.computeLongestToken)
}
