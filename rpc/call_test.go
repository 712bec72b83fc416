package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

var countRequest = &rpcpb.Request{Kind: &rpcpb.Request_GetAllClientCount{GetAllClientCount: &rpcpb.Empty{}}}

func TestCallAnswers(t *testing.T) {
	a, _, _ := cluster(t, nil)
	resp, err := a.Call(context.Background(), "b", &rpcpb.Request{Kind: &rpcpb.Request_IsOnline{
		IsOnline: &rpcpb.ClientRef{ClientId: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetText(); got != "b answers a" {
		t.Fatalf("answer %q, want %q", got, "b answers a")
	}
	// An empty oneof is refused by the server, not passed on.
	_, err = a.Call(context.Background(), "b", &rpcpb.Request{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty request: got %v, want InvalidArgument", err)
	}
}

func TestCallAllReportsStoppedPeer(t *testing.T) {
	a, _, c := cluster(t, nil)
	// Both peers answer while up.
	got, err := a.CallAll(context.Background(), countRequest)
	if err != nil || len(got) != 2 {
		t.Fatalf("all up: %d answers, err %v", len(got), err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err = a.CallAll(ctx, countRequest)
	elapsed := time.Since(start)
	checkPartial(t, got, err, "b", "c")
	if elapsed > time.Second {
		t.Fatalf("CallAll took %v with a 300ms deadline", elapsed)
	}
}

func TestCallAllReportsHangingPeer(t *testing.T) {
	a, _, c := cluster(t, nil)
	hold := make(chan struct{})
	defer close(hold)
	c.rec.mu.Lock()
	c.rec.hold = hold
	c.rec.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := a.CallAll(ctx, countRequest)
	elapsed := time.Since(start)
	checkPartial(t, got, err, "b", "c")
	if elapsed > time.Second {
		t.Fatalf("CallAll took %v with a 300ms deadline", elapsed)
	}
}

// checkPartial wants an answer from answered only, and a PartialError
// naming missing only.
func checkPartial(t *testing.T, got map[string]*rpcpb.Response, err error, answered, missing string) {
	t.Helper()
	if len(got) != 1 || got[answered] == nil {
		t.Fatalf("answers from %v, want only %s", keysOf(got), answered)
	}
	var pe *PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want *PartialError", err)
	}
	if len(pe.Missing) != 1 || pe.Missing[0] != missing || pe.Errs[missing] == nil {
		t.Fatalf("missing %v (%v), want [%s]", pe.Missing, pe, missing)
	}
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestCallToStoppedPeerFailsFast(t *testing.T) {
	a, b, _ := cluster(t, func(o *Options) { o.CallTimeout = 10 * time.Second })
	if _, err := a.Call(context.Background(), "b", countRequest); err != nil {
		t.Fatal(err)
	}
	b.Close()
	start := time.Now()
	_, err := a.Call(context.Background(), "b", countRequest)
	if !errors.Is(err, ErrPeerUnavailable) || status.Code(err) != codes.Unavailable {
		t.Fatalf("call to stopped peer: got %v, want ErrPeerUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("call to stopped peer took %v", elapsed)
	}
}

func TestRemovedPeerFailsCallsFast(t *testing.T) {
	a, b, c := cluster(t, func(o *Options) { o.CallTimeout = 20 * time.Second })
	hold := make(chan struct{})
	defer close(hold)
	b.rec.mu.Lock()
	b.rec.hold = hold
	b.rec.mu.Unlock()

	pending := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), "b", countRequest)
		pending <- err
	}()
	b.rec.waitFor(t, 10*time.Second, "request arrives", func(r *recorder) bool { return r.requests == 1 })

	a.SetPeers([]Peer{{ID: "a", Addr: a.addr}, {ID: "c", Addr: c.addr}})
	select {
	case err := <-pending:
		if !errors.Is(err, ErrPeerUnavailable) {
			t.Fatalf("pending call: got %v, want ErrPeerUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call still waiting 5s after its peer was removed")
	}
	_, err := a.Call(context.Background(), "b", countRequest)
	if !errors.Is(err, ErrPeerUnavailable) || status.Code(err) != codes.Unavailable {
		t.Fatalf("new call: got %v, want ErrPeerUnavailable", err)
	}
	if err := a.Send("b", seqCommand(0)); !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("send: got %v, want ErrPeerUnavailable", err)
	}
	// The remaining peer still answers.
	if _, err := a.Call(context.Background(), "c", countRequest); err != nil {
		t.Fatal(err)
	}
}

func TestWrongSecretRefused(t *testing.T) {
	a, _, _ := cluster(t, nil)
	intruder := startNode(t, "x", "127.0.0.2", func(o *Options) { o.Secret = "not-the-secret" })
	intruder.SetPeers([]Peer{{ID: "a", Addr: a.addr}})
	_, err := intruder.Call(context.Background(), "a", countRequest)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call with wrong secret: got %v, want Unauthenticated", err)
	}
	if err := intruder.Send("a", seqCommand(0)); err != nil {
		t.Fatal(err) // queued; the stream itself is refused
	}
	eventually(t, 10*time.Second, "stream refusal logged", func() bool {
		return a.logs.Contains("method=Commands") && intruder.logs.Contains("Unauthenticated")
	})
	if !a.logs.Contains("rpc: refused peer") || !a.logs.Contains("remote=127.0.0.1:") {
		t.Fatal("refusal not logged with the remote address")
	}
	// Refused before any message was read: by the server's tap.
	if got := a.Stats().Refused; got < 2 {
		t.Fatalf("Stats().Refused = %d, want the call and the stream", got)
	}
	if got := a.rec.from("x"); len(got) != 0 {
		t.Fatalf("a applied %d commands from an intruder", len(got))
	}
	a.rec.mu.Lock()
	requests := a.rec.requests
	a.rec.mu.Unlock()
	if requests != 0 {
		t.Fatalf("a answered %d requests from an intruder", requests)
	}
}

// panicker panics on every command and request.
type panicker struct{}

func (panicker) HandleCommand(string, *rpcpb.Command) { panic("bad command") }

func (panicker) HandleRequest(context.Context, string, *rpcpb.Request) (*rpcpb.Response, error) {
	panic("bad request")
}

func TestHandlerPanicKeepsNodeUp(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", nil)
	b := startNode(t, "b", "127.0.0.2", func(o *Options) { o.Handler = panicker{} })
	a.SetPeers([]Peer{{ID: "b", Addr: b.addr}})
	_, err := a.Call(context.Background(), "b", countRequest)
	if status.Code(err) != codes.Internal {
		t.Fatalf("call into a panicking handler: got %v, want Internal", err)
	}
	for i := range uint64(3) {
		if err := a.Send("b", seqCommand(i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "all three commands reach the handler", func() bool {
		return b.Stats().CommandsReceived == 3
	})
	if !b.logs.Contains("HandleCommand panicked") || !b.logs.Contains("HandleRequest panicked") {
		t.Fatal("panics not logged")
	}
}

// A TCP connection to the rpc port that never speaks is dropped after the
// handshake timeout, not held for gRPC's default two minutes.
func TestSilentConnectionDropped(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", nil)
	c, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	began := time.Now()
	c.SetReadDeadline(time.Now().Add(serverHandshakeTimeout + 5*time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("no close from the server: %v", err)
	}
	if took := time.Since(began); took > serverHandshakeTimeout+2*time.Second {
		t.Fatalf("silent connection held %v", took)
	}
}
