package register

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/register/registerpb"
)

// Test timing: short enough to keep the suite quick, long enough that a
// loaded 2-core machine under -race never misses a heartbeat by accident.
const (
	testSecret    = "cluster-secret"
	testInterval  = 200 * time.Millisecond
	testTimeout   = time.Second
	testWaitLimit = 10 * time.Second // how long a poll waits for the cluster to settle
	// testRejoinGrace leaves room for every node to reconnect (backoff at
	// most 400ms) even on a slow machine.
	testRejoinGrace = 3 * time.Second
)

// startRegister serves a register on addr ("127.0.0.1:0" for any port) and
// stops it when the test ends.
func startRegister(t *testing.T, addr string, logger *slog.Logger) (*Server, string) {
	t.Helper()
	return startRegisterWith(t, addr, func(o *ServerOptions) { o.Logger = logger })
}

// startRegisterWith is startRegister with the test options adjusted by
// change.
func startRegisterWith(t *testing.T, addr string, change func(*ServerOptions)) (*Server, string) {
	t.Helper()
	opts := ServerOptions{
		Secret:            testSecret,
		HeartbeatInterval: testInterval,
		HeartbeatTimeout:  testTimeout,
	}
	change(&opts)
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, lis.Addr().String()
}

// startNode joins a node named id to the registers and closes it when the
// test ends.
func startNode(t *testing.T, id string, registers ...string) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{
		Addrs:             registers,
		Secret:            testSecret,
		Self:              Peer{ID: id, Addr: id + ".rpc:7000"},
		HeartbeatInterval: testInterval,
		HeartbeatTimeout:  testTimeout,
		MinBackoff:        50 * time.Millisecond,
		MaxBackoff:        400 * time.Millisecond,
		RejoinGrace:       testRejoinGrace,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or the wait limit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, testWaitLimit, what, cond)
}

func ids(peers []Peer) []string {
	out := make([]string, len(peers))
	for i, p := range peers {
		out[i] = p.ID
	}
	return out
}

// sees reports whether c's peer list is exactly want (IDs, any order).
func sees(c *Client, want ...string) bool {
	got := ids(c.Peers())
	slices.Sort(want)
	return slices.Equal(got, want)
}

// upRegisters counts the registers whose stream is up for c.
func upRegisters(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lists)
}

// inGrace reports whether c still merges in the list it kept while every
// register was down.
func inGrace(c *Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.graceUntil.IsZero()
}

// rawNode speaks the protocol by hand, to play nodes that misbehave: ones
// that die without a goodbye or stop sending heartbeats.
type rawNode struct {
	conn   *grpc.ClientConn
	stream registerpb.Register_JoinClient
	cancel context.CancelFunc
}

func dialRaw(t *testing.T, register, secret, id string) *rawNode {
	t.Helper()
	conn, err := grpc.NewClient(register, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	stream, err := registerpb.NewRegisterClient(conn).Join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hello := &registerpb.NodeMessage{Kind: &registerpb.NodeMessage_Hello{Hello: &registerpb.Hello{
		Secret: secret,
		Node:   &registerpb.Peer{Id: id, Addr: id + ".rpc:7000", Incarnation: 1},
	}}}
	if err := stream.Send(hello); err != nil {
		t.Fatal(err)
	}
	return &rawNode{conn: conn, stream: stream, cancel: cancel}
}

// drain reads and drops what the register sends, so a raw node never
// holds the register up on flow control.
func (n *rawNode) drain() {
	go func() {
		for {
			if _, err := n.stream.Recv(); err != nil {
				return
			}
		}
	}()
}
