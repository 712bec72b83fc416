package poller

import "syscall"

// directReadMax bounds one direct read (see readPending).
const directReadMax = 64 << 10

// directReadBuffer holds the bytes of a direct read until the decoder has
// taken them: Server.directReads pools them, one per poller at a time.
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
func (c *Conn) readPending() {
	buf := c.srv.directReads.Get().(*directReadBuffer)
	defer c.srv.directReads.Put(buf)
	for {
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
