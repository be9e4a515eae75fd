package constrain

// acAutomaton is an Aho-Corasick automaton over the Avoid strings: its
// state is the longest suffix of the text so far that is a prefix of one
// of them. A byte that would complete one has no successor.
type acAutomaton struct {
	states []acState
}

type acState struct {
	next   [128]int32 // successor for each ASCII byte; -1: completes an Avoid string
	fail   int32
	output bool // this prefix ends with a whole Avoid string
}

func newAC(words []string) *acAutomaton {
	a := &acAutomaton{states: []acState{{}}}
	goto_ := []map[byte]int32{{}}
	for _, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			t, ok := goto_[s][w[i]]
			if !ok {
				a.states = append(a.states, acState{})
				goto_ = append(goto_, map[byte]int32{})
				t = int32(len(a.states) - 1)
				goto_[s][w[i]] = t
			}
			s = t
		}
		a.states[s].output = true
	}
	// Breadth-first: failure links, outputs and the full transition table.
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		st := &a.states[s]
		if st.fail != s && a.states[st.fail].output {
			st.output = true
		}
		for c := 0; c < 128; c++ {
			if t, ok := goto_[s][byte(c)]; ok {
				if s == 0 {
					a.states[t].fail = 0
				} else {
					a.states[t].fail = a.states[st.fail].next[c]
				}
				st.next[c] = t
				queue = append(queue, t)
			} else if s == 0 {
				st.next[c] = 0
			} else {
				st.next[c] = a.states[st.fail].next[c]
			}
		}
	}
	return a
}

// next is the state after byte c (ASCII) from state s, or -1 when the text
// would then end with an Avoid string.
func (a *acAutomaton) next(s int, c byte) int {
	t := a.states[s].next[c]
	if t < 0 || a.states[t].output {
		return -1
	}
	return int(t)
}
