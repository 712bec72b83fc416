package poller

import (
	"sync"
	"syscall"
	"unsafe"

	"github.com/wsgate/wsgate/wsproto"
	"golang.org/x/sys/unix"
)

// The write path. A sender appends a frame to the connection's queue; if no
// write is in progress it becomes the writer and flushes the whole queue
// with one writev, right away and without blocking (the socket is
// non-blocking). Only when the socket buffer is full does the backend take
// over and resume the flush once it drains (epoll: the loop on EPOLLOUT;
// netpoll: a goroutine parked in its writer), so an idle or keeping-up
// connection costs nothing, and a sender never waits for a slow client:
// over the connection's budget, the overflow policy applies instead.

// maxIovecs bounds one writev (the kernel's IOV_MAX is 1024).
const maxIovecs = 1024

var iovecPool = sync.Pool{New: func() any { return new([maxIovecs]syscall.Iovec) }}

// WriteMessage encodes payload as one frame and queues it. It never blocks.
func (c *Conn) WriteMessage(op wsproto.OpCode, payload []byte) error {
	f := wsproto.NewSharedFrame(op, payload)
	err := c.enqueue(f, false, false)
	f.Release()
	return err
}

// WriteFrame queues a frame encoded by wsproto.NewSharedFrame, keeping a reference until
// it is written; the caller keeps its own. It never blocks.
func (c *Conn) WriteFrame(f *wsproto.SharedFrame) error {
	return c.enqueue(f, false, false)
}

// QueueFrame queues f like WriteFrame but leaves the writing to the
// server's flushers instead of the caller: meant for fan-out, where one
// caller queues a frame on many connections. The caller returns sooner,
// and frames queued on a connection in quick succession go out in one
// writev. Order with WriteFrame on the same connection is kept. It never
// blocks.
func (c *Conn) QueueFrame(f *wsproto.SharedFrame) error {
	return c.enqueueDeferred(f)
}

// writeControl queues a ping or pong, which count against the budget like
// data: a client that floods pings and never reads must not grow the queue.
func (c *Conn) writeControl(f *wsproto.SharedFrame) error {
	err := c.enqueue(f, false, false)
	f.Release()
	return err
}

// enqueue adds f to the queue. final marks bytes that must go out whatever
// the budget: the 101 response, a close frame, a handshake refusal; they are
// accepted in any state but closed. closeAfter, set under the same lock as
// the frame is queued, makes the writer close TCP once the queue drains, so
// a writer emptying the queue just before cannot close without it.
//
// The budget bounds the backlog, not one message: a frame larger than the
// budget is accepted when nothing else is queued.
func (c *Conn) enqueue(f *wsproto.SharedFrame, final, closeAfter bool) error {
	start, err := c.add(f, final, closeAfter)
	if start {
		c.flush()
	}
	return err
}

// enqueueDeferred adds f to the queue and, if no writer is at work, hands
// the connection to a flusher.
func (c *Conn) enqueueDeferred(f *wsproto.SharedFrame) error {
	start, err := c.add(f, false, false)
	if start {
		c.srv.flushers.push(c)
	}
	return err
}

// add appends f to the queue under the budget and reports whether the
// caller became the writer (c.writing was clear and is now set), which
// then must see the queue flushed.
func (c *Conn) add(f *wsproto.SharedFrame, final, closeAfter bool) (start bool, err error) {
	if c.deflate != 0 {
		f = c.compressed(f)
	}
	n := f.Len()
	c.mu.Lock()
	if c.state == stateClosed || (!final && c.state != stateOpen) {
		c.mu.Unlock()
		return false, ErrClosed
	}
	if !final && c.queued > 0 && c.queued+n > c.srv.opts.OutboundBudget {
		c.mu.Unlock()
		c.srv.stats.overflows.Add(1)
		if c.srv.opts.OverflowPolicy == OverflowClose {
			c.fail(wsproto.ClosePolicyViolation, "outbound queue over budget")
		}
		return false, ErrOverflow
	}
	start = c.appendLocked(f, closeAfter)
	c.mu.Unlock()
	return start, nil
}

// accept queues the handshake's 101 response and opens the connection in
// one step under the lock. Opening after the response was queued let a
// close in between (Shutdown) find the connection still in its handshake
// and drop the socket: the client, which already had its 101, got no
// close frame. Now such a close comes after the response, as a close
// frame. It reports whether the connection opened.
func (c *Conn) accept(resp *wsproto.SharedFrame) bool {
	c.mu.Lock()
	if c.state != stateHandshake {
		c.mu.Unlock()
		return false
	}
	c.state, c.opened = stateOpen, true
	start := c.appendLocked(resp, false)
	c.mu.Unlock()
	if start {
		c.flush()
	}
	return true
}

// appendLocked appends f to the queue and reports whether the caller
// became the writer. The caller holds c.mu.
func (c *Conn) appendLocked(f *wsproto.SharedFrame, closeAfter bool) (start bool) {
	f.Retain()
	if c.queue == nil {
		c.queue = queueArrays.Get().(*queueArray)[:0]
	}
	c.queue = append(c.queue, f)
	c.queued += f.Len()
	c.closeAfter = c.closeAfter || closeAfter
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// flush writes the queue until it is empty, handing over to flushBlocked
// if the socket cannot take more. The caller set c.writing.
func (c *Conn) flush() {
	iov := iovecPool.Get().(*[maxIovecs]syscall.Iovec)
	defer iovecPool.Put(iov)
	for {
		c.mu.Lock()
		if c.finishIfDoneLocked() {
			return
		}
		k, total := 0, 0
		for i := int(c.qhead); i < len(c.queue) && k < maxIovecs; i++ {
			b := c.queue[i].Bytes()
			if i == int(c.qhead) {
				b = b[c.off:]
			}
			if len(b) == 0 {
				continue
			}
			iov[k].Base = &b[0]
			iov[k].SetLen(len(b))
			total += len(b)
			k++
		}
		c.fdMu.Lock() // taken under mu: markClosed cannot slip in between
		c.mu.Unlock()

		n, err := writev(int(c.fd), iov[:k])
		c.fdMu.Unlock()
		clear(iov[:k]) // drop the pointers into frames

		c.mu.Lock()
		if n > 0 {
			c.consumeLocked(n)
		}
		c.mu.Unlock()
		switch {
		case err == syscall.EAGAIN || (err == nil && n < total):
			c.srv.tr.waitWritable(c)
			return
		case err != nil:
			c.abortWriter()
			return
		}
	}
}

// finishIfDoneLocked ends the writer's turn when the queue is empty or the
// connection closed, closing TCP if a close was waiting for the flush. It
// unlocks c.mu if and only if it returns true.
func (c *Conn) finishIfDoneLocked() bool {
	if c.state == stateClosed {
		c.dropQueueLocked()
		c.writing = false
		c.mu.Unlock()
		return true
	}
	if int(c.qhead) < len(c.queue) {
		return false
	}
	c.writing = false
	closeNow := c.closeAfter
	c.mu.Unlock()
	if closeNow {
		c.closeSocket()
	}
	return true
}

// consumeLocked drops n written bytes from the front of the queue.
func (c *Conn) consumeLocked(n int) {
	c.queued -= n
	for n > 0 {
		f := c.queue[c.qhead]
		rest := f.Len() - c.off
		if n < rest {
			c.off += n
			return
		}
		n -= rest
		f.Release()
		c.queue[c.qhead] = nil
		c.qhead++
		c.off = 0
	}
	if int(c.qhead) == len(c.queue) {
		c.resetQueueLocked()
	}
}

func (c *Conn) dropQueueLocked() {
	for i := int(c.qhead); i < len(c.queue); i++ {
		c.queue[i].Release()
		c.queue[i] = nil
	}
	c.resetQueueLocked()
	c.queued, c.off = 0, 0
}

// queueArray is the backing array of a short queue. An idle connection
// holds none: a burst borrows one from queueArrays and gives it back once
// written, and only a longer backlog grows a queue of its own.
type queueArray [8]*wsproto.SharedFrame

var queueArrays = sync.Pool{New: func() any { return new(queueArray) }}

// resetQueueLocked empties the queue and gives its backing array back.
// Written frames were cleared from it already.
func (c *Conn) resetQueueLocked() {
	if cap(c.queue) == len(queueArray{}) {
		queueArrays.Put((*queueArray)(c.queue[:cap(c.queue)]))
	}
	c.queue, c.qhead = nil, 0
}

// abortWriter ends a write that failed: the peer is gone or stalled past
// WriteTimeout.
func (c *Conn) abortWriter() {
	c.mu.Lock()
	c.dropQueueLocked()
	c.writing = false
	c.mu.Unlock()
	c.closeSocket()
}

// writev writes iov to the non-blocking fd once, retrying only on EINTR.
// It stays a system call the scheduler is told of, though the fd never
// blocks: a flusher writing a fan-out to thousands of sockets would
// otherwise hold its P throughout, the loop could not queue the next
// messages meanwhile, and each message would go out in a write of its own
// (as a raw call, a broadcast to 10,000 subscribers at 100 messages/s
// delivered 2.3 million of 8 million).
func writev(fd int, iov []syscall.Iovec) (int, error) {
	if len(iov) == 0 {
		return 0, nil
	}
	for {
		// One buffer goes by send(2), which spares the kernel reading and
		// checking an iovec array and the file layer's checks, and raises
		// no SIGPIPE on a reset.
		var n uintptr
		var errno syscall.Errno
		if len(iov) == 1 {
			n, _, errno = syscall.Syscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len), unix.MSG_NOSIGNAL, 0, 0)
		} else {
			n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		}
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		default:
			return 0, errno
		}
	}
}

// compressed is the form of f to send to c, which negotiated
// permessage-deflate: compressed if f is a data message of at least
// Options.CompressionThreshold bytes and no longer than the window c's
// client allows (a message compressed on its own refers back no further
// than its length), else f.
func (c *Conn) compressed(f *wsproto.SharedFrame) *wsproto.SharedFrame {
	s := c.srv
	n := f.PayloadLen()
	if n < s.opts.CompressionThreshold || c.deflate < wsproto.MaxWindowBits && n > 1<<c.deflate {
		return f
	}
	z, made := f.Deflate(s.opts.CompressionLevel)
	if made {
		s.stats.messagesDeflated.Add(1)
		s.stats.deflateBytesIn.Add(uint64(n))
		_, hn, _ := wsproto.ParseHeader(z.Bytes())
		s.stats.deflateBytesOut.Add(uint64(z.Len() - hn))
	}
	return z
}
