package poller

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// Handler receives a Server's connection events. Calls for one connection
// never overlap: its read path (OnHandshake, OnOpen, OnMessage) runs one
// batch of bytes at a time, and OnClose comes after the read path has let
// go of the connection, on a goroutine of its own. Writes to the connection
// from elsewhere may still be returning ErrClosed while OnClose runs.
type Handler interface {
	// OnHandshake sees a valid upgrade request before it is accepted. Return
	// a *wsproto.HTTPError to refuse with its status (any other error
	// refuses with 403). c.SetValue may be called here. r and what it holds
	// (its Header above all) are valid only during the call: the server
	// reuses them for the next handshake; copy what you keep.
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

// Server accepts WebSocket connections on an event loop (see Backend).
type Server struct {
	opts   Options
	tr     transport
	wheel  *wheel
	stats  counters
	nextID atomic.Uint64
	// conns holds every live connection by file descriptor: the epoll
	// loops look connections up in it, Shutdown walks it.
	conns fdTable[Conn]
	// requests are the parsed handshakes, reused (see Handler.OnHandshake).
	requests sync.Pool
	// decoders are lent to connections while a frame is partial.
	decoders sync.Pool
	// inbound bounds what the decoders hold together; nil is no bound.
	inbound *wsproto.Budget
	reclaim reclaimer
	// peers applies the per-address limits; nil when none is set.
	peers *peerLimiter
	// rates applies the per-connection message rate; nil when unset.
	rates *messageRates
	// flushers write the connections that QueueFrame left to them.
	flushers flushers
	count    atomic.Int64
	mu       sync.Mutex
	started  bool
	stopping atomic.Bool // no longer accepting
	shutdown atomic.Bool // Shutdown has begun
}

// NewServer checks the options and prepares a server; Start listens.
func NewServer(o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o}
	s.requests.New = func() any { return new(wsproto.Request) }
	if o.InboundBudget > 0 {
		s.inbound = wsproto.NewBudget(o.InboundBudget)
	}
	s.decoders.New = func() any {
		return &partialDecoder{Decoder: wsproto.Decoder{MaxFrameSize: o.MaxFrameSize, MaxMessageSize: o.MaxMessageSize, Budget: s.inbound}}
	}
	if s.tr, err = newTransport(s); err != nil {
		return nil, err
	}
	s.wheel = newWheel(o.timerTick(), func(c *Conn, now int64) { c.onTimer(now) })
	if s.inbound != nil {
		s.reclaim.budget = s.inbound
	}
	s.peers = newPeerLimiter(o)
	s.rates = newMessageRates(o)
	if s.inbound != nil || s.peers != nil {
		s.wheel.everyTick = s.everyTick
	}
	return s, nil
}

// Start listens on Options.Addr and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("poller: server already started")
	}
	if err := s.tr.listen(); err != nil {
		return err
	}
	s.started = true
	go s.wheel.run()
	s.flushers.start(s.opts.Flushers)
	s.tr.serve()
	return nil
}

// inboundBytes is what the connections hold in partial frames now.
func (s *Server) inboundBytes() int64 {
	if s.inbound == nil {
		return 0
	}
	return s.inbound.Used()
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.tr.addr() }

// Backend is the backend the server runs on.
func (s *Server) Backend() Backend { return s.opts.Backend }

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

// StopAccepting closes the listener: new connections are refused and
// Serving turns false, while the open ones carry on. Shutdown does it
// first; calling it earlier lets a caller do something in between, such
// as leaving a cluster, without taking new clients meanwhile.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started && s.stopping.CompareAndSwap(false, true) {
		s.tr.stopAccepting()
	}
}

// Shutdown stops accepting, closes every connection with 1001 and
// ShutdownReason (spread over Options.DrainWindow) and waits for the close
// handshakes, the flushes and every OnClose. When ctx ends first, the
// remaining connections are dropped and ctx's error is returned at once;
// OnClose calls still running finish on their own.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started || !s.shutdown.CompareAndSwap(false, true) {
		return nil
	}
	s.StopAccepting()
	s.closeSpread(ctx, s.opts.DrainWindow)
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
	s.tr.stop()
	s.wheel.close()
	s.flushers.stop()
	return err
}

// everyTick runs the server's periodic chores on the wheel's goroutine.
func (s *Server) everyTick(now int64) {
	if s.inbound != nil {
		s.reclaim.tick(now)
	}
	if s.peers != nil {
		s.peers.sweep(now)
	}
}

// admit takes a new TCP connection on fd from the client address from
// into the engine and starts its handshake deadline; loop is the epoll
// loop that will own it. It returns nil when the connection must be closed
// at once: the server is shutting down, MaxConns or a per-address limit is
// reached, or fd is beyond the connection table. from is read only when
// per-address limits are set.
func (s *Server) admit(fd int32, loop uint16, from netip.Addr) *Conn {
	if s.stopping.Load() {
		s.stats.rejected.Add(1)
		return nil
	}
	if s.count.Add(1) > int64(s.opts.MaxConns) {
		s.count.Add(-1)
		s.stats.rejected.Add(1)
		return nil
	}
	if s.peers != nil && from.IsValid() {
		switch s.peers.join(fd, from, s.wheel.now.Load()) {
		case overConnsPerIP:
			s.count.Add(-1)
			s.stats.refusedConnsPerIP.Add(1)
			return nil
		case overConnectRate:
			s.count.Add(-1)
			s.stats.refusedConnectRate.Add(1)
			return nil
		}
	}
	c := &Conn{srv: s, fd: fd, loop: loop, id: s.nextID.Add(1), tslot: -1}
	if err := s.conns.add(fd, c); err != nil {
		s.count.Add(-1)
		if s.peers != nil {
			s.peers.leave(fd)
		}
		s.stats.rejected.Add(1)
		s.opts.Logger.Error("poller: refused a connection", "err", err)
		return nil
	}
	s.stats.accepted.Add(1)
	s.wheel.schedule(c, s.wheel.after(s.opts.HandshakeTimeout))
	return c
}

// forget drops a closed connection from the server's count; markClosed
// took it out of the connection table already.
func (s *Server) forget(c *Conn) {
	s.count.Add(-1)
}
