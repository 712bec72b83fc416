package register

import (
	"context"
	"testing"
	"time"
)

// TestFirstListReported: the first list a register sends reaches OnChange
// even when it names no one but the node itself, so that a member can tell
// "knows its peers, and there are none" from "has not heard yet".
func TestFirstListReported(t *testing.T) {
	_, reg := startRegister(t, "127.0.0.1:0", nil)
	c, err := NewClient(ClientOptions{
		Addrs:             []string{reg},
		Secret:            testSecret,
		Self:              Peer{ID: "alone", Addr: "alone.rpc:7000"},
		HeartbeatInterval: testInterval,
		HeartbeatTimeout:  testTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []Peer, 1)
	c.OnChange(func(peers []Peer) {
		select {
		case got <- peers:
		default:
		}
	})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case peers := <-got:
		if len(peers) != 0 {
			t.Fatalf("first list %v, want no peers", peers)
		}
	case <-time.After(testWaitLimit):
		t.Fatal("OnChange was not called with the first list")
	}
}
