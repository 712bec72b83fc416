package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wsgate/wsgate/router"
)

func TestClusterOptionErrors(t *testing.T) {
	for name, o := range map[string]ClusterOptions{
		"no secret":            {Registers: []string{"127.0.0.1:1"}},
		"no register":          {Secret: "s"},
		"bad rpc address":      {Secret: "s", Registers: []string{"127.0.0.1:1"}, RPCListen: "127.0.0.1:-1"},
		"bad embedded address": {Secret: "s", EmbeddedRegister: "127.0.0.1:-1"},
	} {
		if _, err := NewGateway(Options{Cluster: &o, Server: serverOn0()}, newRecorder()); err == nil {
			t.Errorf("%s: NewGateway accepted %+v", name, o)
		}
	}
	if _, err := NewClient(ClusterOptions{Secret: "s", EmbeddedRegister: "127.0.0.1:0"}); err == nil {
		t.Error("NewClient accepted an EmbeddedRegister")
	}
	if _, err := NewClient(ClusterOptions{Registers: []string{"127.0.0.1:1"}}); err == nil {
		t.Error("NewClient accepted no secret")
	}
}

func TestDefaultNodeIDsDiffer(t *testing.T) {
	seen := map[NodeID]bool{}
	for range 20 {
		g, err := NewGateway(Options{Server: serverOn0()}, newRecorder())
		must(t, err)
		if g.NodeID() == 0 || seen[g.NodeID()] {
			t.Fatalf("default node id %s repeats or is zero", g.NodeID())
		}
		seen[g.NodeID()] = true
	}
}

// TestAsyncSendSkipsTheCheck: with Async, a send to a client of another
// node is queued without asking the node, so a client that is not there is
// not reported; without it, it is.
func TestAsyncSendSkipsTheCheck(t *testing.T) {
	c := startCluster(t, 2)
	a := c.nodes[0].Api()
	cl := dial(t, c.nodes[1])
	gone := router.ClientIDParts{Node: c.nodes[1].NodeID(), Incarnation: 1, Seq: 7}.String()
	if err := a.SendToClient(bg, gone, []byte("x")); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("send to an unknown remote client: %v, want ErrClientOffline", err)
	}
	must(t, a.SendToClient(bg, gone, []byte("x"), Async()))
	must(t, a.SendToClient(bg, cl.id, []byte("async"), Async()))
	if got := cl.Read(); got != "async" {
		t.Fatalf("got %q", got)
	}
}

// TestPartialErrorIsTyped checks that the cluster's partial answers can be
// told apart with errors.As.
func TestPartialErrorIsTyped(t *testing.T) {
	var err error = &PartialError{Missing: []string{"0000000a"}}
	var pe *PartialError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &pe) || pe.Missing[0] != "0000000a" {
		t.Fatalf("errors.As: %v", pe)
	}
}
