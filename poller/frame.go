package poller

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
	"github.com/wsgate/wsgate/wsproto"
)

// Frame is an encoded server frame that can be queued on many connections
// at once without copying: a broadcast encodes once and every connection
// writes the same bytes. It is reference counted; each queue holds a
// reference until the bytes are on the socket.
//
// A message frame also carries, once a connection that negotiated
// permessage-deflate needed it, its compressed form, shared in the same
// way: a broadcast compresses once, however many connections take it.
type Frame struct {
	buf  *bytebufferpool.ByteBuffer
	refs atomic.Int32
	// payloadAt is where the payload of a data message starts in buf;
	// 0 for frames never sent compressed (control frames, HTTP answers).
	payloadAt uint8
	// deflated is the compressed form, made by the first connection that
	// needs it; the frame itself when compressing does not make it
	// smaller. The frame holds a reference to it until its own last one
	// goes. deflateMu serializes its making.
	deflated  atomic.Pointer[Frame]
	deflateMu sync.Mutex
}

var framePool = sync.Pool{New: func() any { return new(Frame) }}

// NewFrame encodes one unfragmented message frame. The caller holds one
// reference and must Release it when done queueing.
func NewFrame(op wsproto.OpCode, payload []byte) *Frame {
	f := framePool.Get().(*Frame)
	f.buf = bytebufferpool.Get()
	f.buf.B = wsproto.AppendFrame(f.buf.B[:0], op, true, payload)
	if op == wsproto.OpText || op == wsproto.OpBinary {
		f.payloadAt = uint8(wsproto.HeaderSize(len(payload), false))
	}
	f.refs.Store(1)
	return f
}

// newCloseFrame encodes a close frame with code and reason.
func newCloseFrame(code wsproto.StatusCode, reason string) *Frame {
	var p [wsproto.MaxControlPayload]byte
	return NewFrame(wsproto.OpClose, wsproto.AppendClosePayload(p[:0], code, reason))
}

// Len is the encoded size in bytes.
func (f *Frame) Len() int { return len(f.buf.B) }

func (f *Frame) retain() { f.refs.Add(1) }

// Release drops one reference; the last one returns the buffer to its pool.
func (f *Frame) Release() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		if z := f.deflated.Swap(nil); z != nil && z != f {
			z.Release()
		}
		bytebufferpool.Put(f.buf)
		f.buf = nil
		f.payloadAt = 0
		framePool.Put(f)
	case n < 0:
		panic("poller: Frame released more often than retained")
	}
}

// payloadLen is the length of a data message's payload, or -1 for a
// frame that is not one.
func (f *Frame) payloadLen() int {
	if f.payloadAt == 0 {
		return -1
	}
	return len(f.buf.B) - int(f.payloadAt)
}

// deflate returns the frame's compressed form, compressing at level if no
// connection did before; made reports that this call compressed. It
// returns f itself when compressing does not make the frame smaller. The
// caller holds a reference to f; the result lives at least as long.
func (f *Frame) deflate(level int) (z *Frame, made bool) {
	if z := f.deflated.Load(); z != nil {
		return z, false
	}
	f.deflateMu.Lock()
	defer f.deflateMu.Unlock()
	if z := f.deflated.Load(); z != nil {
		return z, false // another connection made it meanwhile
	}
	b := f.buf.B
	z = framePool.Get().(*Frame)
	z.buf = bytebufferpool.Get()
	z.buf.B = wsproto.AppendDeflatedFrame(z.buf.B[:0], wsproto.OpCode(b[0]&0x0f), b[f.payloadAt:], level)
	z.refs.Store(1) // f's
	if z.Len() >= f.Len() {
		z.Release()
		z = f
	}
	f.deflated.Store(z)
	return z, true
}
