package poller

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/wsproto"
)

// The helpers here speak raw bytes to a server started in-process: frames
// are built by hand and read back with a parser of the test's own, so the
// tests check the wire, not the package's own encoder against itself.

// ioTimeout bounds every blocking read or write of a test client; generous
// because the race detector on a loaded 2-core machine is slow.
const ioTimeout = 10 * time.Second

// testKey is the sample nonce of RFC 6455 section 1.3.
const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// closeRecord is one OnClose call.
type closeRecord struct {
	id     uint64
	code   wsproto.StatusCode
	reason string
}

// echoHandler sends every message back with the same opcode, records the
// connections' lifecycle and lets a test refuse handshakes or grab conns.
type echoHandler struct {
	refuse func(r *wsproto.Request) error // nil accepts everything
	opened chan *Conn                     // receives each opened conn if not nil

	openCount atomic.Int64
	mu        sync.Mutex
	closes    []closeRecord
}

func (h *echoHandler) OnHandshake(c *Conn, r *wsproto.Request) error {
	if h.refuse != nil {
		return h.refuse(r)
	}
	return nil
}

func (h *echoHandler) OnOpen(c *Conn) {
	h.openCount.Add(1)
	if h.opened != nil {
		h.opened <- c
	}
}

func (h *echoHandler) OnMessage(c *Conn, op wsproto.OpCode, p []byte) {
	c.WriteMessage(op, p)
}

func (h *echoHandler) OnClose(c *Conn, code wsproto.StatusCode, reason string) {
	h.mu.Lock()
	h.closes = append(h.closes, closeRecord{c.ID(), code, reason})
	h.mu.Unlock()
}

func (h *echoHandler) closeRecords() []closeRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]closeRecord(nil), h.closes...)
}

// startServer starts a server on a free loopback port and shuts it down
// when the test ends.
func startServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Handler == nil {
		o.Handler = &echoHandler{}
	}
	o.InlineHandlers = o.InlineHandlers || inlineSuite
	if o.Backend == "" {
		o.Backend = backendSuite
	}
	s, err := NewServer(o)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, within, what, cond)
}

// upgradeRequest is a valid opening handshake for path with extra header
// lines (each ending in \r\n).
func upgradeRequest(path, extra string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		extra + "\r\n"
}

// client is a raw WebSocket client over one TCP connection.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dialFrom connects to s from the loopback address ip (any, if empty)
// and completes a handshake when upgrade is set.
func dialFrom(t testing.TB, s *Server, ip string, upgrade bool) *client {
	t.Helper()
	d := net.Dialer{Timeout: ioTimeout}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	nc, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	if upgrade {
		c.write([]byte(upgradeRequest("/ws", "")))
		c.expectUpgrade()
	}
	return c
}

func dialRaw(t testing.TB, s *Server) *client {
	t.Helper()
	return dialFrom(t, s, "", false)
}

// dialWS connects and completes a handshake, checking the 101 response.
func dialWS(t testing.TB, s *Server) *client {
	t.Helper()
	c := dialRaw(t, s)
	c.write([]byte(upgradeRequest("/ws", "")))
	c.expectUpgrade()
	return c
}

// expectUpgrade reads a 101 response and checks its headers.
func (c *client) expectUpgrade() *http.Response {
	c.t.Helper()
	resp := c.readResponse()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("handshake: status %d, want 101 (body %q)", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		c.t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		!strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
		c.t.Fatalf("101 without Upgrade/Connection headers: %v", resp.Header)
	}
	return resp
}

func (c *client) readResponse() *http.Response {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return resp
}

func (c *client) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeChunks writes b in pieces of at most n bytes, one write call each.
// It stops quietly at a failed write: a server that fails the connection
// early (as it must for bad UTF-8) may close before the last byte, and the
// test then checks what the server sent.
func (c *client) writeChunks(b []byte, n int) {
	c.t.Helper()
	for len(b) > 0 {
		k := min(n, len(b))
		c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.nc.Write(b[:k]); err != nil {
			return
		}
		b = b[k:]
	}
}

// frame is a frame read from the server.
type frame struct {
	fin     bool
	rsv     byte
	op      wsproto.OpCode
	masked  bool
	payload []byte
}

func (f frame) String() string {
	return fmt.Sprintf("frame{fin:%v op:%d len:%d}", f.fin, f.op, len(f.payload))
}

// closeCode returns the code in a close frame's payload, or 1005 if empty.
func (f frame) closeCode() wsproto.StatusCode {
	if len(f.payload) < 2 {
		return wsproto.CloseNoStatus
	}
	return wsproto.StatusCode(binary.BigEndian.Uint16(f.payload))
}

// readFrame parses one frame off the wire by hand.
func (c *client) readFrame() (frame, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	var h [8]byte
	if _, err := io.ReadFull(c.br, h[:2]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 7, op: wsproto.OpCode(h[0] & 0xf), masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(c.br, h[:2]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(c.br, h[:8]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(h[:8])
	}
	if n > 64<<20 {
		return f, fmt.Errorf("server frame of %d bytes", n)
	}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(c.br, f.payload)
	return f, err
}

func (c *client) mustReadFrame() frame {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if f.masked || f.rsv != 0 || !f.fin {
		c.t.Fatalf("server frame masked=%v rsv=%d fin=%v", f.masked, f.rsv, f.fin)
	}
	return f
}

// expectMessage reads one frame and checks it is op with payload.
func (c *client) expectMessage(op wsproto.OpCode, payload []byte) {
	c.t.Helper()
	f := c.mustReadFrame()
	if f.op != op || !bytes.Equal(f.payload, payload) {
		c.t.Fatalf("got %v %.40q, want op %d with %d bytes %.40q", f, f.payload, op, len(payload), payload)
	}
}

// expectClose reads until a close frame, which must carry code (1005 for
// an empty payload), and returns it. Data frames before it fail the test.
func (c *client) expectClose(code wsproto.StatusCode) frame {
	c.t.Helper()
	f := c.mustReadFrame()
	if f.op != wsproto.OpClose {
		c.t.Fatalf("got %v, want close %d", f, code)
	}
	if got := f.closeCode(); got != code {
		c.t.Fatalf("close code %d (reason %q), want %d", got, f.payload[min(2, len(f.payload)):], code)
	}
	return f
}

// expectEOF checks that the server closes the TCP connection.
func (c *client) expectEOF() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := io.Copy(io.Discard, c.br)
	if err != nil && !isReset(err) {
		c.t.Fatalf("waiting for the server to close TCP: %v (after %d bytes)", err, n)
	}
	if n != 0 {
		c.t.Fatalf("%d bytes after the close frame", n)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && strings.Contains(oe.Err.Error(), "reset")
}

// writeFrame sends one masked frame.
func (c *client) writeFrame(fin bool, op wsproto.OpCode, payload []byte) {
	c.t.Helper()
	c.write(clientFrame(fin, 0, op, payload))
}

// testMask is a mask with four different bytes, so a wrong offset shows.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame encodes a masked frame by hand, with the minimal length
// encoding.
func clientFrame(fin bool, rsv byte, op wsproto.OpCode, payload []byte) []byte {
	return rawFrameBytes(fin, rsv, op, payload, true)
}

func rawFrameBytes(fin bool, rsv byte, op wsproto.OpCode, payload []byte, masked bool) []byte {
	b0 := byte(op) | rsv<<4
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if masked {
		b1 = 0x80
	}
	out := []byte{b0, 0}
	switch n := len(payload); {
	case n <= 125:
		b1 |= byte(n)
	case n <= 0xffff:
		b1 |= 126
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		b1 |= 127
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out[1] = b1
	if !masked {
		return append(out, payload...)
	}
	out = append(out, testMask[:]...)
	for i, p := range payload {
		out = append(out, p^testMask[i%4])
	}
	return out
}

// closePayload is a close frame payload with code and reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// checkEcho proves the server still serves: a fresh client gets its echo.
func checkEcho(t testing.TB, s *Server) {
	t.Helper()
	c := dialWS(t, s)
	msg := []byte("still alive")
	c.writeFrame(true, wsproto.OpText, msg)
	c.expectMessage(wsproto.OpText, msg)
	c.writeFrame(true, wsproto.OpClose, closePayload(1000, ""))
	c.expectClose(1000)
	c.expectEOF()
}

// dialNoFatal dials the server and returns the error instead of failing.
func dialNoFatal(s *Server) (net.Conn, error) {
	return net.DialTimeout("tcp", s.Addr().String(), ioTimeout)
}
