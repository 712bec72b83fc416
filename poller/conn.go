package poller

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
	"github.com/wsgate/wsgate/internal/safecall"
	"github.com/wsgate/wsgate/wsproto"
)

// Errors returned by the write calls of a Conn. ErrClosed is
// wsproto.ErrClosed, so that a caller that only knows a connection by an
// interface (the router) recognizes it too.
var (
	ErrClosed   = wsproto.ErrClosed
	ErrOverflow = errors.New("poller: outbound queue over budget")
)

type connState uint8

const (
	stateHandshake connState = iota // reading the request head
	stateOpen                       // exchanging messages
	stateClosing                    // a close frame was sent or received
	stateResponded                  // an HTTP answer instead of the upgrade: nothing more is read
	stateClosed                     // the TCP connection is gone
)

// Conn is one client connection. It holds no goroutine and, while idle, no
// buffer: its bytes are read by its event loop (and handed to a read task
// unless Options.InlineHandlers), and its writes go straight to the socket
// from the sender's goroutine (see write.go). Its methods are safe for
// concurrent use.
type Conn struct {
	// Fields are ordered so that the struct fits the 192-byte size class
	// (TestConnSize): every idle connection holds one.
	srv   *Server
	id    uint64
	value atomic.Pointer[any]

	// read side, owned by the read path (the loop, or the read task)
	dec      *partialDecoder            // lent by the server while a frame or message is partial, else nil
	head     *bytebufferpool.ByteBuffer // a request head split across reads
	lastRead atomic.Int64               // coarse time of the last bytes read
	missed   atomic.Int32               // pings sent since the last bytes read

	// timing wheel linkage, guarded by the wheel's lock
	tslot        int32
	tprev, tnext *Conn
	deadline     int64
	nextPing     int64 // owned by the wheel goroutine

	// fdMu is held around each writev on fd, each shutdown of it and each
	// address lookup.
	// markClosed takes it before the transport closes fd, so that no
	// write or shutdown lands on the fd number after it was closed and
	// reused by another connection.
	fdMu sync.Mutex

	// write side and state, guarded by mu
	mu sync.Mutex
	// inbox holds bytes the loop read for a read task still running
	// (epoll, without InlineHandlers); nil otherwise.
	inbox       *bytebufferpool.ByteBuffer
	queue       []*wsproto.SharedFrame
	off         int     // bytes of queue[qhead] already written
	queued      int     // bytes queued and not yet written
	stalledAt   int64   // coarse time the socket went full, 0 while it takes writes (epoll)
	closeReason *string // why we or the peer closed; nil until then
	qhead       int32   // index of the first unwritten frame in queue
	fd          int32
	closeCode   wsproto.StatusCode
	loop        uint16 // index of the epoll loop that owns fd
	state       connState
	opened      bool // OnOpen ran, so OnClose must run
	writing     bool
	closeAfter  bool // close TCP once the queue drains
	// inTask: a read task is running for the connection (an inline one
	// with netpoll, a handed-off one with epoll).
	inTask bool
	// closePending: the close waits for the running read task, which
	// finishes it when it returns (netpoll: closes the socket, see
	// runTask; epoll: runs OnClose, see readTask).
	closePending bool
	// socketClosing: the close of the socket has begun; nothing more is
	// read.
	socketClosing bool
	// released: markClosed ran; fd is closed or about to be.
	released bool
	// epoll interest beyond EPOLLIN: the socket is full (EPOLLOUT armed),
	// the read task is behind (EPOLLIN dropped).
	wantWrite, readPaused bool
	// proto is 1 + the index in Options.Subprotocols of the negotiated
	// subprotocol, 0 for none; set during the handshake.
	proto uint8
	// deflate is the LZ77 window (8 to 15 bits) that the messages sent
	// must keep to when permessage-deflate was negotiated, 0 when it was
	// not; set during the handshake. Nothing else of compression lives
	// on the connection: no context is kept between messages.
	deflate uint8
}

// ID is the connection's number, unique within its Server.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.srv.tr.remoteAddr(c) }

// LocalAddr is the address the connection was accepted on.
func (c *Conn) LocalAddr() net.Addr { return c.srv.tr.localAddr(c) }

// Subprotocol is the negotiated subprotocol, or "".
func (c *Conn) Subprotocol() string {
	if c.proto == 0 {
		return ""
	}
	return c.srv.opts.Subprotocols[c.proto-1]
}

// SetValue attaches a value of the application's to the connection.
func (c *Conn) SetValue(v any) { c.value.Store(&v) }

// Value returns what SetValue stored, or nil.
func (c *Conn) Value() any {
	if p := c.value.Load(); p != nil {
		return *p
	}
	return nil
}

// QueuedBytes is how many bytes wait to be written to the socket.
func (c *Conn) QueuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// onData handles bytes read from the socket; it runs in the event loop's
// task for this connection, never concurrently with itself.
func (c *Conn) onData(p []byte) {
	c.lastRead.Store(c.srv.wheel.now.Load())
	c.missed.Store(0)
	c.mu.Lock()
	st, closing := c.state, c.socketClosing
	c.mu.Unlock()
	if closing {
		return // aborted: nothing more counts
	}
	switch st {
	case stateHandshake:
		c.readHead(p)
	case stateOpen, stateClosing:
		c.readFrames(p)
	}
}

func (c *Conn) readFrames(p []byte) {
	d := c.dec
	now := c.srv.wheel.now.Load()
	if d == nil {
		d = c.srv.decoders.Get().(*partialDecoder)
		d.since = now
		c.dec = d
	} else if limit := c.srv.opts.MessageTimeout; limit > 0 && now-d.since > int64(limit) && !d.Closed() {
		// Trickling keeps the pings answered but must not keep a partial
		// message, and its share of the inbound budget, forever.
		c.srv.stats.messageTimeouts.Add(1)
		c.fail(wsproto.ClosePolicyViolation, "message not completed within the message timeout")
		return
	}
	if d.Closed() {
		return // nothing after a close frame counts
	}
	d.Compression = c.deflate != 0 // the decoder was lent by the server's pool
	_, err := d.Feed(p, (*frameHandler)(c))
	if d.Idle() {
		// Between frames a decoder holds nothing of the stream: an idle
		// connection does not keep one.
		c.dec = nil
		c.srv.decoders.Put(d)
	}
	if err != nil {
		var pe *wsproto.ProtocolError
		if errors.As(err, &pe) {
			if pe == wsproto.ErrInboundBudget {
				c.srv.stats.inboundRefusals.Add(1)
			} else {
				c.srv.stats.protocolErrors.Add(1)
			}
			c.fail(pe.Code, pe.Reason)
			return
		}
		if !errors.Is(err, ErrClosed) {
			c.srv.opts.Logger.Debug("websocket read", "conn", c.id, "err", err)
		}
	}
}

// partialDecoder is a decoder lent to a connection while a frame or
// message is partial, with the (coarse) time it was lent: when the partial
// began.
type partialDecoder struct {
	wsproto.Decoder
	since int64
}

// frameHandler is the Conn seen by its decoder.
type frameHandler Conn

func (h *frameHandler) HandleMessage(op wsproto.OpCode, payload []byte) error {
	c := (*Conn)(h)
	c.mu.Lock()
	st, closing := c.state, c.socketClosing
	c.mu.Unlock()
	if st != stateOpen || closing {
		return nil // data after our close frame, or an abort, is discarded
	}
	c.srv.stats.messagesIn.Add(1)
	if r := c.srv.rates; r != nil && !r.allow(c, c.srv.wheel.now.Load()) {
		c.srv.stats.messageRateExceeded.Add(1)
		if r.close {
			c.fail(wsproto.ClosePolicyViolation, "message rate exceeded")
		}
		return nil
	}
	if p := safecall.Run(func() { c.srv.opts.Handler.OnMessage(c, op, payload) }); p != nil {
		c.handlerPanicked(p, "OnMessage")
	}
	return nil
}

// handlerPanicked answers a panic in the Handler: it must not take the
// process down, so it is logged and the connection closed with 1011.
func (c *Conn) handlerPanicked(p *safecall.Panic, callback string) {
	p.Log(c.srv.opts.Logger, callback, "conn", c.id)
	c.fail(wsproto.CloseInternalError, "internal error")
}

func (h *frameHandler) HandleControl(op wsproto.OpCode, payload []byte) error {
	c := (*Conn)(h)
	switch op {
	case wsproto.OpPing:
		// A pong that cannot be queued (we are closing, or it is over the
		// budget and dropped or failing the connection) is left out; the
		// frames after the ping must still be read, a close above all.
		c.writeControl(wsproto.NewSharedFrame(wsproto.OpPong, payload))
	case wsproto.OpClose:
		code, reason, _ := wsproto.ParseClosePayload(payload) // validated by the decoder
		c.onPeerClose(code, string(reason))
	}
	return nil // a pong only proves liveness, which onData noted
}

// onPeerClose answers the peer's close frame. If we had sent ours already
// the handshake is complete; otherwise echo the code, then close TCP once
// the echo is flushed.
func (c *Conn) onPeerClose(code wsproto.StatusCode, reason string) {
	c.mu.Lock()
	switch c.state {
	case stateOpen:
		c.state = stateClosing
		c.closeCode, c.closeReason = code, &reason
		c.mu.Unlock()
		f := newCloseFrame(code, "")
		c.enqueue(f, true, true)
		f.Release()
		c.srv.wheel.schedule(c, c.srv.wheel.after(c.srv.opts.CloseTimeout))
	case stateClosing:
		c.closeAfter = true
		idle := !c.writing
		c.mu.Unlock()
		if idle {
			c.closeSocket()
		}
	default:
		c.mu.Unlock()
	}
}

// Close starts the closing handshake: everything queued is flushed, then a
// close frame with code and reason; the TCP connection is closed when the
// peer answers, or after Options.CloseTimeout. It returns ErrClosed if the
// connection is already closing.
func (c *Conn) Close(code wsproto.StatusCode, reason string) error {
	return c.closeWith(code, reason, false)
}

// fail closes after a protocol violation or a policy decision without
// waiting for the peer's close frame (RFC 6455 section 7.1.7).
func (c *Conn) fail(code wsproto.StatusCode, reason string) {
	c.closeWith(code, reason, true)
}

func (c *Conn) closeWith(code wsproto.StatusCode, reason string, now bool) error {
	c.mu.Lock()
	if c.state == stateHandshake {
		c.state = stateClosed
		c.mu.Unlock()
		c.closeSocket()
		return nil
	}
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	c.state = stateClosing
	c.closeCode, c.closeReason = code, &reason
	c.mu.Unlock()
	f := newCloseFrame(code, reason)
	c.enqueue(f, true, now)
	f.Release()
	c.srv.wheel.schedule(c, c.srv.wheel.after(c.srv.opts.CloseTimeout))
	return nil
}

// newCloseFrame encodes a close frame with code and reason.
func newCloseFrame(code wsproto.StatusCode, reason string) *wsproto.SharedFrame {
	var p [wsproto.MaxControlPayload]byte
	return wsproto.NewSharedFrame(wsproto.OpClose, wsproto.AppendClosePayload(p[:0], code, reason))
}

// Abort closes the TCP connection at once, dropping whatever is queued.
func (c *Conn) Abort() {
	c.closeSocket()
}

// onTimer runs on the wheel goroutine when the connection's deadline is due.
func (c *Conn) onTimer(now int64) {
	o := &c.srv.opts
	c.mu.Lock()
	st, stalledAt := c.state, c.stalledAt
	c.mu.Unlock()
	if stalledAt != 0 && now-stalledAt >= int64(o.WriteTimeout) {
		c.srv.stats.writeTimeouts.Add(1)
		c.Abort() // the peer has not read for WriteTimeout
		return
	}
	switch st {
	case stateHandshake:
		c.srv.stats.handshakeTimeouts.Add(1)
		c.Abort()
	case stateClosing, stateResponded:
		c.Abort()
	case stateOpen:
		if o.IdleTimeout > 0 && now-c.lastRead.Load() >= int64(o.IdleTimeout) {
			c.Close(wsproto.CloseGoingAway, "idle timeout")
			return
		}
		if o.PingInterval > 0 && now >= c.nextPing {
			if int(c.missed.Load()) >= o.MaxMissedPongs {
				c.srv.stats.pingTimeouts.Add(1)
				c.Close(wsproto.CloseGoingAway, "ping timeout")
				return
			}
			c.missed.Add(1)
			c.writeControl(wsproto.NewSharedFrame(wsproto.OpPing, nil))
			c.nextPing = now + int64(o.PingInterval)
		}
		c.scheduleOpenTimer(now)
	}
}

// scheduleOpenTimer puts an open connection on the wheel for its next ping
// or idle check.
func (c *Conn) scheduleOpenTimer(now int64) {
	o := &c.srv.opts
	next := int64(-1)
	if o.PingInterval > 0 {
		next = c.nextPing
	}
	if o.IdleTimeout > 0 {
		// lastRead is coarse too: a tick more, so that the timeout is
		// never early (see wheel.after).
		idle := c.lastRead.Load() + int64(o.IdleTimeout) + c.srv.wheel.tick
		if next < 0 || idle < next {
			next = max(idle, now)
		}
	}
	c.mu.Lock()
	if c.stalledAt != 0 {
		stall := c.stalledAt + int64(o.WriteTimeout) + c.srv.wheel.tick
		if next < 0 || stall < next {
			next = max(stall, now)
		}
	}
	c.mu.Unlock()
	if next >= 0 {
		c.srv.wheel.schedule(c, next)
	}
}

// markClosed runs once the transport is about to close fd, after the read
// path has let go of it: from here on no write or shutdown touches the fd,
// whose number a new connection may get at once.
func (c *Conn) markClosed() {
	c.srv.conns.remove(c.fd, c)
	c.srv.wheel.cancel(c)
	c.mu.Lock()
	if !c.released && c.srv.peers != nil {
		c.srv.peers.leave(c.fd) // before fd is closed and its number reused
	}
	c.state = stateClosed
	c.released = true
	if !c.writing || c.wantWrite {
		// A writer in progress drops the queue itself when it sees the
		// closed state; one parked for EPOLLOUT never comes back.
		c.dropQueueLocked()
		c.writing, c.wantWrite = false, false
	}
	c.mu.Unlock()
	// Wait out a writev or shutdown that saw the connection open; later
	// ones see it closed.
	c.fdMu.Lock()
	c.fdMu.Unlock()
}

// closeSocket closes the TCP connection; the transport finishes the close
// once the read path has let go of the connection.
func (c *Conn) closeSocket() { c.srv.tr.closeConn(c) }

// onDisconnect runs once when the TCP connection is gone, whoever closed
// it, after markClosed.
func (c *Conn) onDisconnect() {
	c.mu.Lock()
	opened := c.opened
	code, reason := c.closeCode, ""
	if c.closeReason != nil {
		reason = *c.closeReason
	}
	c.mu.Unlock()
	// The connection counts until OnClose has returned, so that Shutdown,
	// which waits for the count to reach zero, waits for OnClose too.
	defer c.srv.forget(c)
	if opened {
		if code == 0 {
			code = wsproto.CloseAbnormal
		}
		if p := safecall.Run(func() { c.srv.opts.Handler.OnClose(c, code, reason) }); p != nil {
			c.handlerPanicked(p, "OnClose")
		}
	}
	// The decoder and head buffer belong to the read path, which releases
	// them (see Conn.releaseReader).
}

// releaseReader gives the read side's buffers back once the read path is
// done with a closed connection.
func (c *Conn) releaseReader() {
	if d := c.dec; d != nil {
		d.Release()
		c.dec = nil
		c.srv.decoders.Put(d)
	}
	if c.head != nil {
		bytebufferpool.Put(c.head)
		c.head = nil
	}
}
