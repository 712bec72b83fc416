package poller

import "time"

// SlowInlineTask is how long an inline read task may hold the event loop
// before it is counted in Stats.SlowInlineTasks and logged (at most once a
// second): every other connection of the loop waited that long.
const SlowInlineTask = 10 * time.Millisecond

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
