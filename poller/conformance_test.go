package poller

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// The conformance suite: the case groups of the public Autobahn testsuite,
// spoken in raw bytes to an echo server running in-process.

// wsCase sends frames (built by hand) and expects frames back in order.
type wsCase struct {
	name  string
	send  [][]byte // concatenated and written in one go, or in chunks
	chunk int      // bytes per write; 0 writes everything at once
	want  []frame  // frames the server must send first, in order
	// closeWith is the close code the server must send next, after which
	// it must close TCP. Zero means the server keeps the connection open
	// and the case ends with a clean closing handshake from the client.
	closeWith wsproto.StatusCode
}

// Frame builders for the tables.
func txt(fin bool, s string) []byte  { return clientFrame(fin, 0, wsproto.OpText, []byte(s)) }
func bin(fin bool, p []byte) []byte  { return clientFrame(fin, 0, wsproto.OpBinary, p) }
func cont(fin bool, s string) []byte { return clientFrame(fin, 0, wsproto.OpContinuation, []byte(s)) }
func ping(p []byte) []byte           { return clientFrame(true, 0, wsproto.OpPing, p) }
func pong(p []byte) []byte           { return clientFrame(true, 0, wsproto.OpPong, p) }
func closeFrame(p []byte) []byte     { return clientFrame(true, 0, wsproto.OpClose, p) }

// Expected server frames.
func wantText(s string) frame     { return frame{fin: true, op: wsproto.OpText, payload: []byte(s)} }
func wantBin(p []byte) frame      { return frame{fin: true, op: wsproto.OpBinary, payload: p} }
func wantPong(p []byte) frame     { return frame{fin: true, op: wsproto.OpPong, payload: p} }
func frames(b ...[]byte) [][]byte { return b }

// pattern returns n bytes of a repeating, recognisable sequence.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

func binaryPattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

func runCase(t *testing.T, s *Server, tc wsCase) {
	t.Helper()
	c := dialWS(t, s)
	out := bytes.Join(tc.send, nil)
	if tc.chunk > 0 {
		c.writeChunks(out, tc.chunk)
	} else {
		c.write(out)
	}
	for _, w := range tc.want {
		c.expectMessage(w.op, w.payload)
	}
	if tc.closeWith != 0 {
		c.expectClose(tc.closeWith)
		c.expectEOF()
	} else {
		c.write(closeFrame(closePayload(1000, "done")))
		c.expectClose(1000)
		c.expectEOF()
	}
	// Whatever the case did, the server still serves others.
	checkEcho(t, s)
}

func runCases(t *testing.T, s *Server, cases []wsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, s, tc) })
	}
}

// TestFraming is Autobahn group 1: text and binary messages of the sizes at
// the length encoding boundaries, written whole and a few bytes at a time.
func TestFraming(t *testing.T) {
	s := startServer(t, Options{})
	var cases []wsCase
	for _, n := range []int{0, 125, 126, 127, 65535, 65536} {
		chunk := 1
		if n > 127 {
			chunk = 7 // a byte at a time would take minutes; 7 straddles the mask
		}
		for _, op := range []wsproto.OpCode{wsproto.OpText, wsproto.OpBinary} {
			p := pattern(n)
			if op == wsproto.OpBinary {
				p = binaryPattern(n)
			}
			f := clientFrame(true, 0, op, p)
			w := []frame{{fin: true, op: op, payload: p}}
			cases = append(cases,
				wsCase{name: fmt.Sprintf("op%d/%d/whole", op, n), send: frames(f), want: w},
				wsCase{name: fmt.Sprintf("op%d/%d/chunks-of-%d", op, n, chunk), send: frames(f), chunk: chunk, want: w},
			)
		}
	}
	// Several messages in one write, each of a different length encoding.
	cases = append(cases, wsCase{
		name: "pipelined-mixed-sizes",
		send: frames(txt(true, "a"), bin(true, binaryPattern(300)), txt(true, string(pattern(70000)))),
		want: []frame{wantText("a"), wantBin(binaryPattern(300)), wantText(string(pattern(70000)))},
	})
	runCases(t, s, cases)
}

// TestFramingLarge sends multi-MiB messages to a server with raised message
// limits and the default OutboundBudget (4 MiB): one message larger than
// the budget must still be echoed when nothing else is queued (Autobahn
// 9.1.4-9.4.9 once failed here with 1008).
func TestFramingLarge(t *testing.T) {
	s := startServer(t, Options{MaxFrameSize: 9 << 20, MaxMessageSize: 9 << 20})
	const n = 8 << 20
	p := binaryPattern(n)
	f := clientFrame(true, 0, wsproto.OpBinary, p)
	runCases(t, s, []wsCase{
		{name: "8MiB/whole", send: frames(f), want: []frame{wantBin(p)}},
		{name: "8MiB/chunks", send: frames(f), chunk: 4099, want: []frame{wantBin(p)}},
		{name: "8MiB/fragmented", send: frames(
			clientFrame(false, 0, wsproto.OpBinary, p[:n/4]),
			clientFrame(false, 0, wsproto.OpContinuation, p[n/4:n/2]),
			clientFrame(true, 0, wsproto.OpContinuation, p[n/2:]),
		), chunk: 65537, want: []frame{wantBin(p)}},
	})
}

// TestPingPong is Autobahn group 2.
func TestPingPong(t *testing.T) {
	s := startServer(t, Options{})
	p125 := binaryPattern(125)
	var tenPings [][]byte
	var tenPongs []frame
	for i := range 10 {
		p := []byte(fmt.Sprintf("ping %d", i))
		tenPings = append(tenPings, ping(p))
		tenPongs = append(tenPongs, wantPong(p))
	}
	runCases(t, s, []wsCase{
		{name: "empty", send: frames(ping(nil)), want: []frame{wantPong([]byte{})}},
		{name: "text-payload", send: frames(ping([]byte("Hello, world!"))), want: []frame{wantPong([]byte("Hello, world!"))}},
		{name: "125-bytes", send: frames(ping(p125)), want: []frame{wantPong(p125)}},
		{name: "125-bytes-bytewise", send: frames(ping(p125)), chunk: 1, want: []frame{wantPong(p125)}},
		{name: "126-bytes", send: frames(ping(pattern(126))), closeWith: 1002},
		{name: "unsolicited-pong-ignored", send: frames(pong(nil), txt(true, "after pong")), want: []frame{wantText("after pong")}},
		{name: "unsolicited-pong-payload-then-ping", send: frames(pong([]byte("unsolicited")), ping([]byte("solicited"))),
			want: []frame{wantPong([]byte("solicited"))}},
		{name: "ten-pings", send: tenPings, want: tenPongs},
		{name: "ten-pings-bytewise", send: tenPings, chunk: 1, want: tenPongs},
	})
}

// TestReservedBits is Autobahn group 3: any RSV bit without an extension
// fails the connection, after what came before it was answered.
func TestReservedBits(t *testing.T) {
	s := startServer(t, Options{})
	var cases []wsCase
	for rsv := byte(1); rsv <= 7; rsv++ {
		cases = append(cases, wsCase{
			name:      fmt.Sprintf("rsv%d-text", rsv),
			send:      frames(txt(true, "before"), clientFrame(true, rsv, wsproto.OpText, []byte("bad")), ping([]byte("after"))),
			want:      []frame{wantText("before")},
			closeWith: 1002,
		})
	}
	cases = append(cases,
		wsCase{name: "rsv-binary", send: frames(clientFrame(true, 4, wsproto.OpBinary, []byte{1, 2})), closeWith: 1002},
		wsCase{name: "rsv-ping", send: frames(clientFrame(true, 6, wsproto.OpPing, []byte("x"))), closeWith: 1002},
		wsCase{name: "rsv-close", send: frames(clientFrame(true, 7, wsproto.OpClose, closePayload(1000, ""))), closeWith: 1002},
		wsCase{name: "rsv-bytewise", send: frames(txt(true, "before"), clientFrame(true, 1, wsproto.OpText, []byte("bad"))),
			chunk: 1, want: []frame{wantText("before")}, closeWith: 1002},
	)
	runCases(t, s, cases)
}

// TestReservedOpcodes is Autobahn group 4.
func TestReservedOpcodes(t *testing.T) {
	s := startServer(t, Options{})
	var cases []wsCase
	for _, op := range []wsproto.OpCode{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		cases = append(cases,
			wsCase{name: fmt.Sprintf("op%d", op), send: frames(clientFrame(true, 0, op, nil)), closeWith: 1002},
			wsCase{
				name:      fmt.Sprintf("op%d-after-text", op),
				send:      frames(txt(true, "before"), clientFrame(true, 0, op, []byte("payload")), ping([]byte("after"))),
				want:      []frame{wantText("before")},
				closeWith: 1002,
			})
	}
	runCases(t, s, cases)
}

// TestFragmentation is Autobahn group 5.
func TestFragmentation(t *testing.T) {
	s := startServer(t, Options{})
	fragmented := frames(txt(false, "frag"), cont(false, "men"), cont(true, "ted"))
	runCases(t, s, []wsCase{
		{name: "ping-fragmented", send: frames(clientFrame(false, 0, wsproto.OpPing, []byte("a")), cont(true, "b")), closeWith: 1002},
		{name: "pong-fragmented", send: frames(clientFrame(false, 0, wsproto.OpPong, []byte("a")), cont(true, "b")), closeWith: 1002},
		{name: "close-fragmented", send: frames(clientFrame(false, 0, wsproto.OpClose, closePayload(1000, ""))), closeWith: 1002},
		{name: "text-3-fragments", send: fragmented, want: []frame{wantText("fragmented")}},
		{name: "text-3-fragments-bytewise", send: fragmented, chunk: 1, want: []frame{wantText("fragmented")}},
		{name: "binary-fragments", send: frames(bin(false, []byte{1, 2}), clientFrame(true, 0, wsproto.OpContinuation, []byte{3})),
			want: []frame{wantBin([]byte{1, 2, 3})}},
		{name: "empty-fragments", send: frames(txt(false, ""), cont(false, ""), cont(true, "")), want: []frame{wantText("")}},
		{name: "ping-between-fragments", send: frames(txt(false, "frag"), ping([]byte("p1")), cont(false, "men"), ping([]byte("p2")), cont(true, "ted")),
			want: []frame{wantPong([]byte("p1")), wantPong([]byte("p2")), wantText("fragmented")}},
		{name: "ping-between-fragments-bytewise", send: frames(txt(false, "frag"), ping([]byte("p1")), cont(true, "mented")), chunk: 1,
			want: []frame{wantPong([]byte("p1")), wantText("fragmented")}},
		{name: "pong-between-fragments", send: frames(txt(false, "frag"), pong([]byte("x")), cont(true, "mented")), want: []frame{wantText("fragmented")}},
		{name: "continuation-without-start", send: frames(cont(true, "orphan")), closeWith: 1002},
		{name: "continuation-without-start-nonfinal", send: frames(cont(false, "orphan"), cont(true, "x")), closeWith: 1002},
		{name: "continuation-after-complete-message", send: frames(txt(false, "a"), cont(true, "b"), cont(false, "c"), txt(true, "d")),
			want: []frame{wantText("ab")}, closeWith: 1002},
		{name: "text-while-fragmented", send: frames(txt(false, "first"), txt(true, "second")), closeWith: 1002},
		{name: "binary-while-fragmented", send: frames(txt(false, "first"), bin(false, []byte{1})), closeWith: 1002},
	})
}

// UTF-8 test strings of Autobahn group 6 (after Markus Kuhn's test file).
var (
	validUTF8 = []string{
		"",
		"Hello-µ@ßöäüàá-UTF-8!!",
		"κόσμε",
		"\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff", // boundaries
		"\ufeff\ufffe",                 // noncharacters are valid UTF-8
		"\xed\x9f\xbf", "\xee\x80\x80", // around the surrogates
	}
	invalidUTF8 = []string{
		"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", // surrogate
		"\xc0\xaf",         // overlong '/'
		"\xe0\x80\xaf",     // overlong
		"\xf0\x80\x80\xaf", // overlong
		"\xf4\x90\x80\x80", // above U+10FFFF
		"\xed\xbf\xbf",     // low surrogate
		"\xff", "\xfe", "\x80", "\xbf",
		"\xce",     // ends in the middle of a code point
		"κόσμ\xce", // same, after valid text
		"\xc2\x41",
	}
)

// TestUTF8 is Autobahn group 6.
func TestUTF8(t *testing.T) {
	s := startServer(t, Options{})
	var cases []wsCase
	for i, v := range validUTF8 {
		cases = append(cases,
			wsCase{name: fmt.Sprintf("valid-%d", i), send: frames(txt(true, v)), want: []frame{wantText(v)}},
			wsCase{name: fmt.Sprintf("valid-%d-bytewise", i), send: frames(txt(true, v)), chunk: 1, want: []frame{wantText(v)}},
			wsCase{name: fmt.Sprintf("valid-%d-fragment-per-byte", i), send: fragmentPerByte(v), want: []frame{wantText(v)}},
		)
	}
	for i, v := range invalidUTF8 {
		cases = append(cases,
			wsCase{name: fmt.Sprintf("invalid-%d", i), send: frames(txt(true, v)), closeWith: 1007},
			wsCase{name: fmt.Sprintf("invalid-%d-bytewise", i), send: frames(txt(true, v)), chunk: 1, closeWith: 1007},
			wsCase{name: fmt.Sprintf("invalid-%d-fragment-per-byte", i), send: fragmentPerByte(v), closeWith: 1007},
		)
	}
	// Fail fast: the server answers the first invalid byte without waiting
	// for the rest of the message, which is never sent.
	cases = append(cases,
		wsCase{name: "fail-fast-first-fragment", send: frames(txt(false, "ok \xc0\xaf then more")), closeWith: 1007},
		wsCase{name: "fail-fast-middle-fragment", send: frames(txt(false, "κό"), cont(false, "σμ\xed\xa0\x80")), closeWith: 1007},
		wsCase{name: "fail-fast-inside-frame", send: frames(partialText(1000, "abc\xffdef")), closeWith: 1007},
		wsCase{name: "fail-fast-inside-frame-bytewise", send: frames(partialText(1000, "abc\xffdef")), chunk: 1, closeWith: 1007},
		wsCase{name: "split-code-point-across-fragments", send: frames(txt(false, "\xce"), cont(true, "\xba")), want: []frame{wantText("κ")}},
		wsCase{name: "truncated-at-last-fragment", send: frames(txt(false, "κ"), cont(true, "\xce")), closeWith: 1007},
		wsCase{name: "binary-is-not-checked", send: frames(bin(true, []byte("\xff\xc0"))), want: []frame{wantBin([]byte("\xff\xc0"))}},
	)
	runCases(t, s, cases)
}

// fragmentPerByte splits text into one fragment per byte.
func fragmentPerByte(s string) [][]byte {
	if len(s) <= 1 {
		return frames(txt(true, s))
	}
	out := frames(txt(false, s[:1]))
	for i := 1; i < len(s); i++ {
		out = append(out, cont(i == len(s)-1, s[i:i+1]))
	}
	return out
}

// partialText is the start of a text frame announcing n payload bytes of
// which only prefix is sent.
func partialText(n int, prefix string) []byte {
	whole := clientFrame(true, 0, wsproto.OpText, append([]byte(prefix), pattern(n-len(prefix))...))
	return whole[:len(whole)-(n-len(prefix))]
}

// TestClose is Autobahn group 7.
func TestClose(t *testing.T) {
	s := startServer(t, Options{})
	cases := []wsCase{
		{name: "empty-payload", send: frames(closeFrame(nil)), closeWith: wsproto.CloseNoStatus},
		{name: "one-byte-payload", send: frames(closeFrame([]byte{0x03})), closeWith: 1002},
		{name: "reason", send: frames(closeFrame(closePayload(1000, "Hello World!"))), closeWith: 1000},
		{name: "max-reason", send: frames(closeFrame(closePayload(1000, strings.Repeat("*", 123)))), closeWith: 1000},
		{name: "too-long-payload", send: frames(closeFrame(closePayload(1000, strings.Repeat("*", 124)))), closeWith: 1002},
		{name: "reason-invalid-utf8", send: frames(closeFrame(closePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))), closeWith: 1007},
		{name: "data-after-close", send: frames(closeFrame(closePayload(1000, "")), txt(true, "ignored"), ping([]byte("ignored"))), closeWith: 1000},
		{name: "close-twice", send: frames(closeFrame(closePayload(1000, "")), closeFrame(closePayload(1001, ""))), closeWith: 1000},
		{name: "message-then-close", send: frames(txt(true, "hi"), closeFrame(closePayload(1000, ""))), want: []frame{wantText("hi")}, closeWith: 1000},
		{name: "close-inside-fragmented-message", send: frames(txt(false, "frag"), closeFrame(closePayload(1000, "")), cont(true, "ment")), closeWith: 1000},
		{name: "bytewise", send: frames(closeFrame(closePayload(3000, "bye"))), chunk: 1, closeWith: 3000},
	}
	for _, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cases = append(cases, wsCase{name: fmt.Sprintf("valid-code-%d", code), send: frames(closeFrame(closePayload(code, "reason"))), closeWith: wsproto.StatusCode(code)})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, wsCase{name: fmt.Sprintf("invalid-code-%d", code), send: frames(closeFrame(closePayload(code, ""))), closeWith: 1002})
	}
	runCases(t, s, cases)
}

// TestLimits is Autobahn group 9 turned around: the server's limits, and
// the masking rule.
func TestLimits(t *testing.T) {
	s := startServer(t, Options{MaxFrameSize: 1024, MaxMessageSize: 4096})
	header1025 := clientFrame(true, 0, wsproto.OpBinary, make([]byte, 1025))[:8] // 2+2 length+4 mask
	runCases(t, s, []wsCase{
		{name: "frame-at-limit", send: frames(bin(true, binaryPattern(1024))), want: []frame{wantBin(binaryPattern(1024))}},
		{name: "frame-over-limit", send: frames(bin(true, binaryPattern(1025))), closeWith: 1009},
		{name: "frame-over-limit-header-only", send: frames(header1025), closeWith: 1009},
		{name: "frame-64bit-length", send: frames([]byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}), closeWith: 1009},
		{name: "frame-length-top-bit", send: frames([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), closeWith: 1002},
		{name: "message-at-limit", send: frames(bin(false, binaryPattern(1024)), clientFrame(false, 0, wsproto.OpContinuation, binaryPattern(1024)),
			clientFrame(false, 0, wsproto.OpContinuation, binaryPattern(1024)), clientFrame(true, 0, wsproto.OpContinuation, binaryPattern(1024))),
			want: []frame{wantBin(bytes.Repeat(binaryPattern(1024), 4))}},
		{name: "message-over-limit", send: frames(bin(false, binaryPattern(1024)), clientFrame(false, 0, wsproto.OpContinuation, binaryPattern(1024)),
			clientFrame(false, 0, wsproto.OpContinuation, binaryPattern(1024)), clientFrame(false, 0, wsproto.OpContinuation, binaryPattern(1024)),
			clientFrame(true, 0, wsproto.OpContinuation, []byte{1})), closeWith: 1009},
		{name: "unmasked-text", send: frames(rawFrameBytes(true, 0, wsproto.OpText, []byte("hi"), false)), closeWith: 1002},
		{name: "unmasked-ping", send: frames(rawFrameBytes(true, 0, wsproto.OpPing, nil, false)), closeWith: 1002},
		{name: "unmasked-after-valid", send: frames(txt(true, "ok"), rawFrameBytes(true, 0, wsproto.OpBinary, []byte{1}, false)),
			want: []frame{wantText("ok")}, closeWith: 1002},
	})
}
