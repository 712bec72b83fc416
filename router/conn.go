package router

import "github.com/wsgate/wsgate/wsproto"

// Conn is what the router needs of a connection; *poller.Conn is one. The
// router names no connection package: a frame is a wsproto.SharedFrame and
// a closed connection answers wsproto.ErrClosed, both from the protocol
// package beneath either side. Its methods must be safe for concurrent use
// and must never block: the router calls them without holding any lock of
// its own.
type Conn interface {
	// WriteFrame queues a shared pre-encoded frame, keeping its own
	// reference until the bytes are written.
	WriteFrame(f *wsproto.SharedFrame) error
	// QueueFrame is WriteFrame for fan-out: it leaves the writing to the
	// connection's flushers, so that a burst of messages reaches each
	// connection in few writes.
	QueueFrame(f *wsproto.SharedFrame) error
	// Close starts the closing handshake after what is queued.
	Close(code wsproto.StatusCode, reason string) error
	// Abort drops the connection at once.
	Abort()
}
