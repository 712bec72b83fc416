package bench

import "time"

// churner closes a share of a loop's connections every second of the
// window and dials each again at once, with the same target, source
// address and user as its first dial (bcast -churn). It chooses them round
// robin among the open ones, spread over the second, and closes each grace
// after choosing it: the workload stops counting on it from the moment it
// was chosen, so that a message in flight at the close is not taken for
// missing (spans.go). It stops choosing and closing with the window.
type churner struct {
	d       *driver
	wl      churnTarget
	perSec  float64 // closes per second in this loop
	grace   int64
	began   int64 // the window's first tick
	chosen  int64
	next    int    // round robin: the index to consider first
	leaving []bool // by Conn.Index: chosen and not closed yet
	doomed  []doom // chosen, by close time

	lastExpire int64
	closed     int64 // connections closed on purpose
	reconnects int64 // re-dials whose handshake completed
	errors     int64 // re-dials that failed
	handshake  *Hist // of the re-dials: connect and handshake
}

// churnTarget is what churn needs of the workload.
type churnTarget interface {
	conn(index int) *Conn      // the connection with this index, nil if it never opened
	leaving(c *Conn, at int64) // c is chosen: it owes nothing published after at
}

type doom struct {
	c       *Conn
	closeAt int64
}

func newChurner(d *driver, wl churnTarget, cfg *WorkerConfig) *churner {
	return &churner{
		d: d, wl: wl, perSec: cfg.Churn / 100 * float64(d.n), grace: int64(cfg.ChurnGrace),
		leaving: make([]bool, d.n), handshake: NewHist(),
	}
}

// tick chooses and closes connections while inWindow, and fails re-dials
// whose handshake takes too long in any phase.
func (ch *churner) tick(now int64, inWindow bool) {
	if now-ch.lastExpire > int64(100*time.Millisecond) {
		ch.lastExpire = now
		ch.d.loop.ExpireHandshakes(now - int64(ch.d.w.cfg.HandshakeTimeout))
	}
	if !inWindow {
		return
	}
	if ch.began == 0 {
		ch.began = now
	}
	due := int64(float64(now-ch.began) * ch.perSec / 1e9)
	for ; ch.chosen < due; ch.chosen++ {
		if c := ch.choose(); c != nil {
			ch.leaving[c.Index] = true
			ch.wl.leaving(c, now)
			ch.doomed = append(ch.doomed, doom{c, now + ch.grace})
		}
	}
	for len(ch.doomed) > 0 && ch.doomed[0].closeAt <= now {
		c := ch.doomed[0].c
		ch.doomed = ch.doomed[1:]
		ch.leaving[c.Index] = false
		if !c.Open() {
			continue // it failed meanwhile: counted as dropped, not dialed again
		}
		ch.d.loop.Close(c)
		ch.closed++
		if err := ch.d.redial(c.Index); err != nil {
			ch.failed(err)
		}
	}
}

// choose returns the next open connection not already chosen, round
// robin, or nil if there is none.
func (ch *churner) choose() *Conn {
	n := len(ch.leaving)
	for range n {
		i := ch.next
		ch.next = (ch.next + 1) % n
		if c := ch.wl.conn(i); c != nil && c.Open() && !ch.leaving[i] {
			return c
		}
	}
	return nil
}

// reopened counts a re-dial whose handshake completed.
func (ch *churner) reopened(c *Conn, now int64) {
	ch.reconnects++
	ch.handshake.Record(time.Duration(now - c.Dialed))
}

// failed counts a re-dial that did not open.
func (ch *churner) failed(err error) {
	ch.errors++
	ch.d.sample("reconnect: " + err.Error())
}

func (ch *churner) finish(r *Result) {
	r.Closed = ch.closed
	r.Reconnects = ch.reconnects
	r.ReconnectErrors = ch.errors
	r.Reconnect = ch.handshake
}
