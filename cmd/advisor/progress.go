package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// largeTransfer is the size from which export and import show a progress
// bar on their own (when stderr is a terminal): smaller ones finish before a
// bar would tell anyone anything.
const largeTransfer = 1000

// progress counts conversations on stderr. Without a terminal it stays
// silent unless forced, so logs and pipes don't fill with redraws.
type progress struct{ bar *progressbar.ProgressBar }

func newProgress(e env, total int, what string, force bool) progress {
	if !force && (total < largeTransfer || !isTerminal(e.rawStderr)) {
		return progress{}
	}
	return progress{progressbar.NewOptions(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("conversations"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.stderr) }),
	)}
}

func (p progress) add() {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

func (p progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
