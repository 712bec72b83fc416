package wsproto

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// decodeEverySplit decodes data whole, one byte per Feed, and in random
// splits, checks that all three agree and returns the result.
func decodeEverySplit(t *testing.T, newDecoder func() *Decoder, data []byte) ([]event, error) {
	t.Helper()
	whole, n, err := decodeSplit(newDecoder(), data, nil)
	if err == nil && n > len(data) {
		t.Fatalf("consumed %d of %d bytes", n, len(data))
	}
	splits := [][]int{{1}}
	rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
	for range 3 {
		sizes := make([]int, 1+rng.IntN(8))
		for i := range sizes {
			sizes[i] = rng.IntN(40)
			if rng.IntN(4) == 0 {
				sizes[i] = rng.IntN(70000)
			}
		}
		splits = append(splits, sizes)
	}
	for _, sizes := range splits {
		got, _, gerr := decodeSplit(newDecoder(), data, sizes)
		if gerr != err {
			t.Fatalf("split %v: error %v, whole gave %v", sizes, gerr, err)
		}
		if !sameEvents(got, whole) {
			t.Fatalf("split %v: events%s\nwhole gave%s", sizes, formatEvents(got), formatEvents(whole))
		}
	}
	return whole, err
}

func serverDecoder() *Decoder { return &Decoder{} }

func msg(op OpCode, p string) event { return event{op: op, payload: []byte(p)} }
func ctl(op OpCode, p string) event { return event{control: true, op: op, payload: []byte(p)} }
func closeEvent(code StatusCode, reason string) event {
	return event{control: true, op: OpClose, payload: closePayload(code, reason)}
}

func TestDecoderFramingSizes(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 127, 65535, 65536, 2<<20 + 17} {
		for _, op := range []OpCode{OpText, OpBinary} {
			payload := bytes.Repeat([]byte("*"), size)
			var c client
			c.frame(op, true, payload)
			want := []event{{op: op, payload: payload}}
			if size < 1<<20 { // a second frame, except where MiBs a byte at a time would be slow
				c.frame(op, true, payload)
				want = append(want, want[0])
			}
			events, err := decodeEverySplit(t, serverDecoder, c.b)
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if !sameEvents(events, want) {
				t.Fatalf("size %d: got%s", size, formatEvents(events))
			}
		}
	}
}

func TestDecoderFromServer(t *testing.T) {
	stream := AppendFrame(nil, OpText, true, []byte("hi"))
	stream = AppendFrame(stream, OpBinary, true, make([]byte, 300))
	events, err := decodeEverySplit(t, func() *Decoder { return &Decoder{FromServer: true} }, stream)
	if err != nil || !sameEvents(events, []event{msg(OpText, "hi"), {op: OpBinary, payload: make([]byte, 300)}}) {
		t.Fatalf("%v%s", err, formatEvents(events))
	}
	var c client
	c.text("hi")
	if _, err := decodeEverySplit(t, func() *Decoder { return &Decoder{FromServer: true} }, c.b); err != ErrMaskedServer {
		t.Fatalf("masked server frame: %v", err)
	}
}

// decoderCases follow the Autobahn test groups: each is a client stream,
// the events before the outcome, and the error (nil for a clean stream).
var decoderCases = []struct {
	name   string
	stream func(c *client)
	want   []event
	err    *ProtocolError
}{
	// 2.x ping and pong
	{"ping empty", func(c *client) { c.frame(OpPing, true, nil) }, []event{ctl(OpPing, "")}, nil},
	{"ping 125", func(c *client) { c.frame(OpPing, true, bytes.Repeat([]byte("p"), 125)) }, []event{ctl(OpPing, strings.Repeat("p", 125))}, nil},
	{"ping 126", func(c *client) { c.frame(OpPing, true, bytes.Repeat([]byte("p"), 126)) }, nil, ErrControlTooLong},
	{"pong 125", func(c *client) { c.frame(OpPong, true, bytes.Repeat([]byte("q"), 125)) }, []event{ctl(OpPong, strings.Repeat("q", 125))}, nil},
	{"pong binary payload", func(c *client) { c.frame(OpPong, true, []byte{0, 0xff, 0xfe}) }, []event{ctl(OpPong, "\x00\xff\xfe")}, nil},
	{"close 126", func(c *client) { c.frame(OpClose, true, closePayload(1000, strings.Repeat("r", 124))) }, nil, ErrControlTooLong},
	// 3.x reserved bits
	{"RSV1", func(c *client) { c.raw(0x80|0x40|byte(OpText), []byte("a")) }, nil, ErrReservedBits},
	{"RSV2 after a message", func(c *client) { c.text("ok").raw(0x80|0x20|byte(OpText), []byte("a")) }, []event{msg(OpText, "ok")}, ErrReservedBits},
	{"RSV3 on ping", func(c *client) { c.raw(0x80|0x10|byte(OpPing), nil) }, nil, ErrReservedBits},
	{"RSV all on close", func(c *client) { c.raw(0x80|0x70|byte(OpClose), nil) }, nil, ErrReservedBits},
	// 4.x reserved opcodes
	{"opcode 3", func(c *client) { c.raw(0x83, nil) }, nil, ErrReservedOpCode},
	{"opcode 4", func(c *client) { c.raw(0x84, []byte("a")) }, nil, ErrReservedOpCode},
	{"opcode 5", func(c *client) { c.raw(0x85, nil) }, nil, ErrReservedOpCode},
	{"opcode 6", func(c *client) { c.raw(0x86, nil) }, nil, ErrReservedOpCode},
	{"opcode 7", func(c *client) { c.text("x").raw(0x87, nil) }, []event{msg(OpText, "x")}, ErrReservedOpCode},
	{"opcode 11", func(c *client) { c.raw(0x8b, nil) }, nil, ErrReservedOpCode},
	{"opcode 12", func(c *client) { c.raw(0x8c, nil) }, nil, ErrReservedOpCode},
	{"opcode 13", func(c *client) { c.raw(0x8d, nil) }, nil, ErrReservedOpCode},
	{"opcode 14", func(c *client) { c.raw(0x8e, nil) }, nil, ErrReservedOpCode},
	{"opcode 15", func(c *client) { c.raw(0x8f, []byte("abc")) }, nil, ErrReservedOpCode},
	// masking
	{"unmasked client frame", func(c *client) { c.b = AppendFrame(c.b, OpText, true, []byte("a")) }, nil, ErrUnmasked},
	{"unmasked after a message", func(c *client) { c.text("a"); c.b = AppendFrame(c.b, OpPing, true, nil) }, []event{msg(OpText, "a")}, ErrUnmasked},
	// 5.x fragmentation
	{"fragmented text", func(c *client) {
		c.frame(OpText, false, []byte("fr")).frame(OpContinuation, false, []byte("ag")).frame(OpContinuation, true, []byte("ments"))
	}, []event{msg(OpText, "fragments")}, nil},
	{"fragmented binary with empty pieces", func(c *client) {
		c.frame(OpBinary, false, nil).frame(OpContinuation, false, []byte{1}).frame(OpContinuation, false, nil).frame(OpContinuation, true, nil)
	}, []event{msg(OpBinary, "\x01")}, nil},
	{"all fragments empty", func(c *client) {
		c.frame(OpText, false, nil).frame(OpContinuation, true, nil)
	}, []event{msg(OpText, "")}, nil},
	{"ping inside a fragmented message", func(c *client) {
		c.frame(OpText, false, []byte("a")).frame(OpPing, true, []byte("p1")).frame(OpContinuation, false, []byte("b")).
			frame(OpPong, true, nil).frame(OpContinuation, true, []byte("c")).text("next")
	}, []event{ctl(OpPing, "p1"), ctl(OpPong, ""), msg(OpText, "abc"), msg(OpText, "next")}, nil},
	{"close inside a fragmented message", func(c *client) {
		c.frame(OpText, false, []byte("a")).frame(OpClose, true, closePayload(1000, "")).frame(OpContinuation, true, []byte("b"))
	}, []event{closeEvent(1000, "")}, nil},
	{"continuation without a start", func(c *client) { c.frame(OpContinuation, true, []byte("a")) }, nil, ErrUnexpectedContinue},
	{"non-final continuation without a start", func(c *client) { c.frame(OpContinuation, false, []byte("a")) }, nil, ErrUnexpectedContinue},
	{"continuation after a finished message", func(c *client) {
		c.frame(OpText, false, []byte("a")).frame(OpContinuation, true, []byte("b")).frame(OpContinuation, true, []byte("c"))
	}, []event{msg(OpText, "ab")}, ErrUnexpectedContinue},
	{"text inside a fragmented message", func(c *client) { c.frame(OpText, false, []byte("a")).frame(OpText, true, []byte("b")) }, nil, ErrExpectedContinue},
	{"binary inside a fragmented message", func(c *client) { c.frame(OpBinary, false, []byte("a")).frame(OpBinary, false, []byte("b")) }, nil, ErrExpectedContinue},
	{"fragmented ping", func(c *client) { c.frame(OpPing, false, []byte("a")).frame(OpContinuation, true, []byte("b")) }, nil, ErrControlFragmented},
	{"fragmented pong", func(c *client) { c.frame(OpPong, false, nil) }, nil, ErrControlFragmented},
	{"fragmented close", func(c *client) { c.frame(OpClose, false, closePayload(1000, "")) }, nil, ErrControlFragmented},
	// 6.x UTF-8
	{"valid multibyte text", func(c *client) { c.text("κόσμε €𝄞") }, []event{msg(OpText, "κόσμε €𝄞")}, nil},
	{"code point split across fragments", func(c *client) {
		c.frame(OpText, false, []byte("\xf0\x9d")).frame(OpPing, true, nil).frame(OpContinuation, false, []byte("\x84")).frame(OpContinuation, true, []byte("\x9e!"))
	}, []event{ctl(OpPing, ""), msg(OpText, "𝄞!")}, nil},
	{"invalid byte", func(c *client) { c.text("ab\xffcd") }, nil, ErrInvalidUTF8},
	{"surrogate", func(c *client) { c.text("\xed\xa0\x80") }, nil, ErrInvalidUTF8},
	{"overlong", func(c *client) { c.text("\xc0\xaf") }, nil, ErrInvalidUTF8},
	{"above U+10FFFF", func(c *client) { c.text("\xf4\x90\x80\x80") }, nil, ErrInvalidUTF8},
	{"truncated at the end", func(c *client) { c.text("ab\xe2\x82") }, nil, ErrInvalidUTF8},
	{"truncated at the end of a fragmented message", func(c *client) {
		c.frame(OpText, false, []byte("a")).frame(OpContinuation, true, []byte("\xe2\x82"))
	}, nil, ErrInvalidUTF8},
	{"invalid in the first fragment", func(c *client) {
		c.frame(OpText, false, []byte("a\xff")).frame(OpContinuation, true, []byte("b"))
	}, nil, ErrInvalidUTF8},
	{"invalid in a later fragment", func(c *client) {
		c.frame(OpText, false, []byte("\xce")).frame(OpContinuation, true, []byte("\xba\xc0"))
	}, nil, ErrInvalidUTF8},
	{"binary is not checked", func(c *client) { c.binary([]byte("\xff\xfe")) }, []event{msg(OpBinary, "\xff\xfe")}, nil},
	{"ping payload is not checked", func(c *client) { c.frame(OpPing, true, []byte("\xff")) }, []event{ctl(OpPing, "\xff")}, nil},
	// 7.x close
	{"close empty", func(c *client) { c.frame(OpClose, true, nil) }, []event{ctl(OpClose, "")}, nil},
	{"close 1 byte", func(c *client) { c.frame(OpClose, true, []byte{0x03}) }, nil, ErrClosePayloadTooShort},
	{"close reason", func(c *client) { c.frame(OpClose, true, closePayload(1001, "going ☃")) }, []event{closeEvent(1001, "going ☃")}, nil},
	{"close reason 123 bytes", func(c *client) { c.frame(OpClose, true, closePayload(1000, strings.Repeat("r", 123))) }, []event{closeEvent(1000, strings.Repeat("r", 123))}, nil},
	{"close invalid reason", func(c *client) {
		c.frame(OpClose, true, closePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))
	}, nil, ErrInvalidCloseUTF8},
	{"close truncated reason", func(c *client) { c.frame(OpClose, true, closePayload(1000, "\xe2\x82")) }, nil, ErrInvalidCloseUTF8},
	{"bytes after close are ignored", func(c *client) {
		c.text("a").frame(OpClose, true, closePayload(1000, "")).text("b").raw(0x83, nil)
		c.b = append(c.b, 0xff, 0xff, 0xff)
	}, []event{msg(OpText, "a"), closeEvent(1000, "")}, nil},
	// header encodings
	{"64-bit length with the top bit", func(c *client) { c.b = append(c.b, 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4) }, nil, ErrLengthOverflow},
	{"non-minimal 16-bit length", func(c *client) { c.b = append(c.b, 0x82, 0xfe, 0, 2, 0, 0, 0, 0, 'h', 'i') }, []event{msg(OpBinary, "hi")}, nil},
	{"non-minimal 64-bit length", func(c *client) { c.b = append(c.b, 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, '!') }, []event{msg(OpBinary, "!")}, nil},
}

func TestDecoderCases(t *testing.T) {
	for _, tc := range decoderCases {
		t.Run(tc.name, func(t *testing.T) {
			var c client
			tc.stream(&c)
			events, err := decodeEverySplit(t, serverDecoder, c.b)
			if tc.err == nil && err != nil || tc.err != nil && err != tc.err {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !sameEvents(events, tc.want) {
				t.Fatalf("events%s\nwant%s", formatEvents(events), formatEvents(tc.want))
			}
		})
	}
}

// Each error carries the close code the connection must be failed with.
func TestDecoderErrorCodes(t *testing.T) {
	want := map[*ProtocolError]StatusCode{
		ErrLengthOverflow: 1002, ErrReservedBits: 1002, ErrReservedOpCode: 1002, ErrUnmasked: 1002,
		ErrMaskedServer: 1002, ErrControlTooLong: 1002, ErrControlFragmented: 1002,
		ErrUnexpectedContinue: 1002, ErrExpectedContinue: 1002, ErrClosePayloadTooShort: 1002,
		ErrInvalidCloseCode: 1002, ErrInvalidUTF8: 1007, ErrInvalidCloseUTF8: 1007,
		ErrFrameTooBig: 1009, ErrMessageTooBig: 1009,
	}
	for e, code := range want {
		if e.Code != code {
			t.Errorf("%v: code %d, want %d", e, e.Code, code)
		}
		var pe *ProtocolError
		if !errors.As(error(e), &pe) || !strings.Contains(e.Error(), "close "+itoa(int(code))) {
			t.Errorf("%v: bad Error text", e)
		}
	}
	for _, tc := range decoderCases {
		if tc.err != nil && tc.err.Code != 1002 && tc.err.Code != 1007 {
			t.Errorf("%s: unexpected code %d", tc.name, tc.err.Code)
		}
	}
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestDecoderCloseCodes(t *testing.T) {
	valid := []StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	invalid := []StatusCode{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for _, code := range valid {
		var c client
		c.frame(OpClose, true, closePayload(code, "ok"))
		events, err := decodeEverySplit(t, serverDecoder, c.b)
		if err != nil || !sameEvents(events, []event{closeEvent(code, "ok")}) {
			t.Errorf("code %d: %v%s", code, err, formatEvents(events))
		}
	}
	for _, code := range invalid {
		var c client
		c.frame(OpClose, true, closePayload(code, ""))
		if _, err := decodeEverySplit(t, serverDecoder, c.b); err != ErrInvalidCloseCode {
			t.Errorf("code %d: %v, want %v", code, err, ErrInvalidCloseCode)
		}
	}
}

func TestDecoderLimits(t *testing.T) {
	limited := func() *Decoder { return &Decoder{MaxFrameSize: 100, MaxMessageSize: 250} }
	cases := []struct {
		name   string
		stream func(c *client)
		want   []event
		err    *ProtocolError
	}{
		{"frame at the limit", func(c *client) { c.binary(make([]byte, 100)) }, []event{{op: OpBinary, payload: make([]byte, 100)}}, nil},
		{"frame over the limit", func(c *client) { c.binary(make([]byte, 101)) }, nil, ErrFrameTooBig},
		{"huge declared length", func(c *client) {
			c.b = append(c.b, 0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4)
		}, nil, ErrFrameTooBig},
		{"message at the limit", func(c *client) {
			c.frame(OpBinary, false, make([]byte, 100)).frame(OpContinuation, false, make([]byte, 100)).frame(OpContinuation, true, make([]byte, 50))
		}, []event{{op: OpBinary, payload: make([]byte, 250)}}, nil},
		{"message over the limit", func(c *client) {
			c.frame(OpText, false, make([]byte, 100)).frame(OpContinuation, false, make([]byte, 100)).frame(OpContinuation, true, make([]byte, 51))
		}, nil, ErrMessageTooBig},
		{"control frames do not count", func(c *client) {
			c.frame(OpBinary, false, make([]byte, 100)).frame(OpPing, true, make([]byte, 125)).frame(OpContinuation, true, make([]byte, 100))
		}, []event{{control: true, op: OpPing, payload: make([]byte, 125)}, {op: OpBinary, payload: make([]byte, 200)}}, nil},
		{"limits are per message", func(c *client) {
			for range 5 {
				c.binary(make([]byte, 100))
			}
		}, []event{{op: OpBinary, payload: make([]byte, 100)}, {op: OpBinary, payload: make([]byte, 100)}, {op: OpBinary, payload: make([]byte, 100)}, {op: OpBinary, payload: make([]byte, 100)}, {op: OpBinary, payload: make([]byte, 100)}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c client
			tc.stream(&c)
			events, err := decodeEverySplit(t, limited, c.b)
			if tc.err == nil && err != nil || tc.err != nil && err != tc.err {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil && err.(*ProtocolError).Code != CloseTooBig {
				t.Fatalf("code %d", err.(*ProtocolError).Code)
			}
			if !sameEvents(events, tc.want) {
				t.Fatalf("events%s\nwant%s", formatEvents(events), formatEvents(tc.want))
			}
		})
	}
	// The default limits apply to a zero Decoder.
	var c client
	c.binary(make([]byte, DefaultMaxFrameSize+1))
	if _, _, err := decodeSplit(&Decoder{}, c.b[:20], nil); err != ErrFrameTooBig {
		t.Fatalf("default frame limit: %v", err)
	}
}

// Invalid UTF-8 must fail the connection when its byte arrives, not when the
// message ends, so that a peer cannot make the server buffer a bad message.
func TestDecoderUTF8FailsFast(t *testing.T) {
	cases := []struct {
		name   string
		frames func(c *client)
		bad    string // the stream fails once this byte sequence has been fed
	}{
		{"single frame", func(c *client) { c.text("hello \xff" + strings.Repeat("x", 1000)) }, "\xff"},
		{"first fragment", func(c *client) {
			c.frame(OpText, false, []byte("ab\xc0\xafcd"+strings.Repeat("x", 500))).frame(OpContinuation, true, []byte("x"))
		}, "\xc0"},
		{"later fragment", func(c *client) {
			c.frame(OpText, false, []byte("ab\xe2")).frame(OpContinuation, true, []byte("\x82\xac\xed\xa0"+strings.Repeat("x", 500)))
		}, "\xed\xa0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c client
			tc.frames(&c)
			stream := c.b
			// Find where the bad bytes sit in the masked stream by decoding
			// byte by byte and noting the offset of the failing Feed.
			d := serverDecoder()
			var rec recorder
			data := bytes.Clone(stream)
			failAt := -1
			for i := range data {
				if _, err := d.Feed(data[i:i+1], &rec); err != nil {
					if err != ErrInvalidUTF8 {
						t.Fatalf("error %v", err)
					}
					failAt = i
					break
				}
			}
			if failAt < 0 {
				t.Fatal("no error")
			}
			// data now holds the unmasked bytes fed so far.
			fed := data[:failAt+1]
			if !bytes.HasSuffix(fed, []byte(tc.bad)) {
				t.Fatalf("failed at byte %d, after %q; want right after %q", failAt, fed[max(0, len(fed)-8):], tc.bad)
			}
			if failAt > len(stream)-400 {
				t.Fatalf("failed at %d of %d bytes: too late", failAt, len(stream))
			}
		})
	}
}

func TestDecoderReuseAfterRelease(t *testing.T) {
	d := &Decoder{MaxFrameSize: 1000}
	var c client
	c.frame(OpText, false, []byte("half"))
	if _, _, err := decodeSplit(d, c.b[:len(c.b)-1], nil); err != nil {
		t.Fatal(err)
	}
	d.Release()
	if d.MaxFrameSize != 1000 {
		t.Fatal("Release dropped the limits")
	}
	c = client{}
	c.text("fresh").frame(OpClose, true, nil)
	events, _, err := decodeSplit(d, c.b, nil)
	if err != nil || !sameEvents(events, []event{msg(OpText, "fresh"), ctl(OpClose, "")}) || !d.Closed() {
		t.Fatalf("%v%s", err, formatEvents(events))
	}
	d.Release()
	if d.Closed() {
		t.Fatal("still closed after Release")
	}
}

// A Handler's error stops Feed and is returned as is.
func TestDecoderHandlerError(t *testing.T) {
	stop := errors.New("stop")
	var c client
	c.text("a").text("b")
	n, err := (&Decoder{}).Feed(c.b, handlerFunc(func(OpCode, []byte) error { return stop }))
	if err != stop || n != len(c.b)/2 {
		t.Fatalf("n %d err %v", n, err)
	}
}

type handlerFunc func(OpCode, []byte) error

func (f handlerFunc) HandleMessage(op OpCode, p []byte) error { return f(op, p) }
func (f handlerFunc) HandleControl(op OpCode, p []byte) error { return f(op, p) }

// A frame whose header ends one Feed and whose payload arrives whole in the
// next is handed over in place, like a frame that arrives whole at once:
// reads often end right after a header.
func TestDecoderPayloadAfterHeaderNotCopied(t *testing.T) {
	var c client
	c.binary(bytes.Repeat([]byte("z"), 300))
	hdr := HeaderSize(300, true)
	d := &Decoder{}
	var got []byte
	h := handlerFunc(func(op OpCode, p []byte) error { got = p; return nil })
	if n, err := d.Feed(c.b[:hdr], h); n != hdr || err != nil {
		t.Fatalf("header: n %d err %v", n, err)
	}
	payload := c.b[hdr:]
	if n, err := d.Feed(payload, h); n != len(payload) || err != nil {
		t.Fatalf("payload: n %d err %v", n, err)
	}
	if len(got) != 300 || &got[0] != &payload[0] {
		t.Fatal("payload was copied instead of handed over in place")
	}
}

// After a protocol violation the stream is dead: a caller that feeds more
// bytes gets the same error again, and nothing more is decoded.
func TestDecoderErrorIsSticky(t *testing.T) {
	var bad client
	bad.text("ab\xff")
	var good client
	good.text("fine").frame(OpPing, true, nil)
	d := &Decoder{}
	var rec recorder
	if _, err := d.Feed(bytes.Clone(bad.b), &rec); err != ErrInvalidUTF8 {
		t.Fatalf("first error %v", err)
	}
	n, err := d.Feed(bytes.Clone(good.b), &rec)
	if err != ErrInvalidUTF8 || n != 0 || len(rec.events) != 0 {
		t.Fatalf("after the error: n %d err %v events%s", n, err, formatEvents(rec.events))
	}
	d.Release()
	if _, err := d.Feed(bytes.Clone(good.b), &rec); err != nil || len(rec.events) != 2 {
		t.Fatalf("after Release: %v%s", err, formatEvents(rec.events))
	}
	// A Handler's own error does not kill the stream: the frame was done.
	stop := errors.New("stop")
	d = &Decoder{}
	fail := true
	h := handlerFunc(func(OpCode, []byte) error {
		if fail {
			fail = false
			return stop
		}
		return nil
	})
	stream := bytes.Clone(good.b)
	n, err = d.Feed(stream, h)
	if err != stop {
		t.Fatalf("handler error %v", err)
	}
	if _, err := d.Feed(stream[n:], h); err != nil {
		t.Fatalf("after a handler error: %v", err)
	}
}

// Pending follows a frame's payload as it arrives: nothing before the
// header is whole, the rest of the payload after it, nothing between
// frames or after a close.
func TestDecoderPending(t *testing.T) {
	var c client
	c.binary(bytes.Repeat([]byte("p"), 1000))
	c.frame(OpClose, true, closePayload(CloseNormal, ""))
	c.binary([]byte("after close"))
	hdr := HeaderSize(1000, true)
	d := &Decoder{}
	h := handlerFunc(func(OpCode, []byte) error { return nil })
	steps := []struct {
		feed int   // bytes fed in this step
		want int64 // Pending afterwards
	}{
		{0, 0},
		{hdr - 1, 0},  // header incomplete
		{1, 1000},     // header whole, no payload yet
		{400, 600},    // part of the payload
		{600, 0},      // frame done
		{len(c.b), 0}, // the close frame, and bytes after it
	}
	off := 0
	for i, s := range steps {
		end := min(off+s.feed, len(c.b))
		if _, err := d.Feed(c.b[off:end], h); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		off = end
		if got := d.Pending(); got != s.want {
			t.Fatalf("step %d: Pending %d, want %d", i, got, s.want)
		}
	}
}

// TestDecoderIdle: a decoder is idle between frames and messages only, and
// an idle one decodes on as a fresh one would.
func TestDecoderIdle(t *testing.T) {
	var d Decoder
	var got []string
	h := handlerFunc(func(op OpCode, p []byte) error {
		if !op.IsControl() {
			got = append(got, string(p))
		}
		return nil
	})
	if !d.Idle() {
		t.Fatal("zero Decoder not idle")
	}
	frame := func(op OpCode, fin bool, p string) []byte { return (&client{}).frame(op, fin, []byte(p)).b }
	whole := frame(OpText, true, "hello")
	steps := []struct {
		feed []byte
		idle bool
	}{
		{whole[:1], false},                          // half a header
		{whole[1:4], false},                         // header done, payload pending
		{whole[4:], true},                           // message delivered
		{frame(OpText, false, "frag"), false},       // a fragmented message begun
		{frame(OpContinuation, true, "ment"), true}, // and finished
		{frame(OpClose, true, "\x03\xe8"), false},   // the stream ended
	}
	for i, s := range steps {
		if _, err := d.Feed(s.feed, h); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Idle() != s.idle {
			t.Fatalf("step %d: Idle() = %v, want %v", i, d.Idle(), s.idle)
		}
	}
	if len(got) != 2 || got[0] != "hello" || got[1] != "fragment" {
		t.Fatalf("messages %q", got)
	}
}
