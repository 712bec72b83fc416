package bench

import (
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

func TestUpgradeOffersDeflate(t *testing.T) {
	tg, err := ParseTarget("ws://127.0.0.1:1/ws")
	if err != nil {
		t.Fatal(err)
	}
	if req := string(appendUpgrade(nil, &tg, "k", true)); !strings.Contains(req, "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n") {
		t.Errorf("no offer in %q", req)
	}
	if req := string(appendUpgrade(nil, &tg, "k", false)); strings.Contains(req, "Extensions") {
		t.Errorf("an offer without -compression: %q", req)
	}
}

func TestUpgradeResponseExtensions(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	head := func(ext string) []byte {
		h := "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + wsproto.AcceptKey(key) + "\r\n"
		if ext != "" {
			h += "Sec-WebSocket-Extensions: " + ext + "\r\n"
		}
		return []byte(h + "\r\n")
	}
	accepted := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tc := range []struct {
		ext        string
		offered    bool
		compressed bool
		fails      bool
	}{
		{"", true, false, false},
		{"", false, false, false},
		{accepted, true, true, false},
		{"permessage-deflate; client_max_window_bits=10", true, true, false},
		{accepted, false, false, true}, // not offered
		{"x-unknown", true, false, true},
	} {
		compressed, err := checkUpgradeResponse(head(tc.ext), key, tc.offered)
		if compressed != tc.compressed || (err != nil) != tc.fails {
			t.Errorf("%q offered %v: compressed %v, err %v", tc.ext, tc.offered, compressed, err)
		}
	}
}
