package register

import (
	"context"
	"math/rand/v2"
	"time"
)

// retryBackoff spaces the retries of one loop that talks to etcd: the wait
// doubles from Options.MinBackoff to Options.MaxBackoff, each jittered
// over its upper half so that nodes that lost etcd together do not
// return together, and starts again from the minimum after a success.
type retryBackoff struct {
	next, min, max time.Duration
}

func (e *Etcd) newBackoff() retryBackoff {
	return retryBackoff{next: e.opts.MinBackoff, min: e.opts.MinBackoff, max: e.opts.MaxBackoff}
}

// wait sleeps the next interval; false when ctx ended first.
func (b *retryBackoff) wait(ctx context.Context) bool {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(2*b.next, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reset starts the next run of failures from the minimum wait.
func (b *retryBackoff) reset() { b.next = b.min }
