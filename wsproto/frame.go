package wsproto

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Re-exported from gobwas/ws so that callers need one import.
type (
	OpCode     = ws.OpCode
	StatusCode = ws.StatusCode
	Header     = ws.Header
)

const (
	OpContinuation = ws.OpContinuation
	OpText         = ws.OpText
	OpBinary       = ws.OpBinary
	OpClose        = ws.OpClose
	OpPing         = ws.OpPing
	OpPong         = ws.OpPong
)

// MaxHeaderSize is the largest frame header: 2 bytes, 8 of extended length
// and a 4-byte mask.
const MaxHeaderSize = 14

// MaxControlPayload is the RFC 6455 limit on a control frame's payload.
const MaxControlPayload = 125

// ParseHeader decodes a frame header from the front of b. It returns the
// header and its size in bytes; n == 0 with a nil error means b does not yet
// hold the whole header. It checks only what the wire format itself forbids
// (a 64-bit length with the top bit set, a non-minimal length encoding is
// allowed as RFC 6455 does not forbid it); protocol rules are in CheckHeader.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return h, 0, ErrLengthOverflow
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// HeaderSize returns the encoded size of a header for a payload of the given
// length.
func HeaderSize(length int, masked bool) int {
	n := 2
	switch {
	case length > 0xffff:
		n += 8
	case length > 125:
		n += 2
	}
	if masked {
		n += 4
	}
	return n
}

// PutHeader encodes h into dst, which must hold at least HeaderSize bytes,
// and returns the number of bytes written.
func PutHeader(dst []byte, h Header) int {
	b0 := byte(h.OpCode) | (h.Rsv&0x7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := 2
	switch {
	case h.Length > 0xffff:
		b1 |= 127
		binary.BigEndian.PutUint64(dst[2:10], uint64(h.Length))
		n = 10
	case h.Length > 125:
		b1 |= 126
		binary.BigEndian.PutUint16(dst[2:4], uint16(h.Length))
		n = 4
	default:
		b1 |= byte(h.Length)
	}
	dst[0], dst[1] = b0, b1
	if h.Masked {
		copy(dst[n:n+4], h.Mask[:])
		n += 4
	}
	return n
}

// AppendFrame appends a whole unmasked (server to client) frame to dst.
func AppendFrame(dst []byte, op OpCode, fin bool, payload []byte) []byte {
	var hdr [MaxHeaderSize]byte
	n := PutHeader(hdr[:], Header{Fin: fin, OpCode: op, Length: int64(len(payload))})
	dst = append(dst, hdr[:n]...)
	return append(dst, payload...)
}

// AppendMaskedFrame appends a whole masked (client to server) frame to dst.
func AppendMaskedFrame(dst []byte, op OpCode, fin bool, payload []byte, mask [4]byte) []byte {
	var hdr [MaxHeaderSize]byte
	n := PutHeader(hdr[:], Header{Fin: fin, OpCode: op, Masked: true, Mask: mask, Length: int64(len(payload))})
	dst = append(dst, hdr[:n]...)
	start := len(dst)
	dst = append(dst, payload...)
	Mask(dst[start:], mask, 0)
	return dst
}

// Mask XORs p in place with mask, starting at byte offset of the mask
// stream; masking and unmasking are the same operation.
func Mask(p []byte, mask [4]byte, offset int) {
	ws.Cipher(p, mask, offset)
}
