//go:build linux

package poller

import (
	"runtime"
	"time"
	"unsafe"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"
)

// loopEvents bounds the events one epoll_wait returns: a busy loop serves
// a few hundred connections a turn and comes back, rather than taking
// every ready connection at once.
const loopEvents = 256

// readsPerWake bounds the reads of one connection in one turn, so that a
// client streaming large messages cannot starve the others of its loop:
// what is left is read on the next turn (see eventLoop.again).
const readsPerWake = 4

// connEvents is a connection's epoll interest while it reads and its
// socket takes writes. Edge-triggered: a connection is queued for the
// loop when bytes arrive, in the order they arrive. Level-triggered, the
// kernel queued a connection again as soon as it was served, before its
// next bytes came, and one whose bytes had not come when its turn did
// went back to the end: in a closed loop a share of the clients waited
// two turns where the others waited one (the 1 KiB echo's p99 was 1.8
// times its p50).
const connEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// eventLoop is one goroutine waiting on one epoll instance.
type eventLoop struct {
	t      *epollTransport
	idx    uint16
	epfd   int
	wakefd int // an eventfd written to stop the loop
	events [loopEvents]unix.EpollEvent
	buf    []byte // the shared read buffer: bytes live in it for one read
	// again holds the connections that used their reads of a turn with
	// bytes left: connections are edge-triggered, so the kernel will not
	// report those bytes again, and the loop serves them after the next
	// turn's events. Its spare is the slice being served, reused.
	again, spare []int32
	// base and mark time the inline tasks with one clock read each:
	// mark is when the last task (or the last epoll_wait) ended, as the
	// monotonic time since base.
	base time.Time
	mark time.Duration
}

func newEventLoop(t *epollTransport, idx uint16) (*eventLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	l := &eventLoop{t: t, idx: idx, epfd: epfd, wakefd: wakefd, buf: make([]byte, t.s.opts.ReadBufferSize), base: time.Now()}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// watchListener adds the listener; EPOLLEXCLUSIVE wakes one loop per
// connection instead of all (Linux 4.5 and later; without it, all wake and
// the losers find EAGAIN).
func (l *eventLoop) watchListener(lfd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(lfd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, lfd, &ev); err == nil {
		return nil
	}
	ev.Events = unix.EPOLLIN
	return unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, lfd, &ev)
}

func (l *eventLoop) close() {
	unix.Close(l.wakefd)
	unix.Close(l.epfd)
}

// wakeUp makes the loop return from its wait and stop.
func (l *eventLoop) wakeUp() {
	var one = [8]byte{1}
	unix.Write(l.wakefd, one[:])
}

func (l *eventLoop) run() {
	defer l.t.done.Done()
	lfd := int32(l.t.lfd)
	for {
		// Yield before waiting: a goroutine blocked in epoll_wait keeps
		// its P until the runtime's monitor takes it back, so the read
		// tasks and flushers the last turn started run now, not a
		// monitor tick later. With nothing else runnable it costs next
		// to nothing.
		runtime.Gosched()
		wait := -1
		if len(l.again) > 0 {
			wait = 0 // bytes are waiting: only take what else is ready
		}
		n, err := unix.EpollWait(l.epfd, l.events[:], wait)
		if err == unix.EINTR {
			continue
		}
		if l.t.s.opts.InlineHandlers {
			l.mark = time.Since(l.base)
		}
		if err != nil {
			l.t.s.opts.Logger.Error("poller: epoll_wait", "loop", l.idx, "err", err)
			return
		}
		for i := range n {
			ev := &l.events[i]
			switch ev.Fd {
			case lfd:
				l.t.accept()
				if l.t.s.opts.InlineHandlers {
					l.mark = time.Since(l.base) // accepting is no task's time
				}
			case int32(l.wakefd):
				return
			default:
				l.serve(ev.Fd, ev.Events)
			}
		}
		// Those left over from the last turn come after this turn's
		// events, so a large upload is read in slices between the others.
		l.again, l.spare = l.spare[:0], l.again
		for _, fd := range l.spare {
			l.serve(fd, unix.EPOLLIN)
		}
	}
}

// serve handles one connection's readiness.
func (l *eventLoop) serve(fd int32, events uint32) {
	c := l.t.s.conns.get(fd)
	if c == nil || c.loop != l.idx {
		return // closed by this turn, or fd reused by another loop's connection
	}
	if events&unix.EPOLLOUT != 0 {
		l.writable(c)
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.readable(c)
	}
}

// readable reads what c has, up to readsPerWake buffers, and hands it to
// the read path; EOF, an error or a close begun elsewhere ends c.
func (l *eventLoop) readable(c *Conn) {
	inline := l.t.s.opts.InlineHandlers
	for i := range readsPerWake {
		if c.closeBegun() {
			l.t.release(c)
			return
		}
		n, err := readNonblock(c.fd, l.buf)
		switch {
		case n > 0:
		case err == unix.EAGAIN:
			return
		default: // EOF or a reset
			l.t.release(c)
			return
		}
		if inline {
			l.runInline(c, l.buf[:n])
		} else if l.handOff(c, l.buf[:n]) {
			return // the read task is behind: reading resumes when it catches up
		}
		if n < len(l.buf) {
			break // drained: bytes that come later bring a new event
		}
		if i == readsPerWake-1 {
			l.again = append(l.again, c.fd) // there may be more
		}
	}
	// A handler may have begun the close; the next wake-up would find it
	// too, but the fd can go at once.
	if c.closeBegun() {
		l.t.release(c)
	}
}

// readNonblock reads from a non-blocking socket once, retrying only on
// EINTR: recv(2), which skips the file layer read(2) goes through. It is a
// raw system call, one the scheduler is not told of: the socket never
// blocks, the loop has no one to hand its P to, and telling the scheduler
// (entering and leaving a system call) costs about as much as the rest of
// a small read's user-space work.
func readNonblock(fd int32, p []byte) (int, error) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		default:
			return -1, errno
		}
	}
}

// closeBegun reports whether c's close has begun, so nothing more is read.
func (c *Conn) closeBegun() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketClosing
}

// runInline runs the read path on the loop (Options.InlineHandlers).
// A task's time runs from the end of the one before (or of epoll_wait):
// its read is in it, and one clock read a task is all it costs.
func (l *eventLoop) runInline(c *Conn, p []byte) {
	c.onData(p)
	now := time.Since(l.base)
	if held := now - l.mark; held >= SlowInlineTask {
		l.t.s.noteSlowInlineTask(c, held)
	}
	l.mark = now
}

// handOff queues p for c's read task, starting one if none runs, so that a
// handler may block without holding up the loop; one task at a time per
// connection keeps its bytes in order. It reports whether the task is so
// far behind that the loop stopped reading c: the inbox is bounded by the
// loop's buffer, and a handler that blocks only holds up its own client.
func (l *eventLoop) handOff(c *Conn, p []byte) (paused bool) {
	c.mu.Lock()
	if c.inbox == nil {
		c.inbox = bytebufferpool.Get()
	}
	c.inbox.B = append(c.inbox.B, p...)
	start := !c.inTask
	c.inTask = true
	if !start && len(c.inbox.B) >= len(l.buf) {
		c.readPaused, paused = true, true
		l.rearmLocked(c)
	}
	c.mu.Unlock()
	if start {
		go c.readTask()
	}
	return paused
}

// readTask feeds the inbox to the read path until it is empty, then ends;
// if the loop released c meanwhile, it finishes the close.
func (c *Conn) readTask() {
	for {
		c.mu.Lock()
		b := c.inbox
		c.inbox = nil
		if c.readPaused && !c.released {
			c.readPaused = false
			c.srv.tr.(*epollTransport).loops[c.loop].rearmLocked(c)
		}
		if b == nil {
			c.inTask = false
			finish := c.closePending
			c.closePending = false
			c.mu.Unlock()
			if finish {
				c.releaseReader()
				c.onDisconnect()
			}
			return
		}
		c.mu.Unlock()
		c.onData(b.B)
		bytebufferpool.Put(b)
	}
}

// writable resumes the flush of a socket that had filled up.
func (l *eventLoop) writable(c *Conn) {
	c.mu.Lock()
	if !c.wantWrite {
		c.mu.Unlock()
		return
	}
	c.wantWrite, c.stalledAt = false, 0
	l.rearmLocked(c)
	c.mu.Unlock()
	c.flush() // c.writing is still set: this loop is the writer now
}

// rearmLocked sets c's epoll interest from its state: EPOLLIN unless the
// read task is behind, EPOLLOUT while the socket is full. c.mu is held,
// and fd is still open unless c was released.
func (l *eventLoop) rearmLocked(c *Conn) {
	if c.released {
		return
	}
	ev := unix.EpollEvent{Events: connEvents &^ unix.EPOLLIN, Fd: c.fd}
	if !c.readPaused {
		ev.Events |= unix.EPOLLIN
	}
	if c.wantWrite {
		ev.Events |= unix.EPOLLOUT
	}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, int(c.fd), &ev)
}
