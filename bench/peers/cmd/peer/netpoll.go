package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
)

// netpollConn is one connection of the netpoll peer. Its OnRequest handler
// (netpoll runs at most one at a time per connection) owns everything but
// the write side, which broadcasts from other connections' handlers share.
type netpollConn struct {
	conn     netpoll.Connection
	upgraded bool
	msgs     messageReader
	hdr      bytes.Buffer       // the header of an echo reply
	targets  []*netpollConn     // broadcast recipients, reused
	wmu      sync.Mutex         // netpoll's Writer and Flush are not safe for concurrent use
	closed   bool               // set under wmu once netpoll closed the connection; its buffers may be gone
	upgrader *ws.Upgrader       // shared, read only
	hub      *hub[*netpollConn] // nil for echo
}

// netpollConnKey is the context key of a connection's *netpollConn.
type netpollConnKey struct{}

// startNetpoll serves with a netpoll EventLoop as netpoll's guide shows: the
// pollers read into each connection's buffer and an OnRequest handler,
// running on netpoll's goroutine pool, takes the bytes off it with the
// zero-copy Reader and answers through the Writer and Flush. gobwas/ws does
// the handshake and the frame headers.
func startNetpoll(addr, app string) (net.Addr, func() error, error) {
	u := newUpgrader()
	var h *hub[*netpollConn]
	if app == "broadcast" {
		h = newHub[*netpollConn]()
	}
	onConnect := func(ctx context.Context, conn netpoll.Connection) context.Context {
		c := &netpollConn{conn: conn, upgrader: &u, hub: h}
		// Close callbacks run once no handler runs for this connection,
		// often on the poller itself, so this one must not block on a
		// broadcast in progress: it only waits for a write to this very
		// connection, which netpoll has already failed by then.
		_ = conn.AddCloseCallback(func(netpoll.Connection) error {
			c.wmu.Lock()
			c.closed = true
			c.wmu.Unlock()
			if h != nil {
				h.remove(c)
			}
			return nil
		})
		return context.WithValue(ctx, netpollConnKey{}, c)
	}
	onRequest := func(ctx context.Context, conn netpoll.Connection) error {
		c := ctx.Value(netpollConnKey{}).(*netpollConn)
		if err := c.serve(); err != nil {
			_ = conn.Close()
		}
		return nil
	}
	loop, err := netpoll.NewEventLoop(onRequest, netpoll.WithOnConnect(onConnect))
	if err != nil {
		return nil, nil, fmt.Errorf("netpoll event loop: %w", err)
	}
	ln, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- loop.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := loop.Shutdown(ctx)
		<-served
		return err
	}
	return ln.Addr(), stop, nil
}

// serve handles the bytes netpoll has read: the opening handshake first,
// then frames until the input is used up. A frame split across reads is
// waited for (netpoll's Reader blocks until it has the bytes asked for).
// On error the connection is to be closed.
func (c *netpollConn) serve() error {
	r := c.conn.Reader()
	if !c.upgraded {
		if err := c.handshake(r); err != nil {
			return err
		}
		c.upgraded = true
		if c.hub != nil {
			c.hub.add(c)
		}
	}
	for r.Len() > 0 {
		if err := c.readFrame(r); err != nil {
			return err
		}
	}
	return nil
}

// handshake waits for the whole opening handshake and answers it.
func (c *netpollConn) handshake(r netpoll.Reader) error {
	for {
		n := r.Len()
		buf, err := r.Peek(n)
		if err != nil {
			return fmt.Errorf("read handshake: %w", err)
		}
		if end := handshakeEnd(buf); end > 0 {
			req, err := r.Next(end)
			if err != nil {
				return fmt.Errorf("read handshake: %w", err)
			}
			// The response is written straight to the socket: nothing
			// else writes to a connection that is not in the hub yet.
			err = upgrade(c.upgrader, req, c.conn)
			_ = r.Release()
			return err
		}
		if n >= maxHandshake {
			return errHandshakeTooLarge
		}
		if _, err := r.Peek(n + 1); err != nil { // wait for more
			return fmt.Errorf("read handshake: %w", err)
		}
	}
}

// readFrame reads one frame and acts on it.
func (c *netpollConn) readFrame(r netpoll.Reader) error {
	h, err := ws.ReadHeader(c.conn)
	if err != nil {
		return fmt.Errorf("read frame header: %w", err)
	}
	if closeFrame, ok := c.msgs.check(h); !ok {
		_ = c.write(closeFrame)
		return fmt.Errorf("bad frame (opcode %d, %d bytes)", h.OpCode, h.Length)
	}
	p, err := r.Next(int(h.Length))
	if err != nil {
		return fmt.Errorf("read frame payload: %w", err)
	}
	// p is in netpoll's input buffer until Release; unmask it in place.
	ws.Cipher(p, h.Mask, 0)
	res := c.msgs.frame(h, p)
	switch {
	case res.reply != nil:
		err = c.write(res.reply)
	case res.op == 0:
	case c.hub == nil:
		err = c.write(encodeHeader(&c.hdr, res.op, len(res.payload)), res.payload)
	default:
		c.broadcast(res.op, res.payload)
	}
	// Release only after the writes are flushed: the Writer may have
	// linked p instead of copying it.
	_ = r.Release()
	if err != nil {
		return err
	}
	if res.close {
		return fmt.Errorf("closed by peer")
	}
	return nil
}

// broadcast encodes the message once and writes the frame to every open
// connection. The hub is copied first so that no lock is held while a
// Flush waits for a slow receiver.
func (c *netpollConn) broadcast(op ws.OpCode, payload []byte) {
	frame := ws.MustCompileFrame(ws.NewFrame(op, true, payload))
	c.targets = c.targets[:0]
	c.hub.each(func(o *netpollConn) { c.targets = append(c.targets, o) })
	for _, o := range c.targets {
		_ = o.write(frame) // a failed receiver is closed by netpoll or its own handler
	}
	clear(c.targets) // let closed connections go
}

// write writes the byte slices in order and flushes them, waiting while the
// socket is full. It is safe for concurrent use and fails once the
// connection has closed.
func (c *netpollConn) write(parts ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	w := c.conn.Writer()
	for _, p := range parts {
		if _, err := w.WriteBinary(p); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}
