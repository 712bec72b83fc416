package poller

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
)

// netpollTransport runs a Server on github.com/cloudwego/netpoll
// (BackendNetpoll): netpoll accepts, reads into its buffers and runs a read
// task per batch of bytes; the engine parses straight out of its buffers.
type netpollTransport struct {
	s    *Server
	ln   netpoll.Listener
	loop netpoll.EventLoop
	// ncs holds netpoll's connection of every live Conn, by fd: the
	// engine's Conn does not carry it, since the epoll backend has none.
	ncs fdTable[netpollConn]
	// directReads are the buffers of inline tasks' direct reads.
	directReads sync.Pool
	served      chan struct{}
}

type netpollConn struct {
	nc netpoll.Connection
	// reading: a read task or the close callback holds the connection's
	// read side; whichever takes it last after the close releases it.
	reading atomic.Bool
}

func newNetpollTransport(s *Server) *netpollTransport {
	t := &netpollTransport{s: s, served: make(chan struct{})}
	t.directReads.New = func() any { return new(directReadBuffer) }
	return t
}

// configureNetpoll applies the process-wide netpoll settings once.
var configureNetpoll sync.Once

func (t *netpollTransport) listen() error {
	configureNetpoll.Do(func() {
		// LinkBufferCap is netpoll's floor for a buffer node (4 KiB by
		// default); without lowering it, every idle connection would keep
		// a 4 KiB read buffer whatever BufferSize says.
		netpoll.LinkBufferCap = t.s.opts.ReadBufferSize
		netpoll.Configure(netpoll.Config{BufferSize: t.s.opts.ReadBufferSize, Runner: runTask})
	})
	ln, err := netpoll.CreateListener("tcp", t.s.opts.Addr)
	if err != nil {
		return fmt.Errorf("poller: listen on %s: %w", t.s.opts.Addr, err)
	}
	loop, err := netpoll.NewEventLoop(t.onRequest, netpoll.WithOnPrepare(t.onPrepare))
	if err != nil {
		ln.Close()
		return fmt.Errorf("poller: event loop: %w", err)
	}
	t.ln, t.loop = ln, loop
	return nil
}

func (t *netpollTransport) serve() {
	go func() {
		defer close(t.served)
		if err := t.loop.Serve(t.ln); err != nil && !t.s.stopping.Load() {
			t.s.opts.Logger.Error("poller: serve stopped", "addr", t.s.opts.Addr, "err", err)
		}
	}()
}

func (t *netpollTransport) addr() net.Addr { return t.ln.Addr() }

func (t *netpollTransport) stopAccepting() { t.ln.Close() }

func (t *netpollTransport) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	t.loop.Shutdown(ctx) // every connection is closed: it only stops the loop
}

func (t *netpollTransport) nc(c *Conn) netpoll.Connection {
	if p := t.ncs.get(c.fd); p != nil {
		return p.nc
	}
	return nil
}

func (t *netpollTransport) remoteAddr(c *Conn) net.Addr {
	if nc := t.nc(c); nc != nil {
		return nc.RemoteAddr()
	}
	return nil
}

func (t *netpollTransport) localAddr(c *Conn) net.Addr {
	if nc := t.nc(c); nc != nil {
		return nc.LocalAddr()
	}
	return nil
}

func (t *netpollTransport) onPrepare(nc netpoll.Connection) context.Context {
	ctx := context.Background()
	fdc, ok := nc.(interface{ Fd() int })
	if !ok {
		nc.Close()
		return ctx
	}
	fd := int32(fdc.Fd())
	var from netip.Addr
	if t.s.peers != nil {
		from, _ = peerFromAddr(nc.RemoteAddr())
	}
	c := t.s.admit(fd, 0, from)
	if c == nil {
		nc.Close()
		return ctx
	}
	side := &netpollConn{nc: nc}
	t.ncs.add(fd, side) // admit checked fd against the table's bound
	nc.SetWriteTimeout(t.s.opts.WriteTimeout)
	nc.AddCloseCallback(func(netpoll.Connection) error {
		// netpoll runs close callbacks in whichever goroutine closed the
		// connection, which may be a sender deep in application code;
		// OnClose gets a goroutine of its own instead. Marking the
		// connection closed cannot wait: netpoll closes the fd as soon as
		// this returns.
		c.markClosed()
		t.ncs.remove(fd, side)
		// A peer that hangs up brings no read task to release the read
		// side (a partial message, and its share of the inbound budget).
		if side.reading.CompareAndSwap(false, true) {
			c.releaseReader()
		}
		go c.onDisconnect()
		return nil
	})
	// The context handed back is the Conn itself (see connContext): netpoll
	// keeps it for the connection's life, so it costs no allocation.
	return (*connContext)(c)
}

// onRequest runs in the event loop's task for a connection with bytes to
// read. It consumes all of them, so it never waits for more.
func (t *netpollTransport) onRequest(ctx context.Context, nc netpoll.Connection) error {
	r := nc.Reader()
	c := connOf(ctx)
	var side *netpollConn
	if c != nil {
		// The same netpoll connection: not another that reused the fd.
		if side = t.ncs.get(c.fd); side != nil && side.nc != nc {
			side = nil
		}
	}
	if side == nil || !side.reading.CompareAndSwap(false, true) {
		// Gone, or closed with its read side released.
		r.Skip(r.Len())
		return r.Release()
	}
	p, err := r.Next(r.Len())
	if err != nil {
		side.reading.Store(false)
		return err
	}
	c.onData(p)
	err = r.Release()
	if err == nil && c.inTask {
		t.readPending(c)
	}
	// Let go of the read side before looking at the state: a close
	// callback that ran meanwhile could not take it, so this task
	// releases it; one that runs after takes it itself.
	side.reading.Store(false)
	c.mu.Lock()
	closed := c.state == stateClosed
	c.mu.Unlock()
	if closed && side.reading.CompareAndSwap(false, true) {
		c.releaseReader()
	}
	return err
}

// runTask is the runner netpoll uses for every connection's read task
// (netpoll.Config.Runner, process-wide). By default the task gets a plain
// goroutine for its duration, so that a handler that blocks holds up only
// its own connection; netpoll's default, a goroutine pool, costs an
// allocation per read for its worker.
//
// With Options.InlineHandlers the task runs on the poller's goroutine,
// which saves the hand-over. netpoll cannot close a connection from there,
// though: the task itself runs netpoll's close callback when the
// connection was closed during it, and freeing the connection's operator
// waits for the poller to leave it, which is the goroutine doing the
// waiting. So closes requested while an inline task runs are held back
// until it returns (see closeConn), and a connection whose close has begun
// gets its tasks on goroutines again.
func runTask(ctx context.Context, task func()) {
	c := connOf(ctx)
	if c == nil || !c.srv.opts.InlineHandlers || !c.enterInlineTask() {
		go task()
		return
	}
	start := time.Now()
	task()
	c.leaveInlineTask()
	if held := time.Since(start); held >= SlowInlineTask {
		c.srv.noteSlowInlineTask(c, held)
	}
}

// enterInlineTask marks an inline task running, unless the socket's close
// has begun.
func (c *Conn) enterInlineTask() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.socketClosing {
		return false
	}
	c.inTask = true
	return true
}

// leaveInlineTask ends an inline task and closes the socket if that was
// asked for meanwhile: on another goroutine, because netpoll frees the
// operator only once the poller has left it.
func (c *Conn) leaveInlineTask() {
	c.mu.Lock()
	c.inTask = false
	pending := c.closePending
	if pending {
		c.closePending, c.socketClosing = false, true
	}
	c.mu.Unlock()
	if pending {
		if nc := c.srv.tr.(*netpollTransport).nc(c); nc != nil {
			go nc.Close()
		}
	}
}

// closeConn closes the TCP connection, or has the inline task running for
// it do so when it returns. netpoll then runs the close callback.
func (t *netpollTransport) closeConn(c *Conn) {
	c.mu.Lock()
	if c.inTask {
		c.closePending = true
		c.mu.Unlock()
		return
	}
	c.socketClosing = true
	c.mu.Unlock()
	if nc := t.nc(c); nc != nil {
		nc.Close()
	}
}

// waitWritable hands a full socket to a goroutine that waits for it to
// drain through netpoll's writer.
func (t *netpollTransport) waitWritable(c *Conn) {
	nc := t.nc(c)
	if nc == nil {
		c.abortWriter()
		return
	}
	go c.flushBlocked(nc.Writer())
}

// flushBlocked writes the queue through netpoll's writer, whose Flush parks
// until the socket is writable or WriteTimeout passes.
func (c *Conn) flushBlocked(w netpoll.Writer) {
	var bufs [][]byte
	for {
		c.mu.Lock()
		if c.finishIfDoneLocked() {
			return
		}
		bufs, total := bufs[:0], 0
		for i := int(c.qhead); i < len(c.queue) && len(bufs) < maxIovecs; i++ {
			b := c.queue[i].Bytes()
			if i == int(c.qhead) {
				b = b[c.off:]
			}
			bufs = append(bufs, b)
			total += len(b)
		}
		c.mu.Unlock()

		var err error
		for _, b := range bufs {
			if _, err = w.WriteBinary(b); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		clear(bufs)
		if err != nil {
			c.abortWriter()
			return
		}
		c.mu.Lock()
		c.consumeLocked(total)
		c.mu.Unlock()
	}
}

// directReadMax bounds one direct read (see readPending).
const directReadMax = 64 << 10

// directReadBuffer holds the bytes of a direct read until the decoder has
// taken them: the transport pools them, one per poller at a time.
type directReadBuffer [directReadMax]byte

// readPending reads the rest of a frame whose header has arrived straight
// from the socket, as much as the frame still needs in one read. netpoll
// reads into buffer nodes no larger than Options.ReadBufferSize while a
// connection's bytes are consumed as they come, so without this a frame
// larger than the node costs a readv and a turn of the event loop per
// node: 3.5 reads per 1 KiB echo with 512 B nodes.
//
// Only an inline task may read the socket itself: it runs on the poller's
// goroutine, so netpoll cannot be reading the same socket meanwhile, and
// the socket stays open until the task returns (see runTask). The read
// never goes past the frame, so the bytes after it still come through
// netpoll in order. EAGAIN, EOF or an error ends it; netpoll sees the
// same on its next read.
func (t *netpollTransport) readPending(c *Conn) {
	buf := t.directReads.Get().(*directReadBuffer)
	defer t.directReads.Put(buf)
	for c.dec != nil {
		need := c.dec.Pending()
		if need == 0 {
			return
		}
		want := int(min(need, directReadMax))
		n, err := syscall.Read(int(c.fd), buf[:want])
		if n <= 0 || err != nil {
			return
		}
		c.onData(buf[:n])
		if n < want {
			return // the socket is drained for now
		}
	}
}
