package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws a one-line progress bar on a terminal and nothing
// elsewhere.
type progressBar struct {
	w    io.Writer
	on   bool
	last string
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w, on: isTerminal(w)} }

// update draws stage done/total.
func (p *progressBar) update(stage string, done, total int) {
	if !p.on || total <= 0 {
		return
	}
	const width = 30
	n := done * width / total
	line := fmt.Sprintf("\r%-10s [%s%s] %d/%d", stage, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	if line != p.last {
		fmt.Fprint(p.w, line)
		p.last = line
	}
	if done == total {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.last = ""
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
