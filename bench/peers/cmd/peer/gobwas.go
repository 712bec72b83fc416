package main

import (
	"bytes"
	"errors"
	"io"

	"github.com/gobwas/ws"
)

// This file holds what the two peers framed with gobwas/ws (netpoll and gnet)
// share: the handshake, the checks on every frame, the answers to control
// frames and the joining of fragmented messages. Their event loops differ;
// the protocol handling does not.

// maxHandshake bounds the bytes of an opening handshake; a client that
// sends more without finishing its headers is dropped.
const maxHandshake = 8 << 10

// errHandshakeTooLarge is returned when a handshake exceeds maxHandshake.
var errHandshakeTooLarge = errors.New("opening handshake larger than 8 KiB")

// newUpgrader returns the gobwas upgrader of both peers: path /ws only, no
// extensions (so no compression), no origin check.
func newUpgrader() ws.Upgrader {
	return ws.Upgrader{
		OnRequest: func(uri []byte) error {
			path, _, _ := bytes.Cut(uri, []byte("?"))
			if string(path) != "/ws" {
				return ws.RejectConnectionError(ws.RejectionStatus(404))
			}
			return nil
		},
	}
}

// handshakeEnd returns the length of the opening handshake at the start of
// buf (through the blank line that ends the headers), or -1 if buf does not
// hold all of it yet.
func handshakeEnd(buf []byte) int {
	i := bytes.Index(buf, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

// handshakeIO is what ws.Upgrade works on: it reads exactly the request
// bytes already taken off the connection (ws.Upgrade reads through a bufio
// buffer, which on the socket itself could swallow the first frames) and
// writes the response to the connection.
type handshakeIO struct {
	io.Reader
	io.Writer
}

// upgrade answers the opening handshake req (as delimited by handshakeEnd)
// on w. On error the HTTP error response, if any, has been written.
func upgrade(u *ws.Upgrader, req []byte, w io.Writer) error {
	_, err := u.Upgrade(handshakeIO{Reader: bytes.NewReader(req), Writer: w})
	return err
}

// headerLen returns the length of the frame header that starts with the two
// bytes b: the extended length and the mask key follow them.
func headerLen(b [2]byte) int {
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// frameResult is what one frame asks of the connection.
type frameResult struct {
	op      ws.OpCode // opcode of a completed data message; 0 if none
	payload []byte    // the completed message; aliases the frame's payload unless it was fragmented
	reply   []byte    // an encoded control frame to send back (pong or close); nil if none
	close   bool      // close the connection after sending reply
}

// messageReader checks frames and joins fragmented messages for one
// connection. The zero value is ready to use.
type messageReader struct {
	fragOp    ws.OpCode // opcode of the message being joined; 0 if none
	fragments []byte    // its payload so far
}

// check validates a frame header before its payload is read: the RFC 6455
// rules for a server and the read limit, counting the fragments already
// held. On failure it returns the close frame to send before closing.
func (m *messageReader) check(h ws.Header) (closeFrame []byte, ok bool) {
	state := ws.StateServerSide
	if m.fragOp != 0 {
		state |= ws.StateFragmented
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return closeWith(ws.StatusProtocolError), false
	}
	if h.Length > maxMessage || (h.OpCode == ws.OpContinuation && int64(len(m.fragments))+h.Length > maxMessage) {
		return closeWith(ws.StatusMessageTooBig), false
	}
	return nil, true
}

// frame handles one frame that passed check, with its payload p unmasked.
func (m *messageReader) frame(h ws.Header, p []byte) frameResult {
	switch h.OpCode {
	case ws.OpPing:
		return frameResult{reply: ws.MustCompileFrame(ws.NewPongFrame(p))}
	case ws.OpPong:
		return frameResult{}
	case ws.OpClose:
		// Answer with the peer's status code (none if it sent none).
		var body []byte
		if code, _ := ws.ParseCloseFrameData(p); code != 0 {
			body = ws.NewCloseFrameBody(code, "")
		}
		return frameResult{reply: ws.MustCompileFrame(ws.NewCloseFrame(body)), close: true}
	}
	if h.Fin && h.OpCode != ws.OpContinuation {
		return frameResult{op: h.OpCode, payload: p}
	}
	if h.OpCode != ws.OpContinuation {
		m.fragOp = h.OpCode
	}
	m.fragments = append(m.fragments, p...)
	if !h.Fin {
		return frameResult{}
	}
	r := frameResult{op: m.fragOp, payload: m.fragments}
	m.fragOp, m.fragments = 0, nil // the caller may still hold the payload
	return r
}

// closeWith returns an encoded close frame with status code.
func closeWith(code ws.StatusCode) []byte {
	return ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
}

// encodeHeader writes to b, after resetting it, the header of an unmasked
// final frame carrying a whole message of n bytes, and returns its bytes
// (valid until b is next used).
func encodeHeader(b *bytes.Buffer, op ws.OpCode, n int) []byte {
	b.Reset()
	_ = ws.WriteHeader(b, ws.Header{Fin: true, OpCode: op, Length: int64(n)}) // a bytes.Buffer write does not fail
	return b.Bytes()
}
