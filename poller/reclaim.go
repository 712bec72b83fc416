package poller

import (
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// When the inbound budget has given back at least reclaimAfter bytes since
// its high point, the memory goes back to the OS, at most once every
// reclaimEvery.
const (
	reclaimAfter = 64 << 20
	reclaimEvery = 5 * time.Second
)

// reclaimer gives memory back to the OS after connections held many bytes
// in partial messages and let go of them (they closed, or the messages
// completed). Large assembly buffers are not pooled, but the runtime frees
// them only at its next collection and returns the pages later still, and
// a server that goes quiet after a flood of large messages may not collect
// for minutes: its RSS would stay at the flood's height. So once the
// budget has fallen far from its high point, a collection that returns
// free memory to the OS (debug.FreeOSMemory) runs in the background.
type reclaimer struct {
	budget  *wsproto.Budget
	high    int64 // most lent since the last reclaim; wheel goroutine only
	last    int64 // time of the last reclaim; wheel goroutine only
	running atomic.Bool
}

// tick runs on the wheel's goroutine.
func (r *reclaimer) tick(now int64) {
	used := r.budget.Used()
	r.high = max(r.high, used)
	if r.high-used < reclaimAfter || now-r.last < int64(reclaimEvery) || r.running.Load() {
		return
	}
	r.high, r.last = used, now
	r.running.Store(true)
	go func() {
		defer r.running.Store(false)
		debug.FreeOSMemory()
	}()
}
