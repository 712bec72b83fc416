package wsproto

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
)

// permessage-deflate without context takeover (RFC 7692 section 7.2): each
// message is compressed on its own, so neither side keeps LZ77 state
// between messages. The compressors and decompressors here are pooled and
// borrowed for one message: a connection holds none.

// DefaultCompressionLevel is compress/flate's BestSpeed. A flate.Writer
// of a higher level clears its 512 KiB hash table on every Reset, which
// costs more than compressing a small message; BestSpeed's does not, and
// JSON and chat text still shrink several times.
const DefaultCompressionLevel = flate.BestSpeed

// syncTail ends a sync flush (an empty stored block). The sender strips it
// from each message (section 7.2.1); the receiver puts it back (7.2.2).
var syncTail = [...]byte{0x00, 0x00, 0xff, 0xff}

// inflateTail is what the receiver appends to a message before inflating:
// the sync flush's empty stored block, then an empty final stored block,
// so that the decompressor ends with io.EOF instead of waiting for more.
var inflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// deflater is a pooled flate.Writer of one level with the buffer it
// writes to.
type deflater struct {
	w   *flate.Writer
	out bytes.Buffer
}

// deflaters holds a pool per compression level, BestSpeed to
// BestCompression.
var deflaters [flate.BestCompression + 1]sync.Pool

// ValidCompressionLevel reports whether level is one AppendDeflate takes:
// compress/flate's BestSpeed (1) to BestCompression (9).
func ValidCompressionLevel(level int) bool {
	return level >= flate.BestSpeed && level <= flate.BestCompression
}

// AppendDeflate appends payload compressed as the payload of one
// permessage-deflate message without context takeover, at level (see
// ValidCompressionLevel; others mean DefaultCompressionLevel).
func AppendDeflate(dst, payload []byte, level int) []byte {
	if !ValidCompressionLevel(level) {
		level = DefaultCompressionLevel
	}
	d, _ := deflaters[level].Get().(*deflater)
	if d == nil {
		d = new(deflater)
		d.w, _ = flate.NewWriter(&d.out, level) // the level is valid
	} else {
		d.w.Reset(&d.out) // no context taken over from the last message
	}
	// Writes to a bytes.Buffer do not fail.
	d.w.Write(payload)
	d.w.Flush()
	b := d.out.Bytes()
	dst = append(dst, bytes.TrimSuffix(b, syncTail[:])...)
	d.out.Reset()
	if d.out.Cap() <= maxPooledMessage {
		deflaters[level].Put(d)
	}
	return dst
}

// AppendDeflatedFrame appends a whole unmasked frame (server to client)
// holding payload compressed, with RSV1 set (RFC 7692 section 6).
func AppendDeflatedFrame(dst []byte, op OpCode, payload []byte, level int) []byte {
	// Compress at the end of dst, then move the bytes up behind the
	// header, whose size depends on their length.
	start := len(dst)
	dst = AppendDeflate(dst, payload, level)
	n := len(dst) - start
	var hdr [MaxHeaderSize]byte
	hn := PutHeader(hdr[:], Header{Fin: true, Rsv: rsv1, OpCode: op, Length: int64(n)})
	dst = append(dst, hdr[:hn]...)
	copy(dst[start+hn:], dst[start:start+n])
	copy(dst[start:], hdr[:hn])
	return dst
}

// rsv1 is the RSV1 bit in Header.Rsv: set on the first frame of a
// compressed message (RFC 7692 section 6).
const rsv1 = 0x4

// ErrInvalidDeflate is a compressed message that is not valid DEFLATE
// data; the connection is failed with 1007, the code for data that does
// not match its message type.
var ErrInvalidDeflate = protocolError(CloseInvalidPayload, "compressed message is not valid DEFLATE data")

// inflateScratch is the size of each inflater's output buffer: a message
// that inflates to no more is handed over from it, without an allocation.
const inflateScratch = 64 << 10

// inflater is a pooled decompressor with its input and a scratch buffer
// for the output.
type inflater struct {
	fr      io.ReadCloser
	src     inflateSource
	scratch [inflateScratch]byte
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// reset starts inflating p afresh: no context is taken over.
func (z *inflater) reset(p []byte) {
	z.src = inflateSource{p: p}
	if z.fr == nil {
		z.fr = flate.NewReader(&z.src)
		return
	}
	z.fr.(flate.Resetter).Reset(&z.src, nil)
}

// fill inflates into dst until the output ends or dst is full; done
// reports that the output ended.
func (z *inflater) fill(dst []byte) (n int, done bool, err error) {
	for n < len(dst) {
		m, err := z.fr.Read(dst[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			// The detail (a corrupt block, a truncated stream) is not
			// the peer's business: the close code says what it did.
			return n, false, ErrInvalidDeflate
		}
	}
	return n, false, nil
}

// skip inflates the rest of the output into the scratch buffer, counting
// it, and stops once the count passes max.
func (z *inflater) skip(max int64) (n int64, err error) {
	for n <= max {
		m, done, err := z.fill(z.scratch[:])
		n += int64(m)
		if err != nil || done {
			return n, err
		}
	}
	return n, nil
}

// inflateSource reads a message's payload and then inflateTail. It is an
// io.ByteReader, so that flate reads it directly instead of through a
// bufio.Reader of its own.
type inflateSource struct {
	p    []byte
	tail int // bytes of inflateTail read
}

func (s *inflateSource) Read(b []byte) (int, error) {
	if len(s.p) > 0 {
		n := copy(b, s.p)
		s.p = s.p[n:]
		return n, nil
	}
	if s.tail == len(inflateTail) {
		return 0, io.EOF
	}
	n := copy(b, inflateTail[s.tail:])
	s.tail += n
	return n, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.p) > 0 {
		c := s.p[0]
		s.p = s.p[1:]
		return c, nil
	}
	if s.tail == len(inflateTail) {
		return 0, io.EOF
	}
	c := inflateTail[s.tail]
	s.tail++
	return c, nil
}

// Inflate decompresses the payload of one compressed message (without
// context takeover) and calls fn with the result, which is valid only
// during the call. A message that inflates to more than limit bytes fails
// with ErrMessageTooBig, one that is not valid DEFLATE data with
// ErrInvalidDeflate; reserve's and fn's errors are returned as they are.
//
// Memory stays bounded whatever the input: a message that inflates to at
// most 64 KiB is inflated into a pooled buffer; a larger one is inflated
// once only to count its bytes, and again into a buffer of exactly its
// size once reserve (if not nil) has agreed to that many bytes, so that a
// few kilobytes that inflate to gigabytes allocate nothing.
func Inflate(p []byte, limit int64, reserve func(n int64) error, fn func(msg []byte) error) error {
	z := inflaters.Get().(*inflater)
	defer inflaters.Put(z)
	z.reset(p)
	first := z.scratch[:min(int64(len(z.scratch)), limit)]
	n, done, err := z.fill(first)
	if err != nil {
		return err
	}
	if done {
		if reserve != nil {
			if err := reserve(int64(n)); err != nil {
				return err
			}
		}
		return fn(first[:n])
	}
	rest, err := z.skip(limit - int64(n))
	if err != nil {
		return err
	}
	if rest == 0 {
		// The output ended exactly at the end of the first buffer.
		if reserve != nil {
			if err := reserve(int64(n)); err != nil {
				return err
			}
		}
		return fn(first[:n])
	}
	total := int64(n) + rest
	if total > limit {
		return ErrMessageTooBig
	}
	if reserve != nil {
		if err := reserve(total); err != nil {
			return err
		}
	}
	msg := make([]byte, total)
	z.reset(p)
	if m, _, err := z.fill(msg); err != nil || int64(m) != total {
		// The same input inflates to the same output: not reached.
		return ErrInvalidDeflate
	}
	return fn(msg)
}
