package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/wsproto"
)

// Hooks is what a workload plugs into a Loop. Every call happens on the
// loop's goroutine, so a workload keeps per-loop state without locks.
type Hooks interface {
	// Opened is called when the handshake of c completed.
	Opened(c *Conn, now int64)
	// Message is called for every data message received on c. The payload is
	// valid only during the call.
	Message(c *Conn, payload []byte, now int64)
	// Failed is called once when c fails: dial, handshake, read or write
	// error, or a close the client did not start. c is closed afterwards.
	Failed(c *Conn, err error)
	// Tick is called at the loop's tick interval.
	Tick(now int64)
}

type connState uint8

const (
	stateConnecting connState = iota
	stateHandshaking
	stateOpen
	stateClosing // we sent a close frame and wait for the server's
	stateClosed
)

// maxResponseHead bounds the handshake response the client buffers.
const maxResponseHead = 8 << 10

// Conn is one client connection. It holds no read buffer: reads go through
// the loop's shared buffer and only a partial frame is kept, by the decoder.
type Conn struct {
	// Index is the workload's number for this connection.
	Index int
	// Dialed is when connect started, in Unix nanoseconds.
	Dialed int64
	// Mark is the workload's to use (echo: 1 + the last sequence number
	// echoed).
	Mark uint64
	// Redialed says the connection replaces one of the same Index that the
	// run closed on purpose (bcast -churn): it is not one of the connections
	// asked for, and its figures are the churn's.
	Redialed bool

	fd     int
	state  connState
	target *Target
	key    string // Sec-WebSocket-Key during the handshake
	head   []byte // response head gathered during the handshake
	dec    wsproto.Decoder
	out    []byte // bytes the socket did not take yet
}

// Open reports whether the handshake completed and the connection is usable.
func (c *Conn) Open() bool { return c.state == stateOpen }

// Loop is an epoll event loop driving many client connections on one
// goroutine. It is not safe for concurrent use except Stop.
type Loop struct {
	hooks   Hooks
	epfd    int
	timerfd int
	conns   []*Conn // by fd
	live    int     // connections not yet closed
	buf     []byte  // shared read buffer
	frame   []byte  // scratch for outgoing frames
	events  []unix.EpollEvent
	rng     *rand.PCG
	cur     *Conn // connection whose bytes the decoder is handling
	stopped atomic.Bool
	// compression offers permessage-deflate on every handshake (set
	// before Run).
	compression bool
	wireIn      int64 // bytes read from open connections
}

// NewLoop creates a loop that calls hooks.Tick every tick.
func NewLoop(hooks Hooks, tick time.Duration) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	spec := unix.NsecToTimespec(int64(tick))
	if err := unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{Interval: spec, Value: spec}, nil); err != nil {
		unix.Close(epfd)
		unix.Close(tfd)
		return nil, fmt.Errorf("timerfd_settime: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}); err != nil {
		unix.Close(epfd)
		unix.Close(tfd)
		return nil, fmt.Errorf("epoll_ctl timerfd: %w", err)
	}
	return &Loop{
		hooks: hooks, epfd: epfd, timerfd: tfd,
		buf: make([]byte, 64<<10), events: make([]unix.EpollEvent, 512),
		rng: rand.NewPCG(uint64(time.Now().UnixNano()), uint64(epfd)),
	}, nil
}

// Live is the number of connections dialed and not yet closed.
func (l *Loop) Live() int { return l.live }

// Stop makes Run return within one tick. Safe from any goroutine.
func (l *Loop) Stop() { l.stopped.Store(true) }

// Dial starts connecting to t, from src when it is not nil. The result
// arrives as Opened or Failed.
func (l *Loop) Dial(t *Target, src *unix.SockaddrInet4, index int) (*Conn, error) {
	now := time.Now().UnixNano()
	fd, err := dialNonblocking(t, src)
	if err != nil {
		return nil, err
	}
	c := &Conn{Index: index, Dialed: now, fd: fd, target: t}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll_ctl add: %w", err)
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*Conn, len(l.conns)+64)...)
	}
	l.conns[fd] = c
	l.live++
	return c, nil
}

// Run waits for events until Stop. It closes every connection on return.
func (l *Loop) Run() {
	defer l.release()
	for !l.stopped.Load() {
		n, err := unix.EpollWait(l.epfd, l.events, 100)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		now := time.Now().UnixNano()
		for i := range n {
			ev := l.events[i]
			fd := int(ev.Fd)
			if fd == l.timerfd {
				var b [8]byte
				_, _ = unix.Read(fd, b[:])
				l.hooks.Tick(now)
				continue
			}
			if fd < len(l.conns) && l.conns[fd] != nil {
				l.handle(l.conns[fd], ev.Events, now)
			}
		}
	}
}

func (l *Loop) handle(c *Conn, events uint32, now int64) {
	if c.state == stateConnecting {
		l.connected(c)
		return
	}
	if events&unix.EPOLLOUT != 0 && len(c.out) > 0 {
		if !l.flush(c) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.read(c, now)
	}
}

// connected finishes a non-blocking connect and sends the upgrade request.
func (l *Loop) connected(c *Conn) {
	soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err != nil {
		l.fail(c, fmt.Errorf("connect %s: %w", c.target.URL, err))
		return
	}
	// Writable stays true from now on: with level-triggered epoll, asking
	// for EPOLLOUT any longer would wake the loop for nothing on every wait.
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}); err != nil {
		l.fail(c, fmt.Errorf("epoll_ctl mod: %w", err))
		return
	}
	c.state = stateHandshaking
	c.key = newKey()
	l.frame = appendUpgrade(l.frame[:0], c.target, c.key, l.compression)
	l.write(c, l.frame)
}

func (l *Loop) read(c *Conn, now int64) {
	n, err := unix.Read(c.fd, l.buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		if err == nil {
			err = errors.New("connection closed by server")
		}
		l.fail(c, fmt.Errorf("read: %w", err))
		return
	}
	p := l.buf[:n]
	if c.state == stateHandshaking {
		if p = l.handshake(c, p, now); p == nil {
			return
		}
	}
	l.wireIn += int64(len(p))
	l.cur = c
	_, err = c.dec.Feed(p, l)
	l.cur = nil
	if err != nil && c.state != stateClosed {
		l.fail(c, fmt.Errorf("decode: %w", err))
	}
}

// handshake gathers the response head and checks it. It returns the bytes
// after the head once the connection is open, else nil.
func (l *Loop) handshake(c *Conn, p []byte, now int64) []byte {
	c.head = append(c.head, p...)
	end := bytes.Index(c.head, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.head) > maxResponseHead {
			l.fail(c, errors.New("handshake: response head too large"))
		}
		return nil
	}
	compressed, err := checkUpgradeResponse(c.head[:end+4], c.key, l.compression)
	if err != nil {
		l.fail(c, err)
		return nil
	}
	c.dec.Compression = compressed
	rest := p[len(p)-(len(c.head)-end-4):]
	c.head, c.key = nil, ""
	c.dec.FromServer = true
	c.state = stateOpen
	l.hooks.Opened(c, now)
	if c.state != stateOpen || len(rest) == 0 {
		return nil
	}
	return rest
}

// HandleMessage implements wsproto.Handler for the connection being read.
func (l *Loop) HandleMessage(op wsproto.OpCode, payload []byte) error {
	if c := l.cur; c.state == stateOpen {
		l.hooks.Message(c, payload, time.Now().UnixNano())
	}
	return nil
}

// HandleControl answers pings and completes closes.
func (l *Loop) HandleControl(op wsproto.OpCode, payload []byte) error {
	c := l.cur
	switch op {
	case wsproto.OpPing:
		l.send(c, wsproto.OpPong, payload)
	case wsproto.OpClose:
		if c.state == stateClosing {
			l.closeFd(c)
			return nil
		}
		code, _, _ := wsproto.ParseClosePayload(payload)
		l.send(c, wsproto.OpClose, payload[:min(len(payload), 2)])
		l.fail(c, fmt.Errorf("closed by server with %d", code))
	}
	return nil
}

// Send writes one masked data message to c.
func (l *Loop) Send(c *Conn, op wsproto.OpCode, payload []byte) {
	if c.state == stateOpen {
		l.send(c, op, payload)
	}
}

func (l *Loop) send(c *Conn, op wsproto.OpCode, payload []byte) {
	m := l.rng.Uint64()
	mask := [4]byte{byte(m), byte(m >> 8), byte(m >> 16), byte(m >> 24)}
	l.frame = wsproto.AppendMaskedFrame(l.frame[:0], op, true, payload, mask)
	l.write(c, l.frame)
}

// write sends p now if nothing is queued, and queues what the socket does
// not take, asking epoll for EPOLLOUT until it drains.
func (l *Loop) write(c *Conn, p []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, p...)
		return
	}
	n, err := unix.Write(c.fd, p)
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		l.fail(c, fmt.Errorf("write: %w", err))
		return
	}
	n = max(n, 0)
	if n == len(p) {
		return
	}
	c.out = append(c.out[:0], p[n:]...)
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(c.fd)})
}

// flush writes queued bytes; it reports false if c failed.
func (l *Loop) flush(c *Conn) bool {
	n, err := unix.Write(c.fd, c.out)
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		l.fail(c, fmt.Errorf("write: %w", err))
		return false
	}
	c.out = c.out[max(n, 0):]
	if len(c.out) == 0 {
		c.out = nil // let an idle connection hold no buffer
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)})
	}
	return true
}

// Close starts a clean close of c if it is open: from now on no message of
// c reaches the hooks, and its socket is closed when the server answers
// (or when the loop ends).
func (l *Loop) Close(c *Conn) {
	if c.state != stateOpen {
		return
	}
	l.send(c, wsproto.OpClose, wsproto.AppendClosePayload(nil, wsproto.CloseNormal, ""))
	if c.state == stateOpen {
		c.state = stateClosing
	}
}

// CloseAll starts a clean close of every open connection and drops the
// others; Run's caller keeps the loop running until Live is 0 or it gives up.
func (l *Loop) CloseAll() {
	for _, c := range l.conns {
		if c == nil {
			continue
		}
		if c.state == stateOpen {
			l.Close(c)
		} else if c.state != stateClosing {
			l.closeFd(c)
		}
	}
}

// fail reports an unexpected end of c to the workload and closes it. A
// connection we were closing ends quietly.
func (l *Loop) fail(c *Conn, err error) {
	if c.state == stateClosed {
		return
	}
	if c.state != stateClosing {
		l.hooks.Failed(c, err)
	}
	l.closeFd(c)
}

func (l *Loop) closeFd(c *Conn) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	c.dec.Release()
	c.out, c.head = nil, nil
	l.live--
}

func (l *Loop) release() {
	for _, c := range l.conns {
		if c != nil {
			l.closeFd(c)
		}
	}
	unix.Close(l.timerfd)
	unix.Close(l.epfd)
}

// ExpireHandshakes fails every connection still connecting or handshaking
// that was dialed before deadline (Unix nanoseconds).
func (l *Loop) ExpireHandshakes(deadline int64) {
	for _, c := range l.conns {
		if c != nil && (c.state == stateConnecting || c.state == stateHandshaking) && c.Dialed < deadline {
			l.fail(c, errors.New("handshake timeout"))
		}
	}
}
