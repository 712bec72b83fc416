package wsproto

import (
	"bytes"
	"compress/flate"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// jsonish is a message like the ones a gateway carries.
func jsonish(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString(`{"type":"chat","room":"lobby","from":"user-`)
		b.WriteByte(byte('0' + i%10))
		b.WriteString(`","text":"hello there, how is everyone doing today?"},`)
	}
	return b.Bytes()[:n]
}

// inflateAll is Inflate into a copy.
func inflateAll(p []byte, limit int64) ([]byte, error) {
	var out []byte
	err := Inflate(p, limit, nil, func(msg []byte) error {
		out = bytes.Clone(msg)
		return nil
	})
	return out, err
}

func TestDeflateRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 100, 1000, inflateScratch - 1, inflateScratch, inflateScratch + 1, 300 << 10} {
		for _, level := range []int{0, 1, 6, 9} {
			msg := jsonish(size)
			z := AppendDeflate(nil, msg, level)
			if bytes.HasSuffix(z, syncTail[:]) && size > 0 {
				t.Errorf("size %d level %d: the sync tail was not stripped", size, level)
			}
			if size >= 1000 && len(z) > size/3 {
				t.Errorf("size %d level %d: compressed to %d bytes", size, level, len(z))
			}
			got, err := inflateAll(z, 1<<20)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("size %d level %d: round trip gave %d bytes, %v", size, level, len(got), err)
			}
		}
	}
}

func TestAppendDeflatedFrame(t *testing.T) {
	msg := jsonish(1024)
	f := AppendDeflatedFrame([]byte("prefix"), OpText, msg, DefaultCompressionLevel)
	if !bytes.HasPrefix(f, []byte("prefix")) {
		t.Fatal("dst was overwritten")
	}
	h, n, err := ParseHeader(f[len("prefix"):])
	if err != nil || n == 0 {
		t.Fatalf("header: %v", err)
	}
	if !h.Fin || h.Rsv != rsv1 || h.OpCode != OpText || h.Masked {
		t.Fatalf("header %+v", h)
	}
	payload := f[len("prefix")+n:]
	if int64(len(payload)) != h.Length {
		t.Fatalf("length %d, payload %d", h.Length, len(payload))
	}
	if got, err := inflateAll(payload, 1<<20); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("inflated %d bytes, %v", len(got), err)
	}
}

func TestInflateLimits(t *testing.T) {
	msg := jsonish(100 << 10)
	z := AppendDeflate(nil, msg, 1)
	if _, err := inflateAll(z, int64(len(msg))); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, err := inflateAll(z, int64(len(msg))-1); err != ErrMessageTooBig {
		t.Errorf("a byte over the limit: %v", err)
	}
	small := AppendDeflate(nil, msg[:100], 1)
	if _, err := inflateAll(small, 99); err != ErrMessageTooBig {
		t.Errorf("a byte over a small limit: %v", err)
	}
	if got, err := inflateAll(small, 100); err != nil || !bytes.Equal(got, msg[:100]) {
		t.Errorf("at a small limit: %v", err)
	}
	var reserved int64
	err := Inflate(z, 1<<20, func(n int64) error { reserved = n; return ErrInboundBudget }, func([]byte) error {
		t.Error("handed over past a refused reservation")
		return nil
	})
	if err != ErrInboundBudget || reserved != int64(len(msg)) {
		t.Errorf("reserve: %v, %d bytes asked", err, reserved)
	}
}

func TestInflateInvalid(t *testing.T) {
	for _, p := range [][]byte{
		{0xff, 0xff, 0xff}, // a reserved block type
		{0x07},             // a reserved block type, BFINAL set
		AppendDeflate(nil, jsonish(5000), 1)[:100], // truncated
	} {
		if _, err := inflateAll(p, 1<<20); err != ErrInvalidDeflate {
			t.Errorf("% x: %v, want ErrInvalidDeflate", p[:min(len(p), 8)], err)
		}
	}
}

// bomb is a few kilobytes that inflate to size bytes.
func bomb(size int) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(make([]byte, size))
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), syncTail[:])
}

// TestInflateBomb: a message of a few kilobytes that inflates to 64 MiB
// fails with ErrMessageTooBig.
func TestInflateBomb(t *testing.T) {
	z := bomb(64 << 20)
	if len(z) > 100<<10 {
		t.Fatalf("the bomb is %d bytes", len(z))
	}
	if _, err := inflateAll(z, 1<<20); err != ErrMessageTooBig {
		t.Fatalf("bomb: %v", err)
	}
}

// TestInflateBombAllocs: the bomb allocates almost nothing on the way:
// neither the limit's worth of bytes nor more.
func TestInflateBombAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	z := bomb(64 << 20)
	const limit = 1 << 20
	inflateAll(z, limit) // warm the pool
	// A collection empties the pool, and a fresh inflater (its 64 KiB
	// scratch and flate's window) would be counted against the bomb:
	// keep the collector off while measuring, so only the bomb counts.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		if _, err := inflateAll(z, limit); err != ErrMessageTooBig {
			t.Fatalf("bomb: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 5; per > 16<<10 {
		t.Errorf("a bomb allocates %d bytes, want far under the %d-byte limit", per, limit)
	} else {
		t.Logf("a %d-byte bomb of 64 MiB allocates %d bytes", len(z), per)
	}
}

// deflatedClient builds compressed messages as a client sends them.
func (c *client) deflated(op OpCode, msg []byte, fragments int) *client {
	z := AppendDeflate(nil, msg, 1)
	size := max(1, (len(z)+fragments-1)/fragments)
	first := true
	for len(z) > 0 || first {
		n := min(size, len(z))
		b0 := byte(OpContinuation)
		if first {
			b0 = byte(op) | 0x40
		}
		if n == len(z) {
			b0 |= 0x80
		}
		c.raw(b0, z[:n])
		c.mask = [4]byte{c.mask[1] + 0x37, c.mask[2] + 0x11, c.mask[3] + 0x5d, c.mask[0] + 0xa3}
		z, first = z[n:], false
	}
	return c
}

func TestDecoderCompressed(t *testing.T) {
	msg := jsonish(3000)
	for _, fragments := range []int{1, 3} {
		for _, sizes := range [][]int{nil, {1}, {7, 100}} {
			var c client
			c.deflated(OpText, msg, fragments).text("plain").deflated(OpBinary, msg[:10], 1)
			d := Decoder{Compression: true, Budget: NewBudget(1 << 20)}
			events, _, err := decodeSplit(&d, c.b, sizes)
			want := []event{{op: OpText, payload: msg}, {op: OpText, payload: []byte("plain")}, {op: OpBinary, payload: msg[:10]}}
			if err != nil || !sameEvents(events, want) {
				t.Errorf("fragments %d sizes %v: %v%s", fragments, sizes, err, formatEvents(events))
			}
			if used := d.Budget.Used(); used != 0 {
				t.Errorf("fragments %d sizes %v: %d bytes of the budget kept", fragments, sizes, used)
			}
		}
	}
}

func TestDecoderCompressedRules(t *testing.T) {
	bad := jsonish(100)
	bad[50] = 0xff // not UTF-8
	for _, tc := range []struct {
		name        string
		compression bool
		build       func(c *client)
		want        error
	}{
		{"RSV1 without the extension", false, func(c *client) { c.deflated(OpText, []byte("hi"), 1) }, ErrReservedBits},
		{"RSV1 on a ping", true, func(c *client) { c.raw(0x80|0x40|byte(OpPing), nil) }, ErrCompressedFrame},
		{"RSV1 on a close", true, func(c *client) { c.raw(0x80|0x40|byte(OpClose), closePayload(1000, "")) }, ErrCompressedFrame},
		{"RSV1 on a continuation", true, func(c *client) {
			c.frame(OpText, false, []byte("a")).raw(0x80|0x40|byte(OpContinuation), []byte("b"))
		}, ErrCompressedFrame},
		{"RSV2", true, func(c *client) { c.raw(0x80|0x20|byte(OpText), []byte("a")) }, ErrReservedBits},
		{"RSV1 and RSV3", true, func(c *client) { c.raw(0x80|0x50|byte(OpText), []byte("a")) }, ErrReservedBits},
		{"invalid UTF-8 once inflated", true, func(c *client) { c.deflated(OpText, bad, 2) }, ErrInvalidUTF8},
		{"invalid DEFLATE", true, func(c *client) { c.raw(0x80|0x40|byte(OpBinary), []byte{0xff, 0xff}) }, ErrInvalidDeflate},
		{"a bomb", true, func(c *client) {
			z := bomb(8 << 20)
			c.raw(0x80|0x40|byte(OpBinary), z)
		}, ErrMessageTooBig},
	} {
		var c client
		tc.build(&c)
		d := Decoder{Compression: tc.compression, MaxMessageSize: 1 << 20}
		_, _, err := decodeSplit(&d, c.b, nil)
		if err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Invalid UTF-8 in the compressed bytes is no error: only the text
	// counts.
	var c client
	z := AppendDeflate(nil, []byte(strings.Repeat("é", 100)), 1)
	c.raw(0x80|0x40|byte(OpText), z)
	d := Decoder{Compression: true}
	if _, _, err := decodeSplit(&d, c.b, []int{3}); err != nil {
		t.Errorf("valid text: %v", err)
	}
}

func TestDecoderCompressedBudget(t *testing.T) {
	msg := jsonish(200 << 10)
	var c client
	c.deflated(OpBinary, msg, 1)
	d := Decoder{Compression: true, Budget: NewBudget(100 << 10)}
	if _, _, err := decodeSplit(&d, c.b, nil); !errors.Is(err, ErrInboundBudget) {
		t.Errorf("over the budget: %v", err)
	}
	d.Release()
	if d.Budget.Used() != 0 {
		t.Errorf("%d bytes kept", d.Budget.Used())
	}
}
