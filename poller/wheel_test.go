package poller

import (
	"testing"
	"time"
)

// TestWheelFiresDeadlineInsideTick drives the wheel by hand with deadlines
// that fall between ticks and ticks that come at any phase: every deadline
// fires once, never before it and at most one tick after it, never a whole
// revolution later.
func TestWheelFiresDeadlineInsideTick(t *testing.T) {
	const tick = 10 * time.Millisecond
	for _, tc := range []struct {
		name     string
		deadline time.Duration // after the start of the wheel's current tick
		advances []time.Duration
		fireAt   int // index into advances of the advance that must fire it
	}{
		{name: "aligned", deadline: 30 * time.Millisecond, advances: []time.Duration{10, 20, 30, 40}, fireAt: 2},
		{name: "mid-tick-visited-early", deadline: 15 * time.Millisecond, advances: []time.Duration{12, 22, 32}, fireAt: 1},
		{name: "mid-tick-exact", deadline: 15 * time.Millisecond, advances: []time.Duration{11, 15, 25}, fireAt: 2},
		{name: "past-deadline", deadline: 0, advances: []time.Duration{1, 11}, fireAt: 0},
		{name: "late-ticks", deadline: 27 * time.Millisecond, advances: []time.Duration{26, 90}, fireAt: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fired []int64
			w := newWheel(tick, func(c *Conn, now int64) { fired = append(fired, now) })
			base := int64(1_000_000) * int64(tick) // a tick boundary
			w.next = base / int64(tick)
			w.now.Store(base)
			c := &Conn{tslot: -1}
			w.schedule(c, base+int64(tc.deadline))
			for i, a := range tc.advances {
				now := base + int64(a*time.Millisecond)
				w.advance(now)
				if i < tc.fireAt && len(fired) != 0 {
					t.Fatalf("fired at advance %d (+%v), before the deadline +%v", i, a*time.Millisecond, tc.deadline)
				}
				if i == tc.fireAt && len(fired) != 1 {
					t.Fatalf("not fired at advance %d (+%v) for deadline +%v", i, a*time.Millisecond, tc.deadline)
				}
			}
			if len(fired) != 1 {
				t.Fatalf("fired %d times, want once", len(fired))
			}
		})
	}
}
