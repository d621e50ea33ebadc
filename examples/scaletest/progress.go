package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressDelay is how long a run goes on before its progress bar appears,
// so that short runs print nothing.
const progressDelay = time.Second

// progressInterval is how often the bar is updated.
const progressInterval = 100 * time.Millisecond

// progress counts the turns of a run and, when enabled, draws a progress
// bar on a terminal once the run has lasted progressDelay. Turns only add
// to an atomic counter, and a separate goroutine updates the bar, so the
// load never waits for the terminal.
type progress struct {
	done    atomic.Int64
	stop    chan struct{}
	stopped sync.WaitGroup
}

// startProgress returns a progress for a run of total turns named name. It
// draws on w only when show is true.
func startProgress(w io.Writer, name string, total int, show bool) *progress {
	p := &progress{stop: make(chan struct{})}
	if show {
		p.stopped.Go(func() { p.draw(w, name, total) })
	}
	return p
}

// showProgress reports whether a progress bar may be drawn on w: only on a
// terminal, and not when the output is JSON for another program.
func showProgress(w io.Writer, jsonOutput bool) bool {
	f, ok := w.(*os.File)
	return ok && !jsonOutput && term.IsTerminal(int(f.Fd()))
}

func (p *progress) add(n int64) {
	p.done.Add(n)
}

// finish stops the bar and waits until it has been cleared.
func (p *progress) finish() {
	close(p.stop)
	p.stopped.Wait()
}

// draw updates a bar from the start of the run, so that its rate and times
// are right, but lets it reach w only after progressDelay.
func (p *progress) draw(w io.Writer, name string, total int) {
	out := &delayedWriter{w: w}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(fmt.Sprintf("%-8s", name)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("turns"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(progressInterval),
	)
	delay := time.NewTimer(progressDelay)
	defer delay.Stop()
	ticker := time.NewTicker(progressInterval)
	defer ticker.Stop()

	for {
		select {
		case <-p.stop:
			_ = bar.Clear()
			return
		case <-delay.C:
			out.visible.Store(true)
		case <-ticker.C:
			_ = bar.Set64(p.done.Load())
		}
	}
}

// delayedWriter discards what is written to it until visible is set.
type delayedWriter struct {
	w       io.Writer
	visible atomic.Bool
}

func (d *delayedWriter) Write(b []byte) (int, error) {
	if !d.visible.Load() {
		return len(b), nil
	}
	return d.w.Write(b)
}
