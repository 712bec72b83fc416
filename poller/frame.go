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
type Frame struct {
	buf  *bytebufferpool.ByteBuffer
	refs atomic.Int32
}

var framePool = sync.Pool{New: func() any { return new(Frame) }}

// NewFrame encodes one unfragmented message frame. The caller holds one
// reference and must Release it when done queueing.
func NewFrame(op wsproto.OpCode, payload []byte) *Frame {
	f := framePool.Get().(*Frame)
	f.buf = bytebufferpool.Get()
	f.buf.B = wsproto.AppendFrame(f.buf.B[:0], op, true, payload)
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
		bytebufferpool.Put(f.buf)
		f.buf = nil
		framePool.Put(f)
	case n < 0:
		panic("poller: Frame released more often than retained")
	}
}
