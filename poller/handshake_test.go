package poller

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// handshakeCase sends a request head and expects an HTTP answer.
type handshakeCase struct {
	name   string
	req    string
	status int
	header map[string]string // response fields that must be present
	body   string            // a substring of the body, if set
}

func TestHandshake(t *testing.T) {
	h := &echoHandler{refuse: func(r *wsproto.Request) error {
		if r.Query().Get("token") == "bad" {
			return &wsproto.HTTPError{Status: http.StatusUnauthorized, Reason: "bad token"}
		}
		if r.Query().Get("deny") != "" {
			return io.EOF // not an HTTPError: 403
		}
		return nil
	}}
	s := startServer(t, Options{Handler: h, Subprotocols: []string{"v2.chat", "v1.chat"}, MaxHeaderBytes: 2048})

	without := func(field string) string {
		var b strings.Builder
		for _, line := range strings.SplitAfter(upgradeRequest("/ws", ""), "\r\n") {
			if !strings.HasPrefix(line, field+":") {
				b.WriteString(line)
			}
		}
		return b.String()
	}
	replace := func(old, new string) string {
		return strings.Replace(upgradeRequest("/ws", ""), old, new, 1)
	}
	cases := []handshakeCase{
		{name: "missing-key", req: without("Sec-WebSocket-Key"), status: 400},
		{name: "malformed-key", req: replace(testKey, "not-base64-of-16-bytes"), status: 400},
		{name: "missing-host", req: without("Host"), status: 400},
		{name: "missing-connection", req: without("Connection"), status: 400},
		{name: "version-8", req: replace("Version: 13", "Version: 8"), status: 426, header: map[string]string{"Sec-WebSocket-Version": "13"}},
		{name: "missing-version", req: without("Sec-WebSocket-Version"), status: 426, header: map[string]string{"Sec-WebSocket-Version": "13"}},
		{name: "post", req: replace("GET ", "POST "), status: 405},
		{name: "http-1.0", req: replace("HTTP/1.1", "HTTP/1.0"), status: 400},
		{name: "garbage", req: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", status: 400},
		{name: "head-too-large", req: upgradeRequest("/ws", "X-Filler: "+strings.Repeat("x", 3000)+"\r\n"), status: 431},
		{name: "head-too-large-unfinished", req: "GET /ws HTTP/1.1\r\nX-Filler: " + strings.Repeat("x", 3000), status: 431},
		{name: "refused-by-handler", req: upgradeRequest("/ws?token=bad", ""), status: 401, body: "bad token"},
		{name: "cross-origin", req: upgradeRequest("/ws", "Origin: https://evil.example\r\n"), status: 403, body: "origin not allowed"},
		{name: "null-origin", req: upgradeRequest("/ws", "Origin: null\r\n"), status: 403},
		{name: "refused-by-handler-plain-error", req: upgradeRequest("/ws?deny=1", ""), status: 403},
		{name: "plain-get-other-path", req: "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", status: 404},
		{name: "upgrade-other-path", req: upgradeRequest("/elsewhere", ""), status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, s)
			c.writeChunks([]byte(tc.req), len(tc.req))
			resp := c.readResponse()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tc.status)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body %q does not contain %q", body, tc.body)
			}
			c.expectEOF()
			checkEcho(t, s)
		})
	}
	if h.openCount.Load() == 0 {
		t.Fatal("no connection opened at all")
	}

	t.Run("same-origin", func(t *testing.T) {
		c := dialRaw(t, s)
		c.write([]byte(upgradeRequest("/ws", "Origin: http://127.0.0.1\r\n")))
		c.expectUpgrade()
	})
	t.Run("valid-bytewise", func(t *testing.T) {
		c := dialRaw(t, s)
		c.writeChunks([]byte(upgradeRequest("/ws", "")), 1)
		c.expectUpgrade()
		c.writeFrame(true, wsproto.OpText, []byte("hi"))
		c.expectMessage(wsproto.OpText, []byte("hi"))
	})
	t.Run("subprotocol-server-order", func(t *testing.T) {
		c := dialRaw(t, s)
		c.write([]byte(upgradeRequest("/ws", "Sec-WebSocket-Protocol: v1.chat, v2.chat\r\n")))
		if got := c.expectUpgrade().Header.Get("Sec-WebSocket-Protocol"); got != "v2.chat" {
			t.Fatalf("Sec-WebSocket-Protocol = %q, want the server's first choice v2.chat", got)
		}
	})
	t.Run("subprotocol-none-shared", func(t *testing.T) {
		c := dialRaw(t, s)
		c.write([]byte(upgradeRequest("/ws", "Sec-WebSocket-Protocol: mqtt\r\n")))
		if got, ok := c.expectUpgrade().Header["Sec-Websocket-Protocol"]; ok {
			t.Fatalf("Sec-WebSocket-Protocol %q sent though no subprotocol is shared", got)
		}
	})
	t.Run("frames-pipelined-with-head", func(t *testing.T) {
		c := dialRaw(t, s)
		out := []byte(upgradeRequest("/ws", ""))
		out = append(out, txt(true, "first")...)
		out = append(out, ping([]byte("p"))...)
		out = append(out, txt(false, "sec")...)
		c.write(append(out, cont(true, "ond")...))
		c.expectUpgrade()
		c.expectMessage(wsproto.OpText, []byte("first"))
		c.expectMessage(wsproto.OpPong, []byte("p"))
		c.expectMessage(wsproto.OpText, []byte("second"))
	})
	t.Run("frames-pipelined-after-split-head", func(t *testing.T) {
		c := dialRaw(t, s)
		req := upgradeRequest("/ws", "")
		c.write([]byte(req[:len(req)-3]))
		// The rest of the head and a frame arrive together.
		c.write(append([]byte(req[len(req)-3:]), txt(true, "first")...))
		c.expectUpgrade()
		c.expectMessage(wsproto.OpText, []byte("first"))
	})
}

func TestHandshakeFallback(t *testing.T) {
	s := startServer(t, Options{HTTPFallback: func(r *wsproto.Request) (int, http.Header, []byte) {
		return http.StatusOK, http.Header{"X-Path": {r.Path}}, []byte("ok\n")
	}})
	c := dialRaw(t, s)
	c.write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp := c.readResponse()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok\n" || resp.Header.Get("X-Path") != "/healthz" {
		t.Fatalf("fallback answered %d %q %v", resp.StatusCode, body, resp.Header)
	}
	c.expectEOF()
	checkEcho(t, s)
}

// TestHandshakeTimeout: a client that sends part of a head and then
// nothing is disconnected after HandshakeTimeout (slowloris).
func TestHandshakeTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startServer(t, Options{HandshakeTimeout: timeout})
	c := dialRaw(t, s)
	start := time.Now()
	c.write([]byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr"))
	c.expectEOF()
	if d := time.Since(start); d < timeout {
		t.Fatalf("closed after %v, before the timeout of %v", d, timeout)
	}
	if got := s.Stats().HandshakeTimeouts; got != 1 {
		t.Fatalf("Stats().HandshakeTimeouts = %d, want 1", got)
	}
	// A connection that sends nothing at all is dropped too.
	c2 := dialRaw(t, s)
	c2.expectEOF()
	waitFor(t, 5*time.Second, "second handshake timeout counted", func() bool { return s.Stats().HandshakeTimeouts == 2 })
	checkEcho(t, s)
	// The handshake timer must not fire on an open connection.
	c3 := dialWS(t, s)
	deadline := time.Now().Add(3 * timeout)
	for time.Now().Before(deadline) {
		c3.writeFrame(true, wsproto.OpText, []byte("x"))
		c3.expectMessage(wsproto.OpText, []byte("x"))
	}
}

// TestRefusedHeadIsNotDecoded: what follows a refused request head (the
// rest of a header flood) is never fed to the frame decoder, so it counts
// as no protocol error.
func TestRefusedHeadIsNotDecoded(t *testing.T) {
	s := startServer(t, Options{MaxHeaderBytes: 1024})
	c := dialRaw(t, s)
	// More than one read's worth, so that the server reads on after the
	// refusal; 'x' is a bad frame header (reserved bits) to a decoder.
	flood := []byte("GET /ws HTTP/1.1\r\nX-Filler: " + strings.Repeat("x", 512<<10))
	go c.nc.Write(flood) // fails once the server has closed
	resp := c.readResponse()
	io.ReadAll(resp.Body)
	if resp.StatusCode != 431 {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
	c.expectEOF()
	time.Sleep(50 * time.Millisecond) // the server's read path may still run
	if st := s.Stats(); st.ProtocolErrors != 0 || st.HandshakesRefused != 1 {
		t.Fatalf("protocol errors %d, refusals %d; want 0 and 1", st.ProtocolErrors, st.HandshakesRefused)
	}
}

// TestBytesAfterHTTPAnswerAreNotDecoded: bytes a client sends after its
// request while the server is still writing an HTTP answer (here one
// larger than the socket takes at once) are not frames: they reach no
// decoder and count as no protocol error, and the answer arrives whole.
func TestBytesAfterHTTPAnswerAreNotDecoded(t *testing.T) {
	body := []byte(strings.Repeat("b", 8<<20))
	s := startServer(t, Options{HTTPFallback: func(*wsproto.Request) (int, http.Header, []byte) { return 200, nil, body }})
	c := dialRaw(t, s)
	c.write([]byte("GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	time.Sleep(100 * time.Millisecond) // the answer fills the socket; the rest waits for room
	c.write([]byte(strings.Repeat("x", 4096)))
	time.Sleep(100 * time.Millisecond) // the server reads what came meanwhile
	errs := s.Stats().ProtocolErrors
	resp := c.readResponse()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != int64(len(body)) {
		t.Fatalf("answer: %d of %d bytes, %v", n, len(body), err)
	}
	if errs != 0 {
		t.Fatalf("%d protocol errors for bytes after an HTTP request", errs)
	}
}

// TestAllowedOrigins: a listed origin, or "*", lets another site's page in.
func TestAllowedOrigins(t *testing.T) {
	for _, allowed := range [][]string{{"*"}, {"app.example.com"}, {"https://app.example.com"}} {
		s := startServer(t, Options{AllowedOrigins: allowed})
		c := dialRaw(t, s)
		c.write([]byte(upgradeRequest("/ws", "Origin: https://app.example.com\r\n")))
		c.expectUpgrade()
	}
}
