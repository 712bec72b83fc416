package wsproto

import (
	"bytes"
	"testing"
)

// FuzzInflate inflates arbitrary bytes under a small limit, as a message
// with RSV1 is: no panic, nothing handed over past the limit or a refused
// reservation, only the documented errors, and the same answer every time
// (the decoder's second pass relies on it).
func FuzzInflate(f *testing.F) {
	f.Add(AppendDeflate(nil, []byte("hello hello hello hello"), 1), uint16(100))
	f.Add(AppendDeflate(nil, jsonish(2000), 9), uint16(1999))
	f.Add(AppendDeflate(nil, jsonish(2000), 1), uint16(2000))
	f.Add(bomb(1<<16), uint16(1000))
	f.Add([]byte{0x00}, uint16(10))
	f.Add([]byte{0x01, 0x00, 0x00, 0xff, 0xff}, uint16(10))
	f.Add([]byte{0xff, 0xff}, uint16(10))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, p []byte, limit16 uint16) {
		limit := int64(limit16)
		var budget int64 = 3000
		inflate := func() ([]byte, error) {
			var out []byte
			err := Inflate(p, limit, func(n int64) error {
				if n > limit {
					t.Fatalf("reserved %d bytes over the %d limit", n, limit)
				}
				if n > budget {
					return ErrInboundBudget
				}
				return nil
			}, func(msg []byte) error {
				if int64(len(msg)) > limit || int64(len(msg)) > budget {
					t.Fatalf("handed over %d bytes, limit %d", len(msg), limit)
				}
				out = bytes.Clone(msg)
				return nil
			})
			return out, err
		}
		out, err := inflate()
		switch err {
		case nil, ErrMessageTooBig, ErrInvalidDeflate, ErrInboundBudget:
		default:
			t.Fatalf("unexpected error %v", err)
		}
		again, err2 := inflate()
		if err2 != err || !bytes.Equal(out, again) {
			t.Fatalf("a second inflate differs: %v then %v", err, err2)
		}
		if err == nil {
			// What inflated compresses and inflates back.
			if back, err := inflateAll(AppendDeflate(nil, out, 1), limit); err != nil || !bytes.Equal(back, out) {
				t.Fatalf("round trip of the output: %v", err)
			}
		}
	})
}

// FuzzNegotiateDeflate walks arbitrary extension headers: no panic, and an
// accepted offer's response is itself a valid offer with the same window.
func FuzzNegotiateDeflate(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
		`permessage-deflate; server_max_window_bits="1\2", foo`,
		"foo;a=b, permessage-deflate; mux, permessage-deflate",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		`a;x="`,
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		ForEachExtension([]string{v1, v2}, func(e *Extension) bool {
			if e.Name == "" || !isToken(e.Name) {
				t.Fatalf("extension name %q", e.Name)
			}
			for _, p := range e.Params() {
				if !isToken(p.Name) || p.HasValue != (p.Value != "") || p.HasValue && !isToken(p.Value) {
					t.Fatalf("parameter %+v", p)
				}
			}
			return true
		})
		o, ok := NegotiateDeflate([]string{v1, v2})
		if !ok {
			return
		}
		if b := o.WindowBits(); b < 8 || b > MaxWindowBits {
			t.Fatalf("window bits %d", b)
		}
		back, ok := NegotiateDeflate([]string{DeflateResponse(o)})
		if !ok || back.WindowBits() != o.WindowBits() || !back.ServerNoContextTakeover || !back.ClientNoContextTakeover {
			t.Fatalf("response %q reads as %+v, %v", DeflateResponse(o), back, ok)
		}
	})
}
