package bench

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints one live line a second while a run goes on: open
// connections, messages received per second and errors. It prints only when
// its output is a terminal, so logs and pipes get the summary alone.
type progress struct {
	out      io.Writer
	live     bool
	workers  []event
	lastRecv int64
	last     time.Time
	printed  bool
}

func newProgress(out io.Writer, workers int) *progress {
	return &progress{out: out, live: isTerminal(out), workers: make([]event, workers), last: time.Now()}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update keeps a worker's latest counters.
func (p *progress) update(id int, e *event) { p.workers[id] = *e }

func (p *progress) totals() (t event) {
	for _, w := range p.workers {
		t.Open += w.Open
		t.Errors += w.Errors
		t.Sent += w.Sent
		t.Received += w.Received
	}
	return t
}

// line formats the progress line for the totals and the rate since last.
func (p *progress) line(now time.Time) string {
	t := p.totals()
	rate := 0.0
	if dt := now.Sub(p.last).Seconds(); dt > 0 {
		rate = float64(t.Received-p.lastRecv) / dt
	}
	p.lastRecv, p.last = t.Received, now
	return fmt.Sprintf("conns %d  msgs/s %.0f  sent %d  recv %d  errors %d", t.Open, rate, t.Sent, t.Received, t.Errors)
}

func (p *progress) print() {
	if !p.live {
		return
	}
	// \r and erase-line keep it to one line that updates in place.
	fmt.Fprintf(p.out, "\r\x1b[K%s", p.line(time.Now()))
	p.printed = true
}

// done ends the live line so that the summary starts on its own.
func (p *progress) done() {
	if p.printed {
		fmt.Fprintln(p.out)
	}
}
