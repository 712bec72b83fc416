package poller

import (
	"context"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// ShutdownReason is the close reason Shutdown sends with 1001 (going
// away). It tells a client, and whoever reads its logs, that the close is
// no error: reconnect, and another node will serve it.
const ShutdownReason = "server shutting down: reconnect"

// drainTick is how often a spread drain closes the connections that are
// due: fine enough that the closes look even at a second's scale, coarse
// enough to cost nothing.
const drainTick = 10 * time.Millisecond

// closeSpread closes every connection with 1001, the i-th of n at about
// i*window/n after the call, so the clients reconnect elsewhere at an even
// rate rather than all at once. The window is cut to nine tenths of what
// is left of ctx, and ctx ending stops it (the caller drops the rest). A
// window of 0 closes all at once.
func (s *Server) closeSpread(ctx context.Context, window time.Duration) {
	if deadline, ok := ctx.Deadline(); ok {
		window = min(window, time.Until(deadline)*9/10)
	}
	closeOne := func(c *Conn) { c.Close(wsproto.CloseGoingAway, ShutdownReason) }
	if window <= 0 {
		s.conns.each(closeOne)
		return
	}
	// A snapshot: accepting has stopped, so no connection is missed, and
	// one that closes on its own meanwhile takes a Close as a no-op.
	var conns []*Conn
	s.conns.each(func(c *Conn) { conns = append(conns, c) })
	n := int64(len(conns))
	start := time.Now()
	tick := time.NewTicker(drainTick)
	defer tick.Stop()
	for done := int64(0); done < n; {
		due := n
		if elapsed := time.Since(start); elapsed < window {
			// n*elapsed stays far below the int64 range: a million
			// connections times a window of hours.
			due = min(n, n*int64(elapsed)/int64(window)+1)
		}
		for ; done < due; done++ {
			closeOne(conns[done])
		}
		if done == n {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
