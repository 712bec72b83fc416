package poller

import (
	"context"
	"time"
)

// SlowInlineTask is how long an inline read task may hold the event loop
// before it is counted in Stats.SlowInlineTasks and logged (at most once a
// second): every other connection of the loop waited that long.
const SlowInlineTask = 10 * time.Millisecond

// runTask is the runner netpoll uses for every connection's read task
// (netpoll.Config.Runner, process-wide). By default the task gets a plain
// goroutine for its duration, so that a handler that blocks holds up only
// its own connection; netpoll's default, a goroutine pool, costs an
// allocation per read for its worker.
//
// With Options.InlineHandlers the task runs on the poller's goroutine,
// which saves the hand-over. netpoll cannot close a connection from there,
// though: the task itself runs netpoll's close callback when the
// connection was closed during it, and freeing the connection's operator
// waits for the poller to leave it, which is the goroutine doing the
// waiting. So closes requested while an inline task runs are held back
// until it returns (see Conn.closeSocket), and a connection whose close
// has begun gets its tasks on goroutines again.
func runTask(ctx context.Context, task func()) {
	c := connOf(ctx)
	if c == nil || !c.srv.opts.InlineHandlers || !c.enterInlineTask() {
		go task()
		return
	}
	start := time.Now()
	task()
	c.leaveInlineTask()
	if held := time.Since(start); held >= SlowInlineTask {
		c.srv.noteSlowInlineTask(c, held)
	}
}

// noteSlowInlineTask counts an inline task that held the loop too long and
// warns about it, once a second at most, since a blocking handler would
// otherwise flood the log.
func (s *Server) noteSlowInlineTask(c *Conn, held time.Duration) {
	n := s.stats.slowInlineTasks.Add(1)
	now, last := time.Now().UnixNano(), s.stats.lastSlowLog.Load()
	if now-last < int64(time.Second) || !s.stats.lastSlowLog.CompareAndSwap(last, now) {
		return
	}
	s.opts.Logger.Warn("poller: an inline handler held the event loop; with InlineHandlers, handlers must not wait",
		"conn", c.id, "held", held, "slow_tasks", n)
}

// enterInlineTask marks an inline task running, unless the socket's close
// has begun.
func (c *Conn) enterInlineTask() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.socketClosing {
		return false
	}
	c.inTask = true
	return true
}

// leaveInlineTask ends an inline task and closes the socket if that was
// asked for meanwhile: on another goroutine, because netpoll frees the
// operator only once the poller has left it.
func (c *Conn) leaveInlineTask() {
	c.mu.Lock()
	c.inTask = false
	pending := c.closePending
	if pending {
		c.closePending, c.socketClosing = false, true
	}
	c.mu.Unlock()
	if pending {
		go c.nc.Close()
	}
}

// closeSocket closes the TCP connection, or has the inline task running
// for it do so when it returns.
func (c *Conn) closeSocket() {
	c.mu.Lock()
	if c.inTask {
		c.closePending = true
		c.mu.Unlock()
		return
	}
	c.socketClosing = true
	c.mu.Unlock()
	c.nc.Close()
}
