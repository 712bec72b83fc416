//go:build linux

package poller

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollTransport runs a Server on event loops of the package's own
// (BackendEpoll). Each loop waits on its epoll instance for a bounded batch
// of events and reads every ready connection into its one shared buffer;
// a connection holds a buffer only while a frame, a request head or a
// handed-off read is partial. The listener sits in every loop
// (EPOLLEXCLUSIVE wakes one), and accepted connections are dealt round
// robin over the loops.
type epollTransport struct {
	s     *Server
	loops []*eventLoop
	next  atomic.Uint32 // round robin of accepted connections
	done  sync.WaitGroup

	// lnMu is held around each batch of accepts and when the listener
	// closes: no accept lands on its fd number after it was closed and
	// reused, and no loop's accept takes the descriptor another loop's
	// refusal frees for a moment (see refuseWithSpare).
	lnMu     sync.Mutex
	lfd      int
	lnClosed bool
	laddr    net.Addr
	// spare is a descriptor held in reserve: when the process runs out of
	// descriptors, it is closed to accept and at once close a pending
	// connection, which would otherwise wake the loops forever.
	spare int
	// peer receives the client address of each accept, only when the
	// server limits per address (Server.peers); guarded by lnMu.
	peer sockaddrBuf
}

func newEpollTransport(s *Server) (transport, error) {
	return &epollTransport{s: s, lfd: -1, spare: -1}, nil
}

// listenBacklog asks for the longest accept queue; the kernel caps it at
// net.core.somaxconn.
const listenBacklog = 65535

func (t *epollTransport) listen() error {
	addr := t.s.opts.Addr
	lfd, laddr, err := listenTCP(addr)
	if err != nil {
		return fmt.Errorf("poller: listen on %s: %w", addr, err)
	}
	t.lfd, t.laddr = lfd, laddr
	t.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for i := range t.s.opts.Loops {
		l, err := newEventLoop(t, uint16(i))
		if err == nil {
			err = l.watchListener(lfd)
		}
		if err != nil {
			if l != nil {
				l.close()
			}
			for _, l := range t.loops {
				l.close()
			}
			t.loops = nil
			unix.Close(lfd)
			t.closeSpare()
			return fmt.Errorf("poller: event loop: %w", err)
		}
		t.loops = append(t.loops, l)
	}
	return nil
}

// listenTCP opens a non-blocking listening socket on addr.
func listenTCP(addr string) (int, net.Addr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, nil, err
	}
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	switch ip4 := ta.IP.To4(); {
	case ta.IP == nil:
		// No host: every address, IPv6 and IPv4 alike where the kernel has
		// IPv6, as Go's net package does.
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: ta.Port}
	case ip4 != nil:
		sa4 := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa4.Addr[:], ip4)
		sa = sa4
	default:
		sa6 := &unix.SockaddrInet6{Port: ta.Port}
		copy(sa6.Addr[:], ta.IP.To16())
		family, sa = unix.AF_INET6, sa6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil && ta.IP == nil {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: ta.Port}
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if family == unix.AF_INET6 && ta.IP == nil {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("listen: %w", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("getsockname: %w", err)
	}
	return fd, tcpAddr(bound), nil
}

// tcpAddr converts a socket address to the net package's form.
func tcpAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := net.IP(append([]byte(nil), a.Addr[:]...))
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4 // an IPv4 peer on a dual-stack socket
		}
		return &net.TCPAddr{IP: ip, Port: a.Port}
	}
	return nil
}

func (t *epollTransport) serve() {
	t.done.Add(len(t.loops))
	for _, l := range t.loops {
		go l.run()
	}
}

func (t *epollTransport) addr() net.Addr { return t.laddr }

func (t *epollTransport) stopAccepting() {
	t.lnMu.Lock()
	defer t.lnMu.Unlock()
	if t.lnClosed {
		return
	}
	t.lnClosed = true
	for _, l := range t.loops {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, t.lfd, nil)
	}
	unix.Close(t.lfd)
	t.closeSpare()
}

// stop ends the loops, then closes what connections are left: those that
// Shutdown's deadline cut short.
func (t *epollTransport) stop() {
	t.stopAccepting()
	for _, l := range t.loops {
		l.wakeUp()
	}
	t.done.Wait()
	t.s.conns.each(func(c *Conn) { t.release(c) })
	for _, l := range t.loops {
		l.close()
	}
}

// accept takes the connections waiting on the listener, at most a batch,
// and deals them to the loops.
func (t *epollTransport) accept() {
	t.lnMu.Lock()
	defer t.lnMu.Unlock()
	if t.lnClosed {
		return
	}
	var peer *sockaddrBuf
	if t.s.peers != nil {
		peer = &t.peer
	}
	for range acceptBatch {
		fd, err := accept4(t.lfd, peer)
		switch {
		case err == nil:
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err == unix.EMFILE || err == unix.ENFILE:
			t.refuseWithSpare() // counts what it refuses
			return
		default:
			t.s.opts.Logger.Error("poller: accept", "addr", t.laddr.String(), "err", err)
			return
		}
		l := t.loops[int(t.next.Add(1))%len(t.loops)]
		var from netip.Addr
		if peer != nil {
			from = peer.addr()
		}
		c := t.s.admit(int32(fd), l.idx, from)
		if c == nil {
			unix.Close(fd)
			continue
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		ev := unix.EpollEvent{Events: connEvents, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			t.s.opts.Logger.Error("poller: register a connection", "err", err)
			t.release(c)
		}
	}
}

// sockaddrBuf is where accept4 writes a client address.
type sockaddrBuf struct {
	sa unix.RawSockaddrAny
	n  uint32
}

// accept4 accepts one connection, non-blocking and close-on-exec. Unlike
// unix.Accept4 it allocates nothing: the peer address is written into buf
// when buf is not nil (the per-address limits need it), and otherwise not
// asked for; RemoteAddr asks the kernel when needed.
func accept4(lfd int, buf *sockaddrBuf) (int, error) {
	var addr, addrLen uintptr
	if buf != nil {
		buf.n = unix.SizeofSockaddrAny
		addr, addrLen = uintptr(unsafe.Pointer(&buf.sa)), uintptr(unsafe.Pointer(&buf.n))
	}
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), addr, addrLen, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// addr is the client address accept4 wrote; the zero Addr for a family
// other than IPv4 and IPv6.
func (b *sockaddrBuf) addr() netip.Addr {
	sa := &b.sa
	switch sa.Addr.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(sa)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(sa)).Addr)
	}
	return netip.Addr{}
}

// acceptBatch bounds the accepts of one wake-up, so that a connect storm
// leaves the loop time for the handshakes it brings.
const acceptBatch = 64

// refuseWithSpare closes one pending connection when the process is out
// of descriptors: the listener stays readable otherwise, and every loop
// would wake for it without end. lnMu is held.
func (t *epollTransport) refuseWithSpare() {
	if t.spare < 0 {
		// Lost earlier to a race for the freed number: take one back if
		// any came free, and refuse on the next wake-up.
		if t.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); t.spare < 0 {
			time.Sleep(time.Millisecond) // nothing in reserve: at least do not spin
		}
		return
	}
	unix.Close(t.spare)
	// Another loop woken for the same connection may have refused it
	// already: count only what this accept takes.
	if fd, err := accept4(t.lfd, nil); err == nil {
		unix.Close(fd)
		t.s.stats.rejected.Add(1)
	}
	t.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

func (t *epollTransport) closeSpare() {
	if t.spare >= 0 {
		unix.Close(t.spare)
		t.spare = -1
	}
}

// closeConn begins a close from any goroutine: the socket is shut down,
// which wakes its loop with EPOLLHUP, and the loop releases it. The fd
// itself is closed only by its loop, so the loop never reads a number that
// was closed and reused under it.
func (t *epollTransport) closeConn(c *Conn) {
	c.mu.Lock()
	if c.socketClosing || c.released {
		c.mu.Unlock()
		return
	}
	c.socketClosing = true
	c.fdMu.Lock() // under mu, as in flush: markClosed cannot slip in between
	c.mu.Unlock()
	unix.Shutdown(int(c.fd), unix.SHUT_RDWR)
	c.fdMu.Unlock()
}

// release finishes a connection's close on its loop (or after the loops
// stopped): the fd is closed, and OnClose runs once the read task, if one
// is running, has returned.
func (t *epollTransport) release(c *Conn) {
	c.mu.Lock()
	c.socketClosing = true
	c.mu.Unlock()
	c.markClosed()
	unix.Close(int(c.fd))
	c.mu.Lock()
	task := c.inTask
	c.closePending = task // the task finishes the close when it returns
	c.mu.Unlock()
	if !task {
		c.releaseReader()
		go c.onDisconnect()
	}
}

// waitWritable arms EPOLLOUT for a full socket; the loop resumes the flush
// when it drains. The wheel closes the connection if it stays full for
// WriteTimeout.
func (t *epollTransport) waitWritable(c *Conn) {
	now := t.s.wheel.now.Load()
	c.mu.Lock()
	if c.state == stateClosed {
		c.dropQueueLocked()
		c.writing = false
		c.mu.Unlock()
		return
	}
	c.wantWrite = true
	if c.stalledAt == 0 {
		c.stalledAt = now
	}
	t.loops[c.loop].rearmLocked(c)
	c.mu.Unlock()
	t.s.wheel.scheduleBefore(c, now+int64(t.s.opts.WriteTimeout)+t.s.wheel.tick) // never early: see wheel.after
}

func (t *epollTransport) remoteAddr(c *Conn) net.Addr {
	return t.sockaddr(c, unix.Getpeername)
}

func (t *epollTransport) localAddr(c *Conn) net.Addr {
	return t.sockaddr(c, unix.Getsockname)
}

// sockaddr asks the kernel for one of c's addresses, unless fd is gone.
func (t *epollTransport) sockaddr(c *Conn, get func(int) (unix.Sockaddr, error)) net.Addr {
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return nil
	}
	c.fdMu.Lock()
	c.mu.Unlock()
	sa, err := get(int(c.fd))
	c.fdMu.Unlock()
	if err != nil {
		return nil
	}
	return tcpAddr(sa)
}
