package poller

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// The permessage-deflate tests compress and inflate on the client side
// with compress/flate directly, not with the package's own helpers, so
// that they check the wire.

// dialOffer connects with the given Sec-WebSocket-Extensions offer ("" for
// none) and returns the extensions the server answered.
func dialOffer(t testing.TB, s *Server, offer string) (*client, string) {
	t.Helper()
	c := dialRaw(t, s)
	extra := ""
	if offer != "" {
		extra = "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	c.write([]byte(upgradeRequest("/ws", extra)))
	resp := c.expectUpgrade()
	if n := len(resp.Header.Values("Sec-WebSocket-Extensions")); n > 1 {
		t.Fatalf("%d Sec-WebSocket-Extensions fields", n)
	}
	return c, resp.Header.Get("Sec-WebSocket-Extensions")
}

// deflateMsg compresses msg as a client does: a sync flush without its
// last four bytes.
func deflateMsg(t testing.TB, msg []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(msg)
	w.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatal("sync flush without its tail")
	}
	return out[:len(out)-4]
}

// inflateMsg inflates a compressed message from the server.
func inflateMsg(t testing.TB, p []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate a server message: %v", err)
	}
	return out
}

// readMessage reads one unfragmented message, inflating it if RSV1 is set,
// and reports whether it was compressed.
func (c *client) readMessage() (op wsproto.OpCode, payload []byte, compressed bool) {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if f.masked || !f.fin || f.rsv&^4 != 0 {
		c.t.Fatalf("server frame masked=%v rsv=%d fin=%v", f.masked, f.rsv, f.fin)
	}
	if f.rsv == 4 {
		if f.op.IsControl() {
			c.t.Fatalf("compressed control frame %v", f)
		}
		return f.op, inflateMsg(c.t, f.payload), true
	}
	return f.op, f.payload, false
}

// jsonLike is a message that compresses as chat or JSON traffic does.
func jsonLike(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(`{"event":"message","channel":"news","seq":`)
		b.WriteByte(byte('0' + i%10))
		b.WriteString(`,"body":"the quick brown fox jumps over the lazy dog"}`)
	}
	return []byte(b.String()[:n])
}

const deflateAccepted = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

func TestCompressionNegotiation(t *testing.T) {
	on := startServer(t, Options{Compression: true})
	off := startServer(t, Options{})
	for _, tc := range []struct {
		offer string
		want  string // the answer with Compression on
	}{
		{"", ""},
		{"permessage-deflate", deflateAccepted},
		{"permessage-deflate; client_max_window_bits", deflateAccepted},
		{"permessage-deflate; server_no_context_takeover; client_max_window_bits=10", deflateAccepted},
		{"permessage-deflate; server_max_window_bits=10", deflateAccepted + "; server_max_window_bits=10"},
		{`permessage-deflate; server_max_window_bits="12"`, deflateAccepted + "; server_max_window_bits=12"},
		{"x-webkit-deflate-frame", ""},
		{"permessage-deflate; server_max_window_bits=16", ""},
		{"permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
		{"permessage-deflate; unknown_param", ""},
		{"permessage-deflate; server_max_window_bits", ""},
		{"permessage-deflate; unknown, permessage-deflate; server_max_window_bits=9", deflateAccepted + "; server_max_window_bits=9"},
		{`permessage-deflate; server_max_window_bits="10`, ""},
	} {
		if _, got := dialOffer(t, on, tc.offer); got != tc.want {
			t.Errorf("offer %q: answered %q, want %q", tc.offer, got, tc.want)
		}
		if _, got := dialOffer(t, off, tc.offer); got != "" {
			t.Errorf("offer %q without Options.Compression: answered %q", tc.offer, got)
		}
	}
	// Counted once the 101 is queued: wait for the last.
	waitFor(t, ioTimeout, "Stats.CompressedConns = 6", func() bool { return on.Stats().CompressedConns == 6 })
}

func TestCompressedEcho(t *testing.T) {
	s := startServer(t, Options{Compression: true, CompressionThreshold: 100})
	c, ext := dialOffer(t, s, "permessage-deflate; client_max_window_bits")
	if ext != deflateAccepted {
		t.Fatalf("answered %q", ext)
	}
	big := jsonLike(5000)
	// A compressed message in one frame, then in three, then a plain one:
	// compression is per message and the client may send either.
	c.write(clientFrame(true, 4, wsproto.OpText, deflateMsg(t, big)))
	z := deflateMsg(t, big)
	third := len(z) / 3
	c.write(clientFrame(false, 4, wsproto.OpText, z[:third]))
	c.write(clientFrame(true, 0, wsproto.OpPing, []byte("mid")))
	c.write(clientFrame(false, 0, wsproto.OpContinuation, z[third:2*third]))
	c.write(clientFrame(true, 0, wsproto.OpContinuation, z[2*third:]))
	c.write(clientFrame(true, 0, wsproto.OpBinary, big[:3000]))
	// A small one, below the threshold, compressed by the client.
	c.write(clientFrame(true, 4, wsproto.OpText, deflateMsg(t, []byte("hi"))))

	check := func(wantOp wsproto.OpCode, want []byte, wantCompressed bool) {
		t.Helper()
		op, got, compressed := c.readMessage()
		if op != wantOp || !bytes.Equal(got, want) || compressed != wantCompressed {
			t.Fatalf("got op %d, %d bytes, compressed %v; want op %d, %d bytes, compressed %v", op, len(got), compressed, wantOp, len(want), wantCompressed)
		}
	}
	check(wsproto.OpText, big, true)
	check(wsproto.OpPong, []byte("mid"), false)
	check(wsproto.OpText, big, true)
	check(wsproto.OpBinary, big[:3000], true)
	check(wsproto.OpText, []byte("hi"), false)
	c.write(clientFrame(true, 0, wsproto.OpClose, closePayload(1000, "")))
	c.expectClose(1000)

	st := s.Stats()
	if st.MessagesDeflated != 3 || st.DeflateBytesIn != 2*5000+3000 || st.DeflateBytesOut == 0 || st.DeflateBytesOut > st.DeflateBytesIn/3 {
		t.Errorf("stats: %d messages deflated, %d bytes in, %d out", st.MessagesDeflated, st.DeflateBytesIn, st.DeflateBytesOut)
	}

	// Without the extension negotiated nothing is compressed.
	plain, _ := dialOffer(t, s, "")
	plain.writeFrame(true, wsproto.OpText, big)
	plain.expectMessage(wsproto.OpText, big)
}

// TestCompressionWindow: a client that allows the server a 512-byte
// window gets compressed only the messages that fit in it.
func TestCompressionWindow(t *testing.T) {
	s := startServer(t, Options{Compression: true, CompressionThreshold: 100})
	c, ext := dialOffer(t, s, "permessage-deflate; server_max_window_bits=9")
	if !strings.HasSuffix(ext, "server_max_window_bits=9") {
		t.Fatalf("answered %q", ext)
	}
	for _, n := range []int{512, 513} {
		msg := jsonLike(n)
		c.writeFrame(true, wsproto.OpText, msg)
		op, got, compressed := c.readMessage()
		if op != wsproto.OpText || !bytes.Equal(got, msg) || compressed != (n <= 512) {
			t.Errorf("%d bytes: op %d, %d bytes, compressed %v", n, op, len(got), compressed)
		}
	}
}

func TestCompressedProtocolErrors(t *testing.T) {
	s := startServer(t, Options{Compression: true, MaxMessageSize: 64 << 10, MaxFrameSize: 64 << 10})
	badText := deflateMsg(t, []byte("caf\xc3("))
	bomb := deflateMsg(t, make([]byte, 32<<20)) // about 32 KB
	for _, tc := range []struct {
		name      string
		negotiate bool
		frames    [][]byte
		code      wsproto.StatusCode
	}{
		{"RSV1 without the extension", false, frames(clientFrame(true, 4, wsproto.OpText, deflateMsg(t, []byte("hello")))), 1002},
		{"RSV1 on a ping", true, frames(clientFrame(true, 4, wsproto.OpPing, nil)), 1002},
		{"RSV1 on a close", true, frames(clientFrame(true, 4, wsproto.OpClose, closePayload(1000, ""))), 1002},
		{"RSV1 on a continuation", true, frames(txt(false, "a"), clientFrame(true, 4, wsproto.OpContinuation, []byte("b"))), 1002},
		{"RSV2 with the extension", true, frames(clientFrame(true, 2, wsproto.OpText, []byte("a"))), 1002},
		{"invalid DEFLATE data", true, frames(clientFrame(true, 4, wsproto.OpBinary, []byte{0xff, 0xfe, 0xfd})), 1007},
		{"invalid UTF-8 once inflated", true, frames(clientFrame(true, 4, wsproto.OpText, badText)), 1007},
		{"a bomb", true, frames(clientFrame(true, 4, wsproto.OpBinary, bomb)), 1009},
		{"a bomb in fragments", true, frames(clientFrame(false, 4, wsproto.OpBinary, bomb[:len(bomb)/2]), clientFrame(true, 0, wsproto.OpContinuation, bomb[len(bomb)/2:])), 1009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := ""
			if tc.negotiate {
				offer = "permessage-deflate"
			}
			c, _ := dialOffer(t, s, offer)
			for _, f := range tc.frames {
				c.writeChunks(f, 1<<20)
			}
			c.expectClose(tc.code)
		})
	}
	checkEcho(t, s)
	if used := s.Stats().InboundBytes; used != 0 {
		t.Errorf("%d bytes of the inbound budget still held", used)
	}
}

// TestCompressedFanOut: one frame queued on many connections is
// compressed once; those that negotiated share the compressed bytes,
// the others get the plain frame.
func TestCompressedFanOut(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 20)}
	s := startServer(t, Options{Handler: h, Compression: true})
	msg := jsonLike(1024)
	var clients []*client
	var conns []*Conn
	for i := range 12 {
		offer := "permessage-deflate; client_max_window_bits"
		if i%4 == 3 {
			offer = ""
		}
		c, _ := dialOffer(t, s, offer)
		clients = append(clients, c)
		conns = append(conns, <-h.opened)
	}
	// Queued from as many goroutines at once: the first to need the
	// compressed form makes it, the others wait for it and share it.
	f := wsproto.NewSharedFrame(wsproto.OpText, msg)
	var wg sync.WaitGroup
	for _, sc := range conns {
		wg.Go(func() {
			if err := sc.QueueFrame(f); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.Release()
	for i, c := range clients {
		op, got, compressed := c.readMessage()
		if op != wsproto.OpText || !bytes.Equal(got, msg) || compressed != (i%4 != 3) {
			t.Errorf("client %d: op %d, %d bytes, compressed %v", i, op, len(got), compressed)
		}
	}
	if n := s.Stats().MessagesDeflated; n != 1 {
		t.Errorf("the fan-out compressed %d times, want once", n)
	}
}

// TestIncompressibleFrameSentPlain: a message that deflate would not
// shrink goes as it is, and is tried once for all connections.
func TestIncompressibleFrameSentPlain(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 4)}
	s := startServer(t, Options{Handler: h, Compression: true})
	msg := make([]byte, 2000)
	for i := range msg {
		msg[i] = byte(i*7919 + i*i*31) // no repeats deflate finds
	}
	var clients []*client
	var conns []*Conn
	for range 3 {
		c, _ := dialOffer(t, s, "permessage-deflate")
		clients = append(clients, c)
		conns = append(conns, <-h.opened)
	}
	f := wsproto.NewSharedFrame(wsproto.OpBinary, msg)
	for _, sc := range conns {
		sc.WriteFrame(f)
	}
	f.Release()
	for _, c := range clients {
		if _, got, compressed := c.readMessage(); !bytes.Equal(got, msg) {
			t.Errorf("got %d bytes, compressed %v", len(got), compressed)
		}
	}
	if n := s.Stats().MessagesDeflated; n != 1 {
		t.Errorf("tried %d times, want once", n)
	}
}
