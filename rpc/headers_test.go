package rpc

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// A stranger's headers are read no further than maxHeaderBytes: a call
// whose headers are larger is refused (the server resets the stream or
// hangs up) without an answer, while one within the bound gets as far as
// the secret check. It speaks HTTP/2
// by hand, as an attacker would, since gRPC's own client stops itself at
// the bound the server announces.
func TestLargeHeadersRefused(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", nil)
	small := rawCall(t, a.addr, 1<<10)
	if small.status != "16" { // Unauthenticated
		t.Fatalf("call with 1 KiB of headers and no secret: %+v, want grpc-status 16", small)
	}
	big := rawCall(t, a.addr, 4*maxHeaderBytes)
	if big.status != "" || !big.reset && !big.closed {
		t.Fatalf("call with %d bytes of headers: %+v, want a reset before any status", 4*maxHeaderBytes, big)
	}
	t.Logf("call with %d bytes of headers: %+v", 4*maxHeaderBytes, big)
}

// rawOutcome is how the server ended a raw call.
type rawOutcome struct {
	status string // grpc-status it answered, "" if none
	reset  bool   // RST_STREAM
	closed bool   // GOAWAY or connection closed
}

// rawCall opens a connection and makes one Call, without the secret, whose
// headers carry padding bytes besides the usual ones.
func rawCall(t *testing.T, addr string, padding int) rawOutcome {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: rpcpb.Node_Call_FullMethodName},
		{Name: ":authority", Value: addr},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "padding", Value: strings.Repeat("p", padding)},
	} {
		enc.WriteField(f)
	}
	// In frames of at most 16 KiB, HTTP/2's default frame size.
	const chunk = 16 << 10
	b := block.Bytes()
	first := b[:min(len(b), chunk)]
	b = b[len(first):]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndHeaders: len(b) == 0}); err != nil {
		t.Fatal(err)
	}
	for len(b) > 0 {
		n := min(len(b), chunk)
		if err := fr.WriteContinuation(1, n == len(b), b[:n]); err != nil {
			return rawOutcome{closed: true} // the server hung up mid-headers
		}
		b = b[n:]
	}

	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return rawOutcome{closed: true}
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if v := f.PseudoValue("status"); v != "" && v != "200" {
				return rawOutcome{status: "http " + v}
			}
			for _, h := range f.RegularFields() {
				if h.Name == "grpc-status" {
					return rawOutcome{status: h.Value}
				}
			}
		case *http2.RSTStreamFrame:
			return rawOutcome{reset: true}
		case *http2.GoAwayFrame:
			return rawOutcome{closed: true}
		}
	}
}
