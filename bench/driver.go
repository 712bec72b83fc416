package bench

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Phases of a run, shared by the worker and its loops. A loop acts on a
// phase change at its next tick.
const (
	phaseConnect int32 = iota // dial at the connect rate
	phaseRun                  // the measurement window: send
	phaseStop                 // stop sending, report what was published
	phaseDrain                // wait for answers still on the way
	phaseClose                // close every connection cleanly
)

// maxPendingDials bounds handshakes in flight per loop so that a fast
// connect rate does not overflow the server's accept backlog.
const maxPendingDials = 512

// workload is the part of a run that differs between conns, echo and bcast.
// A workload value belongs to one loop and runs on its goroutine.
type workload interface {
	opened(c *Conn, now int64)
	message(c *Conn, p []byte, now int64)
	start(now int64)
	tick(now int64)
	stop()
	drained() bool
	finish(r *Result)
}

// loopCounters are read by the progress reporter while the loop runs.
type loopCounters struct {
	open, connectErrors, errors, sent, recv atomic.Int64
}

// driver runs one Loop through the phases: it dials the loop's share of
// connections, then hands the open ones to the workload.
type driver struct {
	w             *worker
	loop          *Loop
	wl            workload
	churn         *churner // bcast -churn; nil without
	slot          int      // this loop's number within the worker
	n             int      // connections this loop dials
	dialed        int
	wantPublisher bool

	pending       int
	dialStart     int64
	lastOpen      int64
	lastExpire    int64
	seen          int32 // last phase acted on
	drainDeadline int64
	closeDeadline int64
	count         loopCounters
	handshake     *Hist
	latency       *Hist
	errSamples    []string

	ready, stopped, drained atomic.Bool
}

// Opened implements Hooks.
// The bcast publisher (Index -1) is not one of the connections asked for:
// it is not counted among them (a report said 301/300 open).
// A re-dial of churn is counted by the churn: the connection it replaces
// was counted when it opened.
func (d *driver) Opened(c *Conn, now int64) {
	d.pending--
	if c.Redialed {
		d.churn.reopened(c, now)
		d.wl.opened(c, now)
		return
	}
	if c.Index >= 0 {
		d.count.open.Add(1)
		d.handshake.Record(time.Duration(now - c.Dialed))
	}
	d.lastOpen = now
	d.wl.opened(c, now)
}

// Message implements Hooks.
func (d *driver) Message(c *Conn, p []byte, now int64) {
	d.count.recv.Add(1)
	d.wl.message(c, p, now)
}

// Failed implements Hooks. A re-dial that fails to open is the churn's
// error; once open, it fails as the connection it replaces would have.
func (d *driver) Failed(c *Conn, err error) {
	if c.Redialed && !c.Open() {
		d.pending--
		d.churn.failed(err)
		return
	}
	if c.Open() {
		if c.Index >= 0 {
			d.count.open.Add(-1)
		}
		d.count.errors.Add(1)
	} else {
		d.pending--
		d.count.connectErrors.Add(1)
	}
	d.sample(err.Error())
}

// sample keeps the first few error messages for the report.
func (d *driver) sample(msg string) {
	if len(d.errSamples) < 3 {
		d.errSamples = append(d.errSamples, msg)
	}
}

// Tick implements Hooks: it advances the loop through the worker's phases.
func (d *driver) Tick(now int64) {
	phase := d.w.phase.Load()
	first := phase != d.seen
	d.seen = phase
	switch phase {
	case phaseConnect:
		d.dial(now)
	case phaseRun:
		if first {
			d.wl.start(now)
		}
		d.wl.tick(now)
		if d.churn != nil {
			d.churn.tick(now, true)
		}
	case phaseStop:
		if first {
			d.wl.stop()
			d.stopped.Store(true)
		}
		if d.churn != nil {
			d.churn.tick(now, false)
		}
	case phaseDrain:
		if d.churn != nil {
			d.churn.tick(now, false)
		}
		if first {
			d.drainDeadline = now + int64(d.w.cfg.Drain)
		}
		// A re-dial still in flight is waited for too: closing it
		// would leave it neither reconnected nor failed.
		if (d.wl.drained() && d.pending == 0) || now > d.drainDeadline {
			d.drained.Store(true)
		}
	case phaseClose:
		if first {
			d.loop.CloseAll()
			d.closeDeadline = now + int64(2*time.Second)
		}
		if d.loop.Live() == 0 || now > d.closeDeadline {
			d.loop.Stop()
		}
	}
}

// dial opens connections at this loop's share of the connect rate.
func (d *driver) dial(now int64) {
	cfg := &d.w.cfg
	if d.dialStart == 0 {
		d.dialStart = now
	}
	if now-d.lastExpire > int64(100*time.Millisecond) {
		d.lastExpire = now
		d.loop.ExpireHandshakes(now - int64(cfg.HandshakeTimeout))
	}
	if d.wantPublisher {
		d.wantPublisher = false
		if _, err := d.dialOne(-1, 0); err != nil {
			d.count.connectErrors.Add(1)
			d.sample(err.Error())
		}
	}
	due := d.n
	if cfg.ConnectRate > 0 {
		perLoop := cfg.ConnectRate / float64(cfg.Loops)
		due = min(d.n, int(float64(now-d.dialStart)*perLoop/1e9)+1)
	}
	for d.dialed < due && d.pending < maxPendingDials {
		if _, err := d.dialOne(d.dialed, d.global(d.dialed)); err != nil {
			d.count.connectErrors.Add(1)
			d.sample(err.Error())
		}
		d.dialed++
	}
	if d.dialed == d.n && d.pending == 0 {
		d.ready.Store(true)
	}
}

// global numbers this loop's connection index: the numbering spreads
// connections evenly over targets and source addresses whatever the split
// into workers and loops.
func (d *driver) global(index int) int { return d.w.cfg.First + index*d.w.cfg.Loops + d.slot }

// redial dials connection index again, as its first dial did (churn).
func (d *driver) redial(index int) error {
	c, err := d.dialOne(index, d.global(index))
	if err != nil {
		return err
	}
	c.Redialed = true
	return nil
}

// dialOne starts dialing connection global with the target, source
// address and user that its number gives it.
func (d *driver) dialOne(index, global int) (*Conn, error) {
	t := &d.w.targets[global%len(d.w.targets)]
	if users := d.w.cfg.UIDs; users > 0 {
		t = asUser(t, userName(userOf(global, len(d.w.targets), users)))
	}
	var src *unix.SockaddrInet4
	if d.w.cfg.Sources > 0 {
		s := d.w.sources[sourceOf(global, len(d.w.cfg.URLs), len(d.w.sources))]
		src = &s
	}
	c, err := d.loop.Dial(t, src, index)
	if err != nil {
		return nil, err
	}
	d.pending++
	return c, nil
}

// result gathers this loop's figures; call it after the loop has returned.
func (d *driver) result() *Result {
	r := newResult()
	r.Opened = d.count.open.Load() + d.count.errors.Load()
	r.ConnectErrors = d.count.connectErrors.Load()
	r.Errors = d.count.errors.Load()
	r.Sent = d.count.sent.Load()
	r.Received = d.count.recv.Load()
	r.WireIn = d.loop.wireIn
	r.FirstDial = d.dialStart
	r.LastOpen = d.lastOpen
	r.Handshake = d.handshake
	r.Latency = d.latency
	r.ErrorSamples = d.errSamples
	d.wl.finish(r)
	if d.churn != nil {
		d.churn.finish(r)
	}
	return r
}

// sourceOf picks connection k's source address. Connection k goes to URL
// k mod urls; counting sources by k / urls spreads each URL's connections
// evenly over every source address (k mod sources would give a URL only
// the sources congruent to it modulo their common divisor).
func sourceOf(k, urls, sources int) int { return (k / urls) % sources }
