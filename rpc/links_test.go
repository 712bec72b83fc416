package rpc

import (
	"net"
	"testing"
	"time"
)

// Links shows each peer's stream as the sender sees it: up once a stream
// has opened, down once a peer that accepts no stream outlasts the connect
// timeout.
func TestLinksShowEachPeersStream(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", func(o *Options) { o.ConnectTimeout = 200 * time.Millisecond })
	b := startNode(t, "b", "127.0.0.2", nil)
	// A listener that never answers TLS or HTTP/2: no stream opens on it.
	silent, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	a.SetPeers([]Peer{{ID: "b", Addr: b.addr}, {ID: "c", Addr: silent.Addr().String()}})
	if err := a.Send("b", seqCommand(1)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, 10*time.Second, "the command", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })
	eventually(t, 10*time.Second, "b up and c down", func() bool {
		l := a.Links()
		return len(l) == 2 && l[0].Peer == "b" && l[0].State == LinkUp && l[1].Peer == "c" && l[1].State == LinkDown
	})
	if l := a.Links(); l[0].Addr != b.addr || l[1].Addr != silent.Addr().String() {
		t.Fatalf("addresses %+v", l)
	}
}
