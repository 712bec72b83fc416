package wsproto

import (
	"bytes"
	"fmt"
	"strings"
)

// event is one thing a Decoder handed to its Handler, with the payload
// copied because the Handler's slices are only valid during the call.
type event struct {
	control bool
	op      OpCode
	payload []byte
}

func (e event) String() string {
	kind := "msg"
	if e.control {
		kind = "ctl"
	}
	p := string(e.payload)
	if len(p) > 40 {
		p = p[:40] + fmt.Sprintf("...(%d bytes)", len(e.payload))
	}
	return fmt.Sprintf("%s op=%d %q", kind, e.op, p)
}

// recorder is a Handler that remembers every event.
type recorder struct {
	events []event
}

func (r *recorder) HandleMessage(op OpCode, p []byte) error {
	r.events = append(r.events, event{op: op, payload: bytes.Clone(p)})
	return nil
}

func (r *recorder) HandleControl(op OpCode, p []byte) error {
	r.events = append(r.events, event{control: true, op: op, payload: bytes.Clone(p)})
	return nil
}

func sameEvents(a, b []event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].control != b[i].control || a[i].op != b[i].op || !bytes.Equal(a[i].payload, b[i].payload) {
			return false
		}
	}
	return true
}

func formatEvents(es []event) string {
	var s strings.Builder
	for _, e := range es {
		s.WriteString("\n\t" + e.String())
	}
	return s.String()
}

// decodeSplit feeds a copy of data to d in pieces whose sizes cycle through
// sizes (a size of 0 feeds an empty slice; nil sizes feed data whole). It
// stops at the first error, as a connection would. consumed counts the
// bytes Feed reported as used.
func decodeSplit(d *Decoder, data []byte, sizes []int) (events []event, consumed int, err error) {
	var rec recorder
	data = bytes.Clone(data) // Feed unmasks in place
	if len(sizes) == 0 {
		n, err := d.Feed(data, &rec)
		return rec.events, n, err
	}
	for i, off := 0, 0; off < len(data); i++ {
		size := min(sizes[i%len(sizes)], len(data)-off)
		if i >= len(sizes) && size == 0 && allZero(sizes) {
			size = 1
		}
		n, ferr := d.Feed(data[off:off+size], &rec)
		if n < 0 || n > size {
			panic(fmt.Sprintf("Feed consumed %d of %d bytes", n, size))
		}
		consumed += n
		off += size
		if ferr != nil {
			return rec.events, consumed, ferr
		}
	}
	return rec.events, consumed, nil
}

func allZero(sizes []int) bool {
	for _, s := range sizes {
		if s != 0 {
			return false
		}
	}
	return true
}

// client builds a masked client stream frame by frame.
type client struct {
	b    []byte
	mask [4]byte
}

func (c *client) frame(op OpCode, fin bool, payload []byte) *client {
	c.mask = [4]byte{c.mask[1] + 0x37, c.mask[2] + 0x11, c.mask[3] + 0x5d, c.mask[0] + 0xa3}
	c.b = AppendMaskedFrame(c.b, op, fin, payload, c.mask)
	return c
}

func (c *client) text(s string) *client   { return c.frame(OpText, true, []byte(s)) }
func (c *client) binary(p []byte) *client { return c.frame(OpBinary, true, p) }

// raw appends a frame header with arbitrary bits and a masked payload.
func (c *client) raw(b0 byte, payload []byte) *client {
	var hdr [MaxHeaderSize]byte
	n := PutHeader(hdr[:], Header{Masked: true, Mask: c.mask, Length: int64(len(payload))})
	hdr[0] = b0
	c.b = append(c.b, hdr[:n]...)
	start := len(c.b)
	c.b = append(c.b, payload...)
	Mask(c.b[start:], c.mask, 0)
	return c
}

func closePayload(code StatusCode, reason string) []byte {
	b := []byte{byte(code >> 8), byte(code)}
	return append(b, reason...)
}
