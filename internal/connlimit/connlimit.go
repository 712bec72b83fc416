// Package connlimit bounds the connections a server holds open at once.
// Every accepted connection takes a file descriptor from the same limit
// as the WebSocket clients, and a server port open to the network could be
// made to hold any number of them: idle, or never authenticated. A Limit
// closes the connections over its bound as soon as they are accepted and
// counts them.
package connlimit

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Limit is a bound on open connections, shared by the listeners it wraps.
// Make one with New.
type Limit struct {
	max     int64
	open    atomic.Int64
	refused atomic.Uint64
}

// New returns a Limit of n connections at once; n < 1 means 1.
func New(n int) *Limit {
	return &Limit{max: int64(max(n, 1))}
}

// Open is the number of connections accepted through the Limit and not
// yet closed.
func (l *Limit) Open() int64 { return l.open.Load() }

// Refused is the number of connections closed at accept for being over
// the Limit.
func (l *Limit) Refused() uint64 { return l.refused.Load() }

// Listener returns lis with the Limit applied: Accept closes, and counts,
// each connection that would put the Limit over its bound, and returns
// only those within it. A returned connection leaves the count when it is
// closed, so its user must close it (servers do).
//
// The connections Accept returns are wrappers, not *net.TCPConn, and gRPC's
// server sets TCP_USER_TIMEOUT (its keepalive timeout: how long written
// bytes may go unacknowledged before the connection is dropped) only on a
// *net.TCPConn; so the Listener sets userTimeout itself when positive.
func (l *Limit) Listener(lis net.Listener, userTimeout time.Duration) net.Listener {
	return &listener{Listener: lis, limit: l, userTimeout: userTimeout}
}

type listener struct {
	net.Listener
	limit       *Limit
	userTimeout time.Duration
}

// Accept waits for a connection within the Limit. Those over it are closed
// at once, before anything is read from them, and Accept waits on.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ln.limit.open.Add(1) > ln.limit.max {
			ln.limit.open.Add(-1)
			ln.limit.refused.Add(1)
			c.Close()
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok && ln.userTimeout > 0 {
			setUserTimeout(tc, ln.userTimeout)
		}
		return &conn{Conn: c, limit: ln.limit}, nil
	}
}

// conn gives its slot back on its first Close.
type conn struct {
	net.Conn
	limit *Limit
	once  sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.limit.open.Add(-1) })
	return err
}
