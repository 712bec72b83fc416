package wsproto

import (
	"bytes"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 65535, 65536, 1 << 32, 1<<63 - 1}
	ops := []OpCode{OpContinuation, OpText, OpBinary, 3, 7, OpClose, OpPing, OpPong, 11, 15}
	for _, length := range lengths {
		for _, op := range ops {
			for _, masked := range []bool{false, true} {
				for _, fin := range []bool{false, true} {
					h := Header{Fin: fin, Rsv: 5, OpCode: op, Masked: masked, Length: length}
					if masked {
						h.Mask = [4]byte{1, 0x80, 0xfe, 7}
					}
					var buf [MaxHeaderSize + 3]byte
					n := PutHeader(buf[:], h)
					if want := HeaderSize(int(length), masked); n != want {
						t.Fatalf("%+v: PutHeader wrote %d bytes, HeaderSize says %d", h, n, want)
					}
					got, gn, err := ParseHeader(buf[:])
					if err != nil || gn != n || got != h {
						t.Fatalf("%+v: parsed %+v, %d bytes, %v; wrote %d", h, got, gn, err, n)
					}
					// Every prefix is reported as incomplete, not as an error.
					for i := range n {
						if _, pn, err := ParseHeader(buf[:i]); pn != 0 || err != nil {
							t.Fatalf("%+v: prefix of %d bytes gave n=%d err=%v", h, i, pn, err)
						}
					}
				}
			}
		}
	}
}

func TestHeaderEncodings(t *testing.T) {
	cases := []struct {
		h    Header
		want []byte
	}{
		{Header{Fin: true, OpCode: OpText, Length: 5}, []byte{0x81, 0x05}},
		{Header{Fin: false, OpCode: OpContinuation, Length: 0}, []byte{0x00, 0x00}},
		{Header{Fin: true, OpCode: OpBinary, Length: 126}, []byte{0x82, 0x7e, 0x00, 0x7e}},
		{Header{Fin: true, OpCode: OpBinary, Length: 65536}, []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{Header{Fin: true, OpCode: OpPing, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: 5}, []byte{0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d}},
	}
	for _, c := range cases {
		var buf [MaxHeaderSize]byte
		if n := PutHeader(buf[:], c.h); !bytes.Equal(buf[:n], c.want) {
			t.Errorf("%+v: % x, want % x", c.h, buf[:n], c.want)
		}
	}
}

func TestParseHeaderLengthOverflow(t *testing.T) {
	b := []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}
	if _, n, err := ParseHeader(b); err != ErrLengthOverflow || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	b[2] = 0xff
	if _, _, err := ParseHeader(append(b, 1, 2, 3, 4)); err != ErrLengthOverflow {
		t.Fatalf("err=%v", err)
	}
}

// RFC 6455 section 5.7 examples.
func TestFrameExamples(t *testing.T) {
	if got := AppendFrame(nil, OpText, true, []byte("Hello")); !bytes.Equal(got, []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}) {
		t.Errorf("unmasked Hello: % x", got)
	}
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if got := AppendMaskedFrame(nil, OpText, true, []byte("Hello"), [4]byte{0x37, 0xfa, 0x21, 0x3d}); !bytes.Equal(got, want) {
		t.Errorf("masked Hello: % x", got)
	}
	if got := AppendFrame([]byte("x"), OpText, false, []byte("Hel")); !bytes.Equal(got, []byte{'x', 0x01, 0x03, 0x48, 0x65, 0x6c}) {
		t.Errorf("appended fragment: % x", got)
	}
}

// Masking in pieces at any offset equals masking at once.
func TestMaskOffsets(t *testing.T) {
	mask := [4]byte{0xde, 0xad, 0xbe, 0xef}
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(i * 7)
	}
	want := bytes.Clone(src)
	for i := range want {
		want[i] ^= mask[i%4]
	}
	for cut := range len(src) {
		got := bytes.Clone(src)
		Mask(got[:cut], mask, 0)
		Mask(got[cut:], mask, cut)
		if !bytes.Equal(got, want) {
			t.Fatalf("cut at %d differs", cut)
		}
	}
}
