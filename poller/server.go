package poller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/wsgate/wsgate/wsproto"
)

// Handler receives a Server's connection events. Calls for one connection
// never overlap: netpoll runs a connection's close callback only after its
// read task (OnHandshake, OnOpen, OnMessage) has returned, and OnClose comes
// after that callback, on a goroutine of its own. Writes to the connection
// from elsewhere may still be returning ErrClosed while OnClose runs.
type Handler interface {
	// OnHandshake sees a valid upgrade request before it is accepted. Return
	// a *wsproto.HTTPError to refuse with its status (any other error
	// refuses with 403). c.SetValue may be called here.
	OnHandshake(c *Conn, r *wsproto.Request) error
	// OnOpen runs once the 101 response is queued.
	OnOpen(c *Conn)
	// OnMessage receives a complete text or binary message. payload is
	// valid only during the call; copy it to keep it.
	OnMessage(c *Conn, op wsproto.OpCode, payload []byte)
	// OnClose runs exactly once for every connection OnOpen saw, after its
	// TCP connection is gone. code is the peer's close code, ours if we
	// closed first, or 1006 if the connection dropped without one.
	OnClose(c *Conn, code wsproto.StatusCode, reason string)
}

// Server accepts WebSocket connections on a netpoll event loop.
type Server struct {
	opts   Options
	ln     netpoll.Listener
	loop   netpoll.EventLoop
	wheel  *wheel
	stats  counters
	nextID atomic.Uint64
	conns  connTable
	// flushers write the connections that QueueFrame left to them.
	flushers flushers
	// directReads are the buffers of inline tasks' direct reads.
	directReads sync.Pool
	count       atomic.Int64
	mu          sync.Mutex
	started     bool
	stopping    atomic.Bool
	served      chan struct{}
}

// NewServer checks the options and prepares a server; Start listens.
func NewServer(o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, served: make(chan struct{})}
	s.directReads.New = func() any { return new(directReadBuffer) }
	s.wheel = newWheel(o.timerTick(), func(c *Conn, now int64) { c.onTimer(now) })
	return s, nil
}

// configureNetpoll applies the process-wide netpoll settings once.
var configureNetpoll sync.Once

// Start listens on Options.Addr and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("poller: server already started")
	}
	configureNetpoll.Do(func() {
		// LinkBufferCap is netpoll's floor for a buffer node (4 KiB by
		// default); without lowering it, every idle connection would keep
		// a 4 KiB read buffer whatever BufferSize says.
		netpoll.LinkBufferCap = s.opts.ReadBufferSize
		netpoll.Configure(netpoll.Config{BufferSize: s.opts.ReadBufferSize, Runner: runTask})
	})
	ln, err := netpoll.CreateListener("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("poller: listen on %s: %w", s.opts.Addr, err)
	}
	loop, err := netpoll.NewEventLoop(s.onRequest, netpoll.WithOnPrepare(s.onPrepare))
	if err != nil {
		ln.Close()
		return fmt.Errorf("poller: event loop: %w", err)
	}
	s.ln, s.loop, s.started = ln, loop, true
	go s.wheel.run()
	s.flushers.start(s.opts.Flushers)
	go func() {
		defer close(s.served)
		if err := loop.Serve(ln); err != nil && !s.stopping.Load() {
			s.opts.Logger.Error("poller: serve stopped", "addr", s.opts.Addr, "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serving reports whether the server accepts connections: started and not
// yet shutting down. It turns false the moment Shutdown begins, so that a
// readiness check sees the drain at once.
func (s *Server) Serving() bool {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	return started && !s.stopping.Load()
}

// Len is the number of connections not yet gone: in the handshake, open,
// closing, or in OnClose.
func (s *Server) Len() int { return int(s.count.Load()) }

// Shutdown stops accepting, closes every connection with 1001 and waits
// for the close handshakes, the flushes and every OnClose. When ctx ends
// first, the remaining connections are dropped and ctx's error is returned
// at once; OnClose calls still running finish on their own.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started || !s.stopping.CompareAndSwap(false, true) {
		return nil
	}
	s.ln.Close()
	s.conns.each(func(c *Conn) { c.Close(wsproto.CloseGoingAway, "server shutting down") })
	var err error
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.count.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			s.conns.each(func(c *Conn) { c.Abort() })
		case <-tick.C:
		}
	}
	s.loop.Shutdown(ctx) // every connection is closed: it only stops the loop
	s.wheel.close()
	s.flushers.stop()
	return err
}

func (s *Server) onPrepare(nc netpoll.Connection) context.Context {
	ctx := context.Background()
	// The context handed back is the Conn itself (see connContext): netpoll
	// keeps it for the connection's life, so it costs no allocation.
	if s.stopping.Load() {
		s.stats.rejected.Add(1)
		nc.Close()
		return ctx
	}
	if s.count.Add(1) > int64(s.opts.MaxConns) {
		s.count.Add(-1)
		s.stats.rejected.Add(1)
		nc.Close()
		return ctx
	}
	fdc, ok := nc.(interface{ Fd() int })
	if !ok {
		s.count.Add(-1)
		nc.Close()
		return ctx
	}
	c := &Conn{srv: s, nc: nc, fd: int32(fdc.Fd()), id: s.nextID.Add(1), tslot: -1}
	c.dec.MaxFrameSize, c.dec.MaxMessageSize = s.opts.MaxFrameSize, s.opts.MaxMessageSize
	s.stats.accepted.Add(1)
	nc.SetWriteTimeout(s.opts.WriteTimeout)
	s.conns.add(c)
	nc.AddCloseCallback(func(netpoll.Connection) error {
		// netpoll runs close callbacks in whichever goroutine closed the
		// connection, which may be a sender deep in application code;
		// OnClose gets a goroutine of its own instead. Marking the
		// connection closed cannot wait: netpoll closes the fd as soon as
		// this returns.
		c.markClosed()
		go c.onDisconnect()
		return nil
	})
	s.wheel.schedule(c, s.wheel.now.Load()+int64(s.opts.HandshakeTimeout))
	return (*connContext)(c)
}

// onRequest runs in the event loop's task for a connection with bytes to
// read. It consumes all of them, so it never waits for more.
func (s *Server) onRequest(ctx context.Context, nc netpoll.Connection) error {
	r := nc.Reader()
	c := connOf(ctx)
	if c == nil {
		r.Skip(r.Len())
		return r.Release()
	}
	p, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	c.onData(p)
	if err := r.Release(); err != nil {
		return err
	}
	if c.inTask {
		c.readPending()
	}
	c.mu.Lock()
	closed := c.state == stateClosed
	c.mu.Unlock()
	if closed {
		c.dec.Release()
	}
	return nil
}

// forget drops a closed connection from the server's count; markClosed
// took it out of the connection table already.
func (s *Server) forget(c *Conn) {
	s.count.Add(-1)
}
