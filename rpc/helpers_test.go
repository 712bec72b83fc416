package rpc

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

const testSecret = "cluster-secret"

// recorder is a Handler that keeps every command it is given, by sender,
// and answers requests with its node ID (Text) or its command count
// (Count). While hold is set, requests wait for it to be closed.
type recorder struct {
	id string

	mu       sync.Mutex
	cmds     map[string][]*rpcpb.Command
	requests int
	hold     chan struct{}
	changed  chan struct{} // closed and renewed on every change
}

func newRecorder(id string) *recorder {
	return &recorder{id: id, cmds: make(map[string][]*rpcpb.Command), changed: make(chan struct{})}
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) HandleCommand(from string, cmd *rpcpb.Command) {
	r.mu.Lock()
	r.cmds[from] = append(r.cmds[from], cmd)
	r.notifyLocked()
	r.mu.Unlock()
}

func (r *recorder) HandleRequest(ctx context.Context, from string, req *rpcpb.Request) (*rpcpb.Response, error) {
	r.mu.Lock()
	r.requests++
	hold := r.hold
	count := 0
	for _, c := range r.cmds {
		count += len(c)
	}
	r.notifyLocked()
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if req.GetGetAllClientCount() != nil {
		return &rpcpb.Response{Result: &rpcpb.Response_Count{Count: int64(count)}}, nil
	}
	return &rpcpb.Response{Result: &rpcpb.Response_Text{Text: r.id + " answers " + from}}, nil
}

// from returns a copy of what peer sent so far.
func (r *recorder) from(peer string) []*rpcpb.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*rpcpb.Command(nil), r.cmds[peer]...)
}

// waitFor waits until cond holds (checked on every change) or fails the
// test after timeout.
func (r *recorder) waitFor(t testing.TB, timeout time.Duration, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: %s: not within %v", r.id, what, timeout)
		}
	}
}

// testNode is a running Node with its recorder and log.
type testNode struct {
	*Node
	rec  *recorder
	addr string
	logs *testutil.LogBuffer
}

// startNode serves a Node on ip (port 0). change may adjust the options.
func startNode(t testing.TB, id, ip string, change func(*Options)) *testNode {
	t.Helper()
	lis, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	return serveNode(t, id, lis, change)
}

func serveNode(t testing.TB, id string, lis net.Listener, change func(*Options)) *testNode {
	t.Helper()
	tn := &testNode{rec: newRecorder(id), addr: lis.Addr().String(), logs: &testutil.LogBuffer{}}
	opts := Options{
		ID: id, Secret: testSecret, Handler: tn.rec,
		Logger: slog.New(slog.NewTextHandler(tn.logs, nil)),
	}
	if change != nil {
		change(&opts)
	}
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tn.Node = n
	go n.Serve(lis)
	t.Cleanup(func() { n.Close() })
	return tn
}

// cluster starts nodes a, b, c on 127.0.0.1-3 and gives each the others.
func cluster(t testing.TB, change func(*Options)) (a, b, c *testNode) {
	t.Helper()
	a = startNode(t, "a", "127.0.0.1", change)
	b = startNode(t, "b", "127.0.0.2", change)
	c = startNode(t, "c", "127.0.0.3", change)
	peers := []Peer{{a.ID(), a.addr}, {b.ID(), b.addr}, {c.ID(), c.addr}}
	for _, n := range []*testNode{a, b, c} {
		n.SetPeers(peers)
	}
	return a, b, c
}

// seqCommand is a SendToClients command whose payload is seq.
func seqCommand(seq uint64) *rpcpb.Command {
	data := binary.BigEndian.AppendUint64(nil, seq)
	return &rpcpb.Command{Kind: &rpcpb.Command_SendToClients{SendToClients: &rpcpb.SendToClients{
		Message:   &rpcpb.Message{Data: data, Binary: true},
		ClientIds: []string{"client-1"},
	}}}
}

func seqOf(cmd *rpcpb.Command) uint64 {
	return binary.BigEndian.Uint64(cmd.GetSendToClients().GetMessage().GetData())
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, timeout, what, cond)
}

// countingHandler counts commands and closes the done channel when want
// is reached; it keeps nothing, so a benchmark measures the transport.
type countingHandler struct {
	got, want atomic.Int64
	done      atomic.Pointer[chan struct{}]
}

// expect starts a new count and returns the channel closed at want.
func (h *countingHandler) expect(want int64) chan struct{} {
	done := make(chan struct{})
	h.got.Store(0)
	h.done.Store(&done)
	h.want.Store(want)
	return done
}

func (h *countingHandler) HandleCommand(string, *rpcpb.Command) {
	if h.got.Add(1) == h.want.Load() {
		close(*h.done.Load())
	}
}

func (h *countingHandler) HandleRequest(context.Context, string, *rpcpb.Request) (*rpcpb.Response, error) {
	return &rpcpb.Response{Result: &rpcpb.Response_Empty{Empty: &rpcpb.Empty{}}}, nil
}

// dialAsMember connects to b as node "a", a member that never serves, for
// tests that drive the protocol by hand. Both end with the test.
func dialAsMember(t testing.TB, b *testNode) *grpc.ClientConn {
	t.Helper()
	a, err := New(Options{ID: "a", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	conn, err := a.dial(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
