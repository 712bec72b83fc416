package wsproto

import (
	"bytes"
	"strings"
	"testing"
)

func BenchmarkParseHeader(b *testing.B) {
	for _, size := range []int{64, 1024, 70000} {
		frame := AppendMaskedFrame(nil, OpBinary, true, make([]byte, size), [4]byte{1, 2, 3, 4})
		b.Run(byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, n, err := ParseHeader(frame); n == 0 || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	b.ReportAllocs()
	var buf [MaxHeaderSize]byte
	h := Header{Fin: true, OpCode: OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 1024}
	for b.Loop() {
		PutHeader(buf[:], h)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{64, 1024} {
		payload := make([]byte, size)
		dst := make([]byte, 0, size+MaxHeaderSize)
		b.Run(byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = AppendFrame(dst[:0], OpBinary, true, payload)
			}
		})
		b.Run("masked/"+byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = AppendMaskedFrame(dst[:0], OpBinary, true, payload, [4]byte{1, 2, 3, 4})
			}
		})
	}
}

// countHandler counts what it is given, without allocating.
type countHandler struct{ messages, bytes int }

func (h *countHandler) HandleMessage(op OpCode, p []byte) error {
	h.messages++
	h.bytes += len(p)
	return nil
}
func (h *countHandler) HandleControl(op OpCode, p []byte) error { return nil }

// BenchmarkDecoderFeed decodes 64 masked client frames per Feed, as a read
// of a busy connection would hold. "split" feeds the same bytes in 1000-byte
// reads, so frames straddle Feed calls.
func BenchmarkDecoderFeed(b *testing.B) {
	const framesPerFeed = 64
	for _, size := range []int{64, 1024} {
		for _, op := range []OpCode{OpBinary, OpText} {
			var c client
			payload := bytes.Repeat([]byte("a"), size)
			for range framesPerFeed {
				c.frame(op, true, payload)
			}
			stream := c.b
			buf := make([]byte, len(stream))
			name := "binary"
			if op == OpText {
				name = "text"
			}
			for _, read := range []int{len(stream), 1000} {
				mode := "whole"
				if read != len(stream) {
					mode = "split"
				}
				b.Run(name+"/"+byteSize(size)+"/"+mode, func(b *testing.B) {
					var d Decoder
					var h countHandler
					b.ReportAllocs()
					b.SetBytes(int64(len(stream)))
					for b.Loop() {
						copy(buf, stream) // Feed unmasks in place
						for off := 0; off < len(buf); off += read {
							if _, err := d.Feed(buf[off:min(off+read, len(buf))], &h); err != nil {
								b.Fatal(err)
							}
						}
					}
					if h.messages%framesPerFeed != 0 {
						b.Fatalf("%d messages", h.messages)
					}
				})
			}
		}
	}
}

func BenchmarkUTF8(b *testing.B) {
	inputs := map[string]string{
		"ascii":     strings.Repeat("hello, world ", 80),
		"multibyte": strings.Repeat("κόσμε €𝄞 ", 80),
	}
	for name, s := range inputs {
		p := []byte(s)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if !ValidUTF8(p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return itoa(n/1024) + "KiB"
	}
	return itoa(n) + "B"
}

// BenchmarkParseRequest is the per-connection handshake cost; it allocates
// the Request and its header map, once per connection.
func BenchmarkParseRequest(b *testing.B) {
	head := []byte(validRequest)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(head); err != nil {
			b.Fatal(err)
		}
	}
}
