package wsproto

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"
)

// Limits small enough for the fuzzer to reach them.
const (
	fuzzMaxFrame   = 300
	fuzzMaxMessage = 1000
)

// fuzzFrames turns a compact description into masked client frames, so the
// fuzzer explores protocol states rather than failing at the mask bit: each
// frame is a first header byte, a length byte and that many payload bytes
// (fewer at the end of spec).
func fuzzFrames(spec []byte) []byte {
	var c client
	for len(spec) >= 2 {
		b0, n := spec[0], int(spec[1])
		spec = spec[2:]
		n = min(n, len(spec))
		c.raw(b0, spec[:n])
		spec = spec[n:]
	}
	return c.b
}

// FuzzDecoder feeds arbitrary bytes whole and in arbitrary splits. The
// decoder must not panic, must respect its limits, and must decode the same
// events and report the same error whichever way the bytes arrive.
func FuzzDecoder(f *testing.F) {
	seed := func(b []byte, mode byte) { f.Add(b, []byte{1, 3, 0, 7}, mode) }
	var c client
	c.text("hello").binary([]byte{0, 1, 2}).frame(OpPing, true, []byte("p")).frame(OpClose, true, closePayload(1000, "bye"))
	seed(c.b, 0)
	c = client{}
	c.frame(OpText, false, []byte("h\xc3")).frame(OpPing, true, nil).frame(OpContinuation, true, []byte("\xa9llo"))
	seed(c.b, 0)
	c = client{}
	c.frame(OpBinary, true, make([]byte, 200)).frame(OpBinary, true, make([]byte, fuzzMaxFrame+1))
	seed(c.b, 0)
	seed([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, 0)
	seed([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, 1)
	seed([]byte{0x01, 2, 'a', 0xce, 0x89, 0, 0x80, 1, 0xb1}, 2)
	seed([]byte{0x88, 2, 0x03, 0xe8, 0x81, 1, 'x'}, 2)
	seed([]byte{0x02, 200, 0x00, 200, 0x00, 200, 0x80, 200}, 2)
	seed([]byte{0x88, 1, 0x03}, 2)
	seed([]byte{0x81, 3, 0xed, 0xa0, 0x80}, 2)
	// permessage-deflate (mode 4): compressed messages whole and in
	// fragments, RSV1 where it does not belong, a bomb.
	c = client{}
	c.deflated(OpText, []byte("hello hello hello"), 1).deflated(OpBinary, jsonish(900), 3).text("plain")
	seed(c.b, 4)
	c = client{}
	c.deflated(OpBinary, make([]byte, 5000), 1)
	seed(c.b, 4)
	seed([]byte{0xc1, 3, 0xf2, 0x48, 0x05, 0x89, 1, 0x00}, 6)

	f.Fuzz(func(t *testing.T, data, splits []byte, mode byte) {
		if mode&2 != 0 {
			data = fuzzFrames(data)
		}
		newDecoder := func() *Decoder {
			return &Decoder{MaxFrameSize: fuzzMaxFrame, MaxMessageSize: fuzzMaxMessage, FromServer: mode&1 != 0, Compression: mode&4 != 0}
		}
		// A long run of zero sizes would feed mostly empty slices and make
		// each input slow to decode; a few are as good as many.
		splits = splits[:min(len(splits), 16)]
		sizes := make([]int, len(splits))
		for i, s := range splits {
			sizes[i] = int(s)
		}
		d1 := newDecoder()
		whole, n1, err1 := decodeSplit(d1, data, nil)
		d2 := newDecoder()
		split, n2, err2 := decodeSplit(d2, data, sizes)
		// A byte at a time is the harshest split but slow on long inputs,
		// which the small limits make uninteresting anyway.
		d3 := newDecoder()
		bytewise, err3 := whole, err1
		if len(data) <= 4096 {
			bytewise, _, err3 = decodeSplit(d3, data, []int{1})
		}
		checkErr := func(err error) {
			var pe *ProtocolError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProtocolError", err)
			}
		}
		checkErr(err1)
		if err1 != err2 || err1 != err3 {
			t.Fatalf("errors differ: whole %v, split %v, bytewise %v", err1, err2, err3)
		}
		if !sameEvents(whole, split) || !sameEvents(whole, bytewise) {
			t.Fatalf("events differ:\nwhole:%s\nsplit %v:%s\nbytewise:%s", formatEvents(whole), sizes, formatEvents(split), formatEvents(bytewise))
		}
		if err1 == nil && n1 != n2 {
			t.Fatalf("consumed %d whole but %d split", n1, n2)
		}
		if err1 == nil && !d1.Closed() && n1 != len(data) {
			t.Fatalf("consumed %d of %d bytes without a close or an error", n1, len(data))
		}
		for _, e := range whole {
			switch {
			case e.control && len(e.payload) > MaxControlPayload:
				t.Fatalf("control payload of %d bytes", len(e.payload))
			case !e.control && len(e.payload) > fuzzMaxMessage:
				t.Fatalf("message of %d bytes over the limit", len(e.payload))
			case !e.control && e.op == OpText && !utf8.Valid(e.payload):
				t.Fatalf("invalid UTF-8 text delivered: %q", e.payload)
			case e.control && e.op == OpClose:
				if _, _, err := ParseClosePayload(e.payload); err != nil {
					t.Fatalf("invalid close payload delivered: %v", err)
				}
			}
		}
		// Memory stays bounded by the limits, whatever was fed.
		for _, d := range []*Decoder{d1, d2, d3} {
			if d.msg != nil && cap(d.msg.B) > 2*fuzzMaxMessage+64 {
				t.Fatalf("assembly buffer grew to %d bytes", cap(d.msg.B))
			}
			if cap(d.ctrl) > 2*MaxControlPayload+64 {
				t.Fatalf("control buffer grew to %d bytes", cap(d.ctrl))
			}
			d.Release()
		}
	})
}

// FuzzParseRequest: the handshake parser never panics, what it accepts is a
// proper opening handshake, and its answers are well-formed HTTP.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(validRequest))
	f.Add([]byte("GET /chat?room=1 HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))
	f.Add([]byte("GET /%zz HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n Host: a\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Version: 8\r\n\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		if end := HeadEnd(head); end > len(head) || end < -1 {
			t.Fatalf("HeadEnd = %d for %d bytes", end, len(head))
		}
		r, herr := ParseRequest(head)
		if herr != nil {
			if r != nil {
				t.Fatal("both a request and an error")
			}
			if herr.Status < 400 || herr.Status > 599 {
				t.Fatalf("refusal status %d", herr.Status)
			}
			checkResponse(t, AppendRefusal(nil, herr), herr.Status)
			return
		}
		if r.Method != "GET" || r.Host == "" || !r.IsUpgrade() || !validKey(r.Key) || len(r.Header["Host"]) != 1 {
			t.Fatalf("accepted a bad handshake: %+v", r)
		}
		if len(r.Path) == 0 || r.Path[0] != '/' {
			t.Fatalf("path %q", r.Path)
		}
		for _, p := range r.Protocols {
			if p == "" {
				t.Fatal("empty subprotocol")
			}
		}
		resp := AppendAccept(nil, r.Key, SelectProtocol([]string{"chat"}, r.Protocols), nil)
		checkResponse(t, resp, http.StatusSwitchingProtocols)
		// ParseHead alone accepts a superset.
		if _, herr := ParseHead(head); herr != nil {
			t.Fatalf("ParseRequest accepted but ParseHead refused: %v", herr)
		}
		// A reused Request, Reset after another handshake, parses the
		// same as a fresh one.
		var reused Request
		if reused.Parse([]byte(validRequest)) != nil || reused.CheckUpgrade() != nil {
			t.Fatal("the valid request does not parse")
		}
		reused.Reset()
		if herr := reused.Parse(head); herr != nil {
			t.Fatalf("a reused Request refused what a fresh one took: %v", herr)
		}
		if herr := reused.CheckUpgrade(); herr != nil {
			t.Fatalf("a reused Request failed CheckUpgrade: %v", herr)
		}
		if reused.Method != r.Method || reused.Path != r.Path || reused.RawQuery != r.RawQuery || reused.Host != r.Host ||
			reused.Key != r.Key || !slices.Equal(reused.Protocols, r.Protocols) || !maps.EqualFunc(reused.Header, r.Header, slices.Equal) {
			t.Fatalf("reused Request %+v, fresh %+v", reused, *r)
		}
	})
}

// checkResponse parses resp with net/http and checks it is one response
// with the given status and nothing after its body.
func checkResponse(t *testing.T, resp []byte, status int) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(resp))
	req, _ := http.NewRequest("GET", "/", nil)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("unparsable response %q: %v", resp, err)
	}
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d", res.StatusCode, status)
	}
	if status != http.StatusSwitchingProtocols {
		if _, err := br.Discard(int(res.ContentLength)); err != nil {
			t.Fatalf("short body in %q: %v", resp, err)
		}
	}
	if br.Buffered() != 0 {
		t.Fatalf("%d bytes after the response %q", br.Buffered(), resp)
	}
}

// FuzzUTF8 checks UTF8Validator against unicode/utf8, whole, split at two
// points and byte by byte, including where it first fails.
func FuzzUTF8(f *testing.F) {
	for _, s := range utf8Seeds {
		f.Add([]byte(s), uint16(len(s)/3), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, p []byte, cut1, cut2 uint16) {
		checkUTF8(t, p, int(cut1), int(cut2))
	})
}

var utf8Seeds = []string{
	"", "a", "hello, world", "κόσμε", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
	"\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\x80",
	"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
	"12345678\xc3", "1234567\xc3\xa9abcdefgh", "\xc3\xa912345678abcdefgh\xe2\x82",
}

// checkUTF8 is the property behind FuzzUTF8 and TestUTF8Property.
func checkUTF8(t *testing.T, p []byte, cut1, cut2 int) {
	t.Helper()
	want := utf8.Valid(p)
	if got := ValidUTF8(p); got != want {
		t.Fatalf("ValidUTF8(%q) = %v, utf8.Valid says %v", p, got, want)
	}
	a, b := cut1%(len(p)+1), cut2%(len(p)+1)
	if a > b {
		a, b = b, a
	}
	var v UTF8Validator
	ok := v.Write(p[:a]) && v.Write(p[a:b]) && v.Write(p[b:])
	if got := ok && v.Complete(); got != want {
		t.Fatalf("split at %d,%d: %q valid = %v, want %v", a, b, p, got, want)
	}
	// Byte by byte: the first rejected byte is the first one after which no
	// continuation could make the text valid.
	if len(p) > 1024 {
		return
	}
	v.Reset()
	for i := range p {
		if !v.Write(p[i : i+1]) {
			if !validPrefix(p[:i]) || validPrefix(p[:i+1]) {
				t.Fatalf("%q rejected at byte %d", p, i)
			}
			if v.Write([]byte("a")) || v.Complete() {
				t.Fatal("validator recovered after a failure")
			}
			return
		}
	}
	if !validPrefix(p) {
		t.Fatalf("%q accepted byte by byte", p)
	}
	if v.Complete() != want {
		t.Fatalf("%q complete = %v", p, v.Complete())
	}
}

// validPrefix reports whether some continuation of at most 3 bytes makes p
// valid UTF-8. Every continuation byte range in RFC 3629 starts at one of
// these bytes, so trying them suffices.
func validPrefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	cands := []byte{0x80, 0x90, 0xa0}
	buf := append(bytes.Clone(p), 0, 0, 0)
	for _, c1 := range cands {
		buf[len(p)] = c1
		if utf8.Valid(buf[:len(p)+1]) {
			return true
		}
		for _, c2 := range cands {
			buf[len(p)+1] = c2
			if utf8.Valid(buf[:len(p)+2]) {
				return true
			}
			for _, c3 := range cands {
				buf[len(p)+2] = c3
				if utf8.Valid(buf[:len(p)+3]) {
					return true
				}
			}
		}
	}
	return false
}
