package wsproto

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// validRequest is the client handshake of RFC 6455 section 1.2.
const validRequest = "GET /chat?room=a%20b HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Origin: http://example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

// edit returns validRequest with the header line starting with name
// replaced by line, or removed when line is "".
func edit(name, line string) string {
	var out []string
	for _, l := range strings.SplitAfter(validRequest, "\r\n") {
		if strings.HasPrefix(l, name) {
			if line != "" {
				out = append(out, line+"\r\n")
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestParseRequestValid(t *testing.T) {
	head := []byte(validRequest + "trailing frame bytes")
	end := HeadEnd(head)
	if end != len(validRequest) {
		t.Fatalf("HeadEnd = %d, want %d", end, len(validRequest))
	}
	for i := range end {
		if HeadEnd(head[:i]) != -1 {
			t.Fatalf("HeadEnd found an end in the first %d bytes", i)
		}
	}
	r, err := ParseRequest(head[:end])
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.Path != "/chat" || r.RawQuery != "room=a%20b" || r.Host != "server.example.com" {
		t.Fatalf("request line or host wrong: %+v", r)
	}
	if r.Query().Get("room") != "a b" {
		t.Fatalf("query room = %q", r.Query().Get("room"))
	}
	if r.Key != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Fatalf("Key = %q", r.Key)
	}
	if strings.Join(r.Protocols, "|") != "chat|superchat" {
		t.Fatalf("Protocols = %q", r.Protocols)
	}
	if r.Header.Get("Origin") != "http://example.com" {
		t.Fatalf("Origin = %q", r.Header.Get("Origin"))
	}
	if !r.IsUpgrade() {
		t.Fatal("IsUpgrade = false")
	}
}

func TestParseRequestRefusals(t *testing.T) {
	manyHeaders := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: b\r\n", 120) + "\r\n"
	cases := []struct {
		name   string
		head   string
		status int
	}{
		{"missing Host", edit("Host:", ""), 400},
		{"empty Host", edit("Host:", "Host:"), 400},
		{"two Host fields", edit("Host:", "Host: a\r\nHost: b"), 400},
		{"missing key", edit("Sec-WebSocket-Key:", ""), 400},
		{"short key", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZQ=="), 400},
		{"key not base64", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!"), 400},
		{"two keys", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 400},
		{"version 8", edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8"), 426},
		{"no version", edit("Sec-WebSocket-Version:", ""), 426},
		{"POST", strings.Replace(validRequest, "GET", "POST", 1), 405},
		{"missing Upgrade", edit("Upgrade:", ""), 400},
		{"Upgrade h2c", edit("Upgrade:", "Upgrade: h2c"), 400},
		{"missing Connection", edit("Connection:", ""), 400},
		{"Connection keep-alive", edit("Connection:", "Connection: keep-alive"), 400},
		{"HTTP/1.0", strings.Replace(validRequest, "HTTP/1.1", "HTTP/1.0", 1), 400},
		{"no version in request line", strings.Replace(validRequest, " HTTP/1.1", "", 1), 400},
		{"extra space in request line", strings.Replace(validRequest, "GET ", "GET  ", 1), 400},
		{"absolute target", strings.Replace(validRequest, "/chat", "chat", 1), 400},
		{"bad escape", strings.Replace(validRequest, "/chat", "/%zz", 1), 400},
		{"CR in target", strings.Replace(validRequest, "/chat", "/ch\rat", 1), 400},
		{"NUL in target", strings.Replace(validRequest, "/chat", "/ch\x00at", 1), 400},
		{"DEL in query", strings.Replace(validRequest, "room=", "room=\x7f", 1), 400},
		{"tab in target", strings.Replace(validRequest, "/chat", "/ch\tat", 1), 400},
		{"header without colon", edit("Origin:", "Origin http://example.com"), 400},
		{"space before colon", edit("Origin:", "Origin : http://example.com"), 400},
		{"folded line", edit("Origin:", "Origin: a\r\n b"), 400},
		{"bare LF in value", edit("Origin:", "Origin: a\nX-Evil: b"), 400},
		{"NUL in value", edit("Origin:", "Origin: a\x00b"), 400},
		{"bare LF line ends", strings.ReplaceAll(validRequest, "\r\n", "\n"), 400},
		{"empty", "", 400},
		{"too many headers", manyHeaders, 431},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(c.head))
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if err.Status != c.status {
				t.Fatalf("status %d (%s), want %d", err.Status, err.Reason, c.status)
			}
			if c.status == 426 && (err.Header.Get("Sec-WebSocket-Version") != "13") {
				t.Fatalf("426 without Sec-WebSocket-Version: 13: %v", err.Header)
			}
			if c.status == 405 && err.Header.Get("Allow") != "GET" {
				t.Fatalf("405 without Allow: GET: %v", err.Header)
			}
			checkResponse(t, AppendRefusal(nil, err), c.status)
		})
	}
}

func TestParseRequestAccepts(t *testing.T) {
	cases := []struct{ name, head string }{
		{"case-insensitive tokens", edit("Upgrade:", "upgrade: WebSocket")},
		{"Connection list", edit("Connection:", "Connection: keep-alive,  upgrade")},
		{"tabs around value", edit("Origin:", "Origin:\t http://example.com \t")},
		{"HTTP/2.0 line", strings.Replace(validRequest, "HTTP/1.1", "HTTP/2.0", 1)},
		{"100 headers", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + strings.Repeat("X-A: b\r\n", 95) + "\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseRequest([]byte(c.head)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseHeadPlainRequests(t *testing.T) {
	r, err := ParseHead([]byte("GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.Path != "/index.html" || r.RawQuery != "x=1" || r.Host != "a" {
		t.Fatalf("%+v", r)
	}
	if r.IsUpgrade() {
		t.Fatal("a plain GET reported as an upgrade")
	}
	if e := r.CheckUpgrade(); e == nil || e.Status != 400 {
		t.Fatalf("CheckUpgrade on a plain GET = %v", e)
	}
	r, err = ParseHead([]byte("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Header.Get("Content-Length") != "3" {
		t.Fatalf("%+v", r)
	}
	if e := r.CheckUpgrade(); e == nil || e.Status != 405 {
		t.Fatalf("CheckUpgrade on POST = %v", e)
	}
	r, err = ParseHead([]byte(validRequest))
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsUpgrade() || r.Key != "" {
		t.Fatalf("ParseHead did upgrade work or missed Upgrade: %+v", r)
	}
	if e := r.CheckUpgrade(); e != nil || r.Key == "" {
		t.Fatalf("CheckUpgrade = %v, key %q", e, r.Key)
	}
}

func TestSelectProtocol(t *testing.T) {
	cases := []struct {
		supported, offered []string
		want               string
	}{
		{[]string{"chat"}, []string{"superchat", "chat"}, "chat"},
		{[]string{"v2", "v1"}, []string{"v1", "v2"}, "v2"}, // the server's preference wins
		{[]string{"chat"}, []string{"Chat"}, ""},           // subprotocols are case-sensitive
		{[]string{"chat"}, nil, ""},
		{nil, []string{"chat"}, ""},
	}
	for _, c := range cases {
		if got := SelectProtocol(c.supported, c.offered); got != c.want {
			t.Errorf("SelectProtocol(%q, %q) = %q, want %q", c.supported, c.offered, got, c.want)
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 section 1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
	resp := AppendAccept(nil, "dGhlIHNhbXBsZSBub25jZQ==", "chat", http.Header{"X-Node": {"n1"}})
	checkResponse(t, resp, 101)
	for _, want := range []string{"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "Sec-WebSocket-Protocol: chat\r\n", "X-Node: n1\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n"} {
		if !bytes.Contains(resp, []byte(want)) {
			t.Errorf("response lacks %q:\n%s", want, resp)
		}
	}
	if bytes.Contains(AppendAccept(nil, "dGhlIHNhbXBsZSBub25jZQ==", "", nil), []byte("Sec-WebSocket-Protocol")) {
		t.Error("a protocol header without a protocol")
	}
}

// A header value or reason holding CR or LF must never start a new header
// line or a second response.
func TestAppendRefusalNoSplitting(t *testing.T) {
	e := &HTTPError{
		Status: 400,
		Reason: "bad\r\nX-Injected: 1\r\n\r\nHTTP/1.1 200 OK",
		Header: http.Header{
			"X-Reason":           {"a\r\nX-Injected: 2"},
			"X-Bad\r\nInjected":  {"3"},
			"Sec-Websocket-Vers": {"13\n\nbody"},
		},
	}
	resp := AppendRefusal(nil, e)
	checkResponse(t, resp, 400)
	if bytes.Contains(resp, []byte("\nX-Injected")) || bytes.Contains(resp, []byte("\nInjected")) {
		t.Fatalf("response split by a value:\n%q", resp)
	}
	if n := bytes.Count(resp, []byte("\r\n\r\n")); n != 1 {
		t.Fatalf("%d blank lines in %q", n, resp)
	}
	if bytes.Contains(AppendAccept(nil, "dGhlIHNhbXBsZSBub25jZQ==", "chat\r\nX-Injected: 1", nil), []byte("\nX-Injected")) {
		t.Fatal("protocol value split the 101 response")
	}
}

func TestAppendResponse(t *testing.T) {
	body := []byte("<h1>hi</h1>")
	resp := AppendResponse(nil, 200, http.Header{"Content-Type": {"text/html"}, "X-Evil": {"a\r\nSet-Cookie: x=1"}}, body)
	checkResponse(t, resp, 200)
	if !bytes.HasSuffix(resp, body) || !bytes.Contains(resp, []byte("Content-Length: 11\r\n")) {
		t.Fatalf("%q", resp)
	}
	if bytes.Contains(resp, []byte("\nSet-Cookie")) || bytes.Count(resp, []byte("Content-Type")) != 1 {
		t.Fatalf("%q", resp)
	}
	resp = AppendResponse(nil, 404, nil, nil)
	checkResponse(t, resp, 404)
	if !bytes.Contains(resp, []byte("Content-Type: text/plain")) {
		t.Fatalf("%q", resp)
	}
}

// TestRequestReuse: a Request parsed, Reset and parsed again holds only
// the second head, however the first differed.
func TestRequestReuse(t *testing.T) {
	first := "GET /a?x=1 HTTP/1.1\r\nHost: one\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\nX-Only-First: yes\r\n\r\n"
	second := "POST /b HTTP/1.1\r\nHost: two\r\n\r\n"
	var r Request
	if err := r.Parse([]byte(first)); err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := r.CheckUpgrade(); err != nil || len(r.Protocols) != 2 {
		t.Fatalf("first: CheckUpgrade %v, protocols %q", err, r.Protocols)
	}
	r.Reset()
	if err := r.Parse([]byte(second)); err != nil {
		t.Fatalf("second: %v", err)
	}
	if r.Method != "POST" || r.Path != "/b" || r.RawQuery != "" || r.Host != "two" || r.Key != "" || len(r.Protocols) != 0 {
		t.Fatalf("second parsed as %+v", r)
	}
	if len(r.Header) != 1 || r.Header.Get("X-Only-First") != "" {
		t.Fatalf("second header %v, want Host only", r.Header)
	}
}

// TestHandshakeAllocs: parsing a handshake into a reused Request and
// writing its 101 allocates only the strings the Request hands out (method,
// path, query, one per field value), no map, slice or key. A connect storm
// makes one of these per connection.
func TestHandshakeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	head := []byte(validRequest)
	var r Request
	out := make([]byte, 0, 256)
	fields := strings.Count(validRequest, "\r\n") - 2 // the request line and the blank line
	allocs := testing.AllocsPerRun(100, func() {
		if r.Parse(head) != nil || r.CheckUpgrade() != nil {
			t.Fatal("the valid request does not parse")
		}
		out = AppendAccept(out[:0], r.Key, "", nil)
		r.Reset()
	})
	// Method, path, query and one string per field value, at most.
	if max := float64(3 + fields); allocs > max {
		t.Fatalf("%.0f allocations per handshake, want at most %.0f", allocs, max)
	}
}
