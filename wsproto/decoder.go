package wsproto

import (
	"slices"

	"github.com/valyala/bytebufferpool"
)

// Default limits of a Decoder whose limit fields are zero.
const (
	DefaultMaxFrameSize   = 16 << 20
	DefaultMaxMessageSize = 16 << 20
)

// maxPooledMessage is the largest assembly buffer given back to the pool;
// larger ones are left to the collector, so that a burst of large messages
// does not stay in the pool once it is over.
const maxPooledMessage = 1 << 20

// Handler receives what a Decoder decodes. The payload slices are valid only
// during the call: they alias the bytes passed to Feed or the decoder's
// assembly buffer. Returning an error stops Feed, which returns it.
type Handler interface {
	// HandleMessage receives a complete data message (OpText or OpBinary),
	// reassembled across fragments and, for text, validated as UTF-8.
	HandleMessage(op OpCode, payload []byte) error
	// HandleControl receives a complete ping, pong or close frame. A close
	// payload has already been validated with ParseClosePayload.
	HandleControl(op OpCode, payload []byte) error
}

// Decoder turns a stream of bytes into messages and control frames. Feed it
// whatever bytes have arrived, in any split: it consumes all of them and
// keeps partial headers, frames and fragmented messages in its own state, so
// the caller never waits for more bytes. Complete unfragmented frames that
// arrive whole are unmasked in place and handed over without a copy.
//
// The zero value decodes client frames (masked) for a server with the
// default limits. A Decoder is not safe for concurrent use.
type Decoder struct {
	// MaxFrameSize and MaxMessageSize bound one frame's payload and one
	// reassembled message; over them Feed fails with close code 1009.
	// Zero means DefaultMaxFrameSize and DefaultMaxMessageSize.
	MaxFrameSize   int64
	MaxMessageSize int64
	// FromServer makes the decoder expect unmasked frames, as a client does.
	FromServer bool
	// Budget, if set, bounds the bytes this decoder and others sharing it
	// hold in partial frames and messages: a frame whose payload has to be
	// assembled reserves its whole length from it when its first bytes
	// arrive, and a frame that does not fit fails with ErrInboundBudget.
	// Nil is no bound beyond MaxMessageSize.
	Budget *Budget
	// Compression says permessage-deflate (RFC 7692) was negotiated: RSV1
	// on the first frame of a data message marks it compressed, and the
	// message is inflated before it is handed over, its inflated size
	// held to MaxMessageSize and Budget. Without it RSV1 is a protocol
	// error, as every reserved bit is.
	Compression bool

	hdr  [MaxHeaderSize]byte // a header split across Feed calls
	hdrN uint8
	// frame in progress
	inFrame   bool
	cur       Header
	remaining int64
	got       int64 // payload bytes of cur consumed so far
	// message in progress
	msgOp      OpCode // OpText or OpBinary while a message is in progress, else 0
	fragmented bool   // msgOp continues in later frames
	compressed bool   // the message in progress had RSV1 set
	msgLen     int64
	msg        *bytebufferpool.ByteBuffer // assembly buffer, nil when unused
	ctrl       []byte                     // a control payload split across Feed calls
	utf8       UTF8Validator
	held       int64 // bytes reserved from Budget for msg
	closed     bool
	err        *ProtocolError // the violation that killed the stream
}

// Closed reports whether a close frame has been decoded; Feed ignores all
// bytes after it.
func (d *Decoder) Closed() bool { return d.closed }

// Pending is how many payload bytes the frame in progress still needs: 0
// between frames, while a header is incomplete, and once the stream ended.
// A reader can fetch that many bytes in one read rather than in whatever
// pieces its buffers happen to take.
func (d *Decoder) Pending() int64 {
	if !d.inFrame || d.closed || d.err != nil {
		return 0
	}
	return d.remaining
}

// Idle reports whether d holds nothing between Feed calls: no part of a
// header, a frame or a fragmented message, and the stream has neither
// ended nor failed. An idle Decoder may go on with another stream as it
// is, so a server can keep decoders in a pool and lend one to a connection
// only while its bytes are partial.
func (d *Decoder) Idle() bool {
	return !d.inFrame && d.hdrN == 0 && d.msgOp == 0 && !d.fragmented && d.msg == nil && !d.closed && d.err == nil
}

// Release returns the decoder's buffers to their pool. The decoder can be
// used again afterwards, starting a fresh stream.
func (d *Decoder) Release() {
	if d.msg != nil {
		putMessage(d.msg)
	}
	d.giveBack()
	*d = Decoder{MaxFrameSize: d.MaxFrameSize, MaxMessageSize: d.MaxMessageSize, FromServer: d.FromServer, Budget: d.Budget, Compression: d.Compression}
}

// reserve takes n more bytes from the budget for the message being
// assembled, and makes room for them in its buffer at once, so that the
// buffer holds what was reserved and not twice as much from growing.
func (d *Decoder) reserve(n int64) error {
	if d.Budget != nil {
		if !d.Budget.reserve(n) {
			return ErrInboundBudget
		}
		d.held += n
	}
	if d.msg == nil {
		d.msg = bytebufferpool.Get()
	}
	d.msg.B = slices.Grow(d.msg.B, int(n))
	return nil
}

// giveBack returns what the decoder holds from its budget.
func (d *Decoder) giveBack() {
	if d.held > 0 {
		d.Budget.release(d.held)
		d.held = 0
	}
}

// putMessage returns an assembly buffer to the pool, without its bytes
// when they are many.
func putMessage(b *bytebufferpool.ByteBuffer) {
	if cap(b.B) > maxPooledMessage {
		b.B = nil
	}
	bytebufferpool.Put(b)
}

// Feed decodes p. It returns the number of bytes consumed, which is len(p)
// unless an error stops it or a close frame ends the stream. The first
// protocol violation is returned as a *ProtocolError; the stream is then
// dead and the caller must fail the connection with its Code. Later calls
// return the same error without decoding anything, since the decoder's
// state no longer matches the stream.
func (d *Decoder) Feed(p []byte, h Handler) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.feed(p, h)
	if pe, ok := err.(*ProtocolError); ok {
		d.err = pe
	}
	return n, err
}

func (d *Decoder) feed(p []byte, h Handler) (int, error) {
	n := 0
	for !d.closed && (n < len(p) || (d.inFrame && d.remaining == 0)) {
		if !d.inFrame {
			c, err := d.readHeader(p[n:])
			n += c
			if err != nil || !d.inFrame {
				return n, err
			}
		}
		avail := int64(len(p) - n)
		if d.got == 0 && avail >= d.remaining {
			// The whole payload is here: unmask in place, no copy.
			payload := p[n : n+int(d.remaining)]
			n += int(d.remaining)
			if d.cur.Masked {
				Mask(payload, d.cur.Mask, 0)
			}
			d.inFrame = false
			if err := d.frameDone(payload, h); err != nil {
				return n, err
			}
			continue
		}
		if avail == 0 {
			return n, nil // the header ended this Feed; the payload follows
		}
		chunk := p[n : n+int(min(avail, d.remaining))]
		n += len(chunk)
		if err := d.accumulate(chunk); err != nil {
			return n, err
		}
		if d.remaining == 0 {
			d.inFrame = false
			if err := d.frameDone(nil, h); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// readHeader consumes header bytes from p, returning how many it used. It
// sets d.inFrame once a whole, valid header has been read.
func (d *Decoder) readHeader(p []byte) (int, error) {
	var (
		h   Header
		hn  int
		err error
	)
	if d.hdrN == 0 {
		h, hn, err = ParseHeader(p)
		if err != nil {
			return 0, err
		}
		if hn == 0 {
			d.hdrN = uint8(copy(d.hdr[:], p))
			return len(p), nil
		}
	} else {
		had := int(d.hdrN)
		c := copy(d.hdr[had:], p)
		h, hn, err = ParseHeader(d.hdr[:had+c])
		if err != nil {
			return c, err
		}
		if hn == 0 {
			d.hdrN += uint8(c)
			return c, nil
		}
		hn -= had
		d.hdrN = 0
	}
	return hn, d.begin(h)
}

// begin checks a frame header against RFC 6455 and the limits, and starts
// the frame.
func (d *Decoder) begin(h Header) error {
	compressed := false
	switch {
	case h.Rsv == rsv1 && d.Compression:
		// RSV1 marks a compressed message on its first frame only
		// (RFC 7692 section 6.1).
		if h.OpCode.IsControl() || h.OpCode == OpContinuation {
			return ErrCompressedFrame
		}
		compressed = true
	case h.Rsv != 0:
		return ErrReservedBits
	case h.OpCode.IsReserved():
		return ErrReservedOpCode
	case !d.FromServer && !h.Masked:
		return ErrUnmasked
	case d.FromServer && h.Masked:
		return ErrMaskedServer
	}
	if h.OpCode.IsControl() {
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
		if !h.Fin {
			return ErrControlFragmented
		}
	} else {
		if h.Length > limit(d.MaxFrameSize, DefaultMaxFrameSize) {
			return ErrFrameTooBig
		}
		if h.OpCode == OpContinuation {
			if !d.fragmented {
				return ErrUnexpectedContinue
			}
		} else {
			if d.fragmented {
				return ErrExpectedContinue
			}
			d.msgOp, d.msgLen, d.compressed = h.OpCode, 0, compressed
			d.utf8.Reset()
		}
		d.msgLen += h.Length
		if d.msgLen > limit(d.MaxMessageSize, DefaultMaxMessageSize) {
			return ErrMessageTooBig
		}
		d.fragmented = !h.Fin
	}
	d.cur, d.remaining, d.got, d.inFrame = h, h.Length, 0, true
	return nil
}

// accumulate unmasks a piece of the current frame's payload and stores it,
// checking text as it arrives so that bad UTF-8 fails at once.
func (d *Decoder) accumulate(chunk []byte) error {
	if d.cur.Masked {
		Mask(chunk, d.cur.Mask, int(d.got))
	}
	d.got += int64(len(chunk))
	d.remaining -= int64(len(chunk))
	if d.cur.OpCode.IsControl() {
		d.ctrl = append(d.ctrl, chunk...)
		return nil
	}
	if d.msgOp == OpText && !d.compressed && !d.utf8.Write(chunk) {
		return ErrInvalidUTF8
	}
	if d.got == int64(len(chunk)) {
		// The frame's first bytes: reserve all of its payload.
		if err := d.reserve(d.got + d.remaining); err != nil {
			return err
		}
	}
	d.msg.B = append(d.msg.B, chunk...)
	return nil
}

// frameDone finishes the current frame. whole is its payload when it arrived
// in one piece (and nothing was accumulated), else nil.
func (d *Decoder) frameDone(whole []byte, h Handler) error {
	op := d.cur.OpCode
	if op.IsControl() {
		payload := whole
		if payload == nil {
			payload = d.ctrl
		}
		d.ctrl = d.ctrl[:0]
		if op == OpClose {
			if _, _, err := ParseClosePayload(payload); err != nil {
				return err
			}
			d.closed = true
		}
		return h.HandleControl(op, payload)
	}
	if whole != nil {
		// A single-frame message needs no assembly.
		if !d.fragmented && d.msg == nil {
			op := d.msgOp
			d.msgOp = 0
			if d.compressed {
				err := d.inflate(op, whole, h)
				d.giveBack()
				return err
			}
			if op == OpText && !ValidUTF8(whole) {
				return ErrInvalidUTF8
			}
			return h.HandleMessage(op, whole)
		}
		if err := d.accumulateWhole(whole); err != nil {
			return err
		}
	}
	if d.fragmented {
		return nil
	}
	if d.msgOp == OpText && !d.compressed && !d.utf8.Complete() {
		return ErrInvalidUTF8
	}
	op, buf := d.msgOp, d.msg
	d.msgOp, d.msg = 0, nil
	var payload []byte
	if buf != nil {
		payload = buf.B
	}
	var err error
	if d.compressed {
		err = d.inflate(op, payload, h)
	} else {
		err = h.HandleMessage(op, payload)
	}
	if buf != nil {
		putMessage(buf)
	}
	d.giveBack()
	return err
}

// accumulateWhole stores an already unmasked frame payload that belongs to a
// fragmented message.
func (d *Decoder) accumulateWhole(p []byte) error {
	if d.msgOp == OpText && !d.compressed && !d.utf8.Write(p) {
		return ErrInvalidUTF8
	}
	if err := d.reserve(int64(len(p))); err != nil {
		return err
	}
	d.msg.B = append(d.msg.B, p...)
	return nil
}

func limit(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

// inflate hands over a compressed message once inflated, text checked as
// UTF-8 after inflating (RFC 7692 section 6.1: the compressed bytes are
// not text). The inflated bytes count against MaxMessageSize and are held
// from Budget until the handler returns; the caller gives them back.
func (d *Decoder) inflate(op OpCode, compressed []byte, h Handler) error {
	var reserve func(int64) error
	if d.Budget != nil {
		reserve = func(n int64) error {
			if !d.Budget.reserve(n) {
				return ErrInboundBudget
			}
			d.held += n
			return nil
		}
	}
	return Inflate(compressed, limit(d.MaxMessageSize, DefaultMaxMessageSize), reserve, func(msg []byte) error {
		if op == OpText && !ValidUTF8(msg) {
			return ErrInvalidUTF8
		}
		return h.HandleMessage(op, msg)
	})
}
