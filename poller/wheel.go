package poller

import (
	"sync"
	"sync/atomic"
	"time"
)

// wheel is a hashed timing wheel. Each connection has at most one pending
// deadline and sits, intrusively linked, in the slot of that deadline; one
// goroutine advances the wheel every tick and fires what is due. So timers
// cost no goroutine and no runtime timer per connection, and scheduling is
// O(1).
type wheel struct {
	tick int64 // nanoseconds per slot
	fire func(c *Conn, now int64)
	// everyTick, if set, runs on the wheel's goroutine after each tick.
	everyTick func(now int64)
	now       atomic.Int64 // coarse clock: the time of the last tick
	stop      chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	slots     []*Conn
	next      int64 // absolute index of the next tick to process
	due       []*Conn
}

const wheelSlots = 1024

func newWheel(tick time.Duration, fire func(c *Conn, now int64)) *wheel {
	w := &wheel{
		tick:  int64(tick),
		fire:  fire,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		slots: make([]*Conn, wheelSlots),
	}
	now := time.Now().UnixNano()
	w.now.Store(now)
	w.next = now / w.tick
	return w
}

func (w *wheel) run() {
	defer close(w.done)
	t := time.NewTicker(time.Duration(w.tick))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case tm := <-t.C:
			w.advance(tm.UnixNano())
			if w.everyTick != nil {
				w.everyTick(tm.UnixNano())
			}
		}
	}
}

func (w *wheel) close() {
	close(w.stop)
	<-w.done
}

// advance processes every slot up to now and fires the due connections
// outside the lock, so a callback may schedule again.
func (w *wheel) advance(now int64) {
	w.now.Store(now)
	w.mu.Lock()
	last := now / w.tick
	if last-w.next >= wheelSlots {
		w.next = last - wheelSlots + 1 // every slot gets visited once anyway
	}
	due := w.due[:0]
	for ; w.next <= last; w.next++ {
		slot := int(w.next % wheelSlots)
		for c := w.slots[slot]; c != nil; {
			nextC := c.tnext
			if c.deadline <= now {
				w.unlink(c)
				due = append(due, c)
			}
			c = nextC
		}
	}
	w.mu.Unlock()
	for i, c := range due {
		w.fire(c, now)
		due[i] = nil
	}
	w.due = due[:0]
}

// after is the deadline d from now that fires no earlier than d in real
// time: the coarse clock lags real time by up to a tick.
func (w *wheel) after(d time.Duration) int64 {
	return w.now.Load() + int64(d) + w.tick
}

// schedule sets c's single deadline, replacing any earlier one.
func (w *wheel) schedule(c *Conn, at int64) {
	w.mu.Lock()
	if c.tslot >= 0 {
		w.unlink(c)
	}
	// Round up: the slot is visited once the clock has passed its start,
	// so a deadline inside a tick must go to the next slot, or a visit
	// before the deadline would leave it for a whole revolution.
	idx := (at + w.tick - 1) / w.tick
	if idx < w.next {
		idx = w.next
	}
	slot := int(idx % wheelSlots)
	c.deadline, c.tslot = at, int32(slot)
	c.tprev, c.tnext = nil, w.slots[slot]
	if c.tnext != nil {
		c.tnext.tprev = c
	}
	w.slots[slot] = c
	w.mu.Unlock()
}

// scheduleBefore moves c's deadline to at if that is sooner than the one
// set, or sets it if none is.
func (w *wheel) scheduleBefore(c *Conn, at int64) {
	w.mu.Lock()
	later := c.tslot >= 0 && c.deadline <= at
	w.mu.Unlock()
	if !later {
		w.schedule(c, at)
	}
}

// cancel removes c from the wheel if it is scheduled.
func (w *wheel) cancel(c *Conn) {
	w.mu.Lock()
	if c.tslot >= 0 {
		w.unlink(c)
	}
	w.mu.Unlock()
}

func (w *wheel) unlink(c *Conn) {
	if c.tprev != nil {
		c.tprev.tnext = c.tnext
	} else {
		w.slots[c.tslot] = c.tnext
	}
	if c.tnext != nil {
		c.tnext.tprev = c.tprev
	}
	c.tprev, c.tnext, c.tslot = nil, nil, -1
}
