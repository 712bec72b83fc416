package poller

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// FuzzConnection sends arbitrary bytes after a valid handshake to a server
// on each backend. Whatever they are, the server answers only with
// well-formed server frames (a close carrying a valid code), closes or
// keeps going, never panics, and serves the next client.
func FuzzConnection(f *testing.F) {
	f.Add(clientFrame(true, 0, wsproto.OpText, []byte("hello")))
	f.Add(append(clientFrame(false, 0, wsproto.OpText, []byte("frag")), clientFrame(true, 0, wsproto.OpContinuation, []byte("ment"))...))
	f.Add(clientFrame(true, 0, wsproto.OpPing, []byte("p")))
	f.Add(clientFrame(true, 0, wsproto.OpClose, closePayload(1000, "bye")))
	f.Add(clientFrame(true, 4, wsproto.OpBinary, []byte{1, 2, 3}))
	f.Add(rawFrameBytes(true, 0, wsproto.OpText, []byte("unmasked"), false))
	f.Add(clientFrame(true, 0, wsproto.OpText, []byte{0xff, 0xfe}))
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	servers := map[Backend]*Server{}
	for _, b := range backends {
		servers[b] = startServer(f, Options{Backend: b, CloseTimeout: 100 * time.Millisecond, MaxMessageSize: 1 << 20, MaxFrameSize: 1 << 20})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range backends {
			s := servers[b]
			c := dialWS(t, s)
			c.nc.Write(data)
			c.nc.Write(clientFrame(true, 0, wsproto.OpClose, closePayload(1000, "")))
			// Whatever state the data left the stream in, our FIN must
			// end the connection: the server reads EOF and closes.
			c.nc.(*net.TCPConn).CloseWrite()
			for {
				fr, err := c.readFrame()
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatalf("%s: the server kept the connection %v after the client's FIN", b, ioTimeout)
					}
					break // EOF or a reset: the server closed
				}
				if fr.masked || fr.rsv != 0 || !fr.fin {
					t.Fatalf("%s: server frame masked=%v rsv=%d fin=%v", b, fr.masked, fr.rsv, fr.fin)
				}
				if fr.op == wsproto.OpClose && len(fr.payload) >= 2 {
					if code := fr.closeCode(); !wsproto.ValidCloseCode(code) {
						t.Fatalf("%s: close code %d", b, code)
					}
				}
			}
			c.nc.Close()
			checkEcho(t, s)
		}
	})
}
