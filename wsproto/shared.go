package wsproto

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// SharedFrame is an encoded server frame that can be queued on many
// connections at once without copying: a broadcast encodes once and every
// connection writes the same bytes. It is reference counted; each queue
// holds a reference until the bytes are on the socket.
//
// A message frame also carries, once a connection that negotiated
// permessage-deflate needed it, its compressed form, shared in the same
// way: a broadcast compresses once, however many connections take it.
//
// It lives here, below both the connection layer (poller) and the routing
// layer (router), so that a router can encode a frame and hand it to any
// connection without knowing which package implements the connection.
type SharedFrame struct {
	buf  *bytebufferpool.ByteBuffer
	refs atomic.Int32
	// payloadAt is where the payload of a data message starts in buf;
	// 0 for frames never sent compressed (control frames, HTTP answers).
	payloadAt uint8
	// deflated is the compressed form, made by the first connection that
	// needs it; the frame itself when compressing does not make it
	// smaller. The frame holds a reference to it until its own last one
	// goes. deflateMu serializes its making.
	deflated  atomic.Pointer[SharedFrame]
	deflateMu sync.Mutex
}

// ErrClosed is what a connection's write calls return once it is closing
// or closed. It is defined here for the same reason as SharedFrame: a
// caller above the connection layer recognizes it without importing it.
var ErrClosed = errors.New("wsproto: connection closed")

var sharedFramePool = sync.Pool{New: func() any { return new(SharedFrame) }}

// NewSharedFrame encodes one unfragmented message frame. The caller holds
// one reference and must Release it when done queueing.
func NewSharedFrame(op OpCode, payload []byte) *SharedFrame {
	f := newShared()
	f.buf.B = AppendFrame(f.buf.B, op, true, payload)
	if op == OpText || op == OpBinary {
		f.payloadAt = uint8(HeaderSize(len(payload), false))
	}
	return f
}

// NewSharedBytes wraps bytes that are not a WebSocket frame (an HTTP
// response to the opening handshake) so that they travel the same queue as
// frames. appendTo appends them to the pooled buffer it is given.
func NewSharedBytes(appendTo func([]byte) []byte) *SharedFrame {
	f := newShared()
	f.buf.B = appendTo(f.buf.B)
	return f
}

// newShared takes an empty frame with one reference from the pools.
func newShared() *SharedFrame {
	f := sharedFramePool.Get().(*SharedFrame)
	f.buf = bytebufferpool.Get()
	f.buf.B = f.buf.B[:0]
	f.refs.Store(1)
	return f
}

// Bytes are the encoded bytes; valid while the caller holds a reference.
func (f *SharedFrame) Bytes() []byte { return f.buf.B }

// Len is the encoded size in bytes.
func (f *SharedFrame) Len() int { return len(f.buf.B) }

// Retain adds a reference: a queue takes one for as long as it holds f.
func (f *SharedFrame) Retain() { f.refs.Add(1) }

// Release drops one reference; the last one returns the buffer to its pool.
func (f *SharedFrame) Release() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		if z := f.deflated.Swap(nil); z != nil && z != f {
			z.Release()
		}
		bytebufferpool.Put(f.buf)
		f.buf = nil
		f.payloadAt = 0
		sharedFramePool.Put(f)
	case n < 0:
		panic("wsproto: SharedFrame released more often than retained")
	}
}

// PayloadLen is the length of a data message's payload, or -1 for a frame
// that is not one.
func (f *SharedFrame) PayloadLen() int {
	if f.payloadAt == 0 {
		return -1
	}
	return len(f.buf.B) - int(f.payloadAt)
}

// Deflate returns the frame's compressed form (permessage-deflate),
// compressing at level if no connection did before; made reports that
// this call compressed. It returns f itself when compressing does not
// make the frame smaller. The caller holds a reference to f, a data
// message frame; the result lives at least as long.
func (f *SharedFrame) Deflate(level int) (z *SharedFrame, made bool) {
	if z := f.deflated.Load(); z != nil {
		return z, false
	}
	f.deflateMu.Lock()
	defer f.deflateMu.Unlock()
	if z := f.deflated.Load(); z != nil {
		return z, false // another connection made it meanwhile
	}
	b := f.buf.B
	z = newShared() // its one reference is f's
	z.buf.B = AppendDeflatedFrame(z.buf.B, OpCode(b[0]&0x0f), b[f.payloadAt:], level)
	if z.Len() >= f.Len() {
		z.Release()
		z = f
	}
	f.deflated.Store(z)
	return z, true
}
