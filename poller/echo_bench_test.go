package poller

import (
	"fmt"
	"io"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// BenchmarkEcho measures one round trip through the poller over loopback:
// a client frame read by the event loop, echoed by WriteMessage, with the
// handler on a goroutine of its own and inline (Options.InlineHandlers), on
// each backend. The client writes and reads with fixed buffers, so
// allocs/op are the server's: 0 in steady state.
func BenchmarkEcho(b *testing.B) {
	for _, backend := range backends {
		for _, inline := range []bool{false, true} {
			for _, size := range []int{64, 1024, 64 << 10} {
				name := fmt.Sprintf("%s/%dB", backend, size)
				if inline {
					name = fmt.Sprintf("%s/inline/%dB", backend, size)
				}
				b.Run(name, func(b *testing.B) {
					benchmarkEcho(b, Options{Handler: &echoHandler{}, InlineHandlers: inline, Backend: backend}, size)
				})
			}
		}
	}
}

func benchmarkEcho(b *testing.B, o Options, size int) {
	s := startServer(b, o)
	c := dialWS(b, s)
	payload := binaryPattern(size)
	req := clientFrame(true, 0, wsproto.OpBinary, payload)
	resp := make([]byte, len(wsproto.AppendFrame(nil, wsproto.OpBinary, true, payload)))
	roundTrip := func() {
		if _, err := c.nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c.nc, resp); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 { // warm the pools
		roundTrip()
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}
