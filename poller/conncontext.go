package poller

import (
	"context"
	"time"
)

// connContext is the Conn as the context netpoll keeps for a connection and
// hands back with every read: a context.WithValue would cost an allocation
// per connection for a lookup the read path does not need.
type connContext Conn

var _ context.Context = (*connContext)(nil)

func (*connContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*connContext) Done() <-chan struct{}       { return nil }
func (*connContext) Err() error                  { return nil }
func (*connContext) Value(any) any               { return nil }

// connOf is the Conn behind a context netpoll hands back, or nil for a
// connection refused before it got one.
func connOf(ctx context.Context) *Conn {
	cc, _ := ctx.(*connContext)
	return (*Conn)(cc)
}
