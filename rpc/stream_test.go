package rpc

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

func TestSendInOrderExactlyOnceInFewBatches(t *testing.T) {
	a, b, _ := cluster(t, nil)
	const total = 100_000
	// The first command opens the stream; the rest measure steady state.
	if err := a.Send("b", seqCommand(0)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, 10*time.Second, "first command", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })
	for i := uint64(1); i < total; i++ {
		if err := a.Send("b", seqCommand(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	b.rec.waitFor(t, 30*time.Second, "all commands from a", func(r *recorder) bool {
		return len(r.cmds["a"]) >= total
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.rec.from("a")
	if len(got) != total {
		t.Fatalf("b got %d commands from a, want %d", len(got), total)
	}
	for i, cmd := range got {
		if seq := seqOf(cmd); seq != uint64(i) {
			t.Fatalf("command %d carries seq %d: out of order", i, seq)
		}
	}
	sent, recv := a.Stats(), b.Stats()
	t.Logf("%d commands in %d batches (%.0f per batch), %.1f bytes per command",
		sent.CommandsSent, sent.BatchesSent, float64(sent.CommandsSent)/float64(sent.BatchesSent),
		float64(sent.BytesSent)/float64(sent.CommandsSent))
	if sent.CommandsSent != total || recv.CommandsReceived != total {
		t.Fatalf("stats: a sent %d commands, b received %d; want %d", sent.CommandsSent, recv.CommandsReceived, total)
	}
	if recv.BatchesReceived != sent.BatchesSent {
		t.Fatalf("a sent %d batches, b received %d", sent.BatchesSent, recv.BatchesReceived)
	}
	if sent.BatchesSent >= 2000 {
		t.Fatalf("%d batches for %d commands: not batching", sent.BatchesSent, total)
	}
}

func TestBroadcastReachesEachPeerOnce(t *testing.T) {
	a, b, c := cluster(t, nil)
	const total = 100
	for i := range uint64(total) {
		if err := a.Broadcast(seqCommand(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*testNode{b, c} {
		n.rec.waitFor(t, 10*time.Second, "broadcasts from a", func(r *recorder) bool {
			return len(r.cmds["a"]) >= total
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{b, c} {
		got := n.rec.from("a")
		if len(got) != total {
			t.Fatalf("%s got %d broadcasts, want %d", n.ID(), len(got), total)
		}
		for i, cmd := range got {
			if seqOf(cmd) != uint64(i) {
				t.Fatalf("%s: broadcast %d out of order", n.ID(), i)
			}
		}
	}
	if got := a.rec.from("a"); len(got) != 0 {
		t.Fatalf("a sent %d broadcasts to itself", len(got))
	}
	if s := a.Stats(); s.CommandsSent != 2*total {
		t.Fatalf("a sent %d commands, want %d", s.CommandsSent, 2*total)
	}
}

func TestQueuedCommandsWaitForRestartedPeer(t *testing.T) {
	a, b, _ := cluster(t, nil)
	if err := a.Send("b", seqCommand(0)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, 10*time.Second, "first command", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })

	b.Close()
	// Commands the old process did not acknowledge are dropped (a new
	// incarnation); the ones queued after a noticed the break must all
	// arrive, once each.
	eventually(t, 10*time.Second, "a notices the break", func() bool {
		return a.logs.Contains("stream to peer broke")
	})
	const total = 1000
	for i := uint64(1); i < total; i++ {
		if err := a.Send("b", seqCommand(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	var lis net.Listener
	eventually(t, 10*time.Second, "listen again on "+b.addr, func() bool {
		var err error
		lis, err = net.Listen("tcp", b.addr)
		return err == nil
	})
	b2 := serveNode(t, "b", lis, nil)
	b2.rec.waitFor(t, 20*time.Second, "queued commands after restart", func(r *recorder) bool {
		return len(r.cmds["a"]) >= total-1
	})
	for i, cmd := range b2.rec.from("a") {
		if seqOf(cmd) != uint64(i+1) {
			t.Fatalf("command %d after restart carries seq %d", i, seqOf(cmd))
		}
	}
}

func TestSendFailsWhenQueueFull(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", func(o *Options) { o.QueueMaxBytes = 4 << 10 })
	dead := startNode(t, "dead", "127.0.0.2", nil)
	dead.Close() // its address now refuses connections
	a.SetPeers([]Peer{{ID: "dead", Addr: dead.addr}})
	var err error
	sent := 0
	for sent = 0; sent < 10_000; sent++ {
		if err = a.Send("dead", seqCommand(uint64(sent))); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("after %d sends: got %v, want ErrQueueFull", sent, err)
	}
	if sent == 0 || sent > 4<<10 {
		t.Fatalf("queue took %d commands of 4 KiB budget", sent)
	}
	if err := a.Send("nobody", seqCommand(0)); !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("send to unknown peer: got %v, want ErrPeerUnavailable", err)
	}
	huge := &rpcpb.Command{Kind: &rpcpb.Command_SendToAll{SendToAll: &rpcpb.SendToAll{
		Message: &rpcpb.Message{Data: make([]byte, 17<<20)}}}}
	if err := a.Send("dead", huge); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge command: got %v, want ErrTooLarge", err)
	}
}

// A peer's newer stream wins over an older one the receiver has not seen
// break yet: what the old one still carries is dropped, never applied
// after (or beside) the new one's commands.
func TestNewerStreamSupersedesOlder(t *testing.T) {
	b := startNode(t, "b", "127.0.0.2", nil)
	conn := dialAsMember(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func() rpcpb.Node_CommandsClient {
		stream, err := rpcpb.NewNodeClient(conn).Commands(ctx)
		if err == nil {
			_, err = stream.Recv() // the greeting heartbeat
		}
		if err != nil {
			t.Fatal(err)
		}
		return stream
	}
	send := func(stream rpcpb.Node_CommandsClient, seq uint64) {
		if err := stream.Send(&rpcpb.Batch{Commands: []*rpcpb.Command{seqCommand(seq)}}); err != nil {
			t.Fatal(err)
		}
	}
	old := open()
	send(old, 0)
	b.rec.waitFor(t, 10*time.Second, "batch on the old stream", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })
	newer := open()
	send(newer, 1)
	b.rec.waitFor(t, 10*time.Second, "batch on the new stream", func(r *recorder) bool { return len(r.cmds["a"]) == 2 })
	send(old, 2)
	for {
		if _, err := old.Recv(); err != nil {
			if status.Code(err) != codes.Aborted {
				t.Fatalf("old stream ended with %v, want Aborted", err)
			}
			break
		}
	}
	send(newer, 3)
	b.rec.waitFor(t, 10*time.Second, "new stream goes on", func(r *recorder) bool { return len(r.cmds["a"]) == 3 })
	for i, want := range []uint64{0, 1, 3} {
		if got := seqOf(b.rec.from("a")[i]); got != want {
			t.Fatalf("command %d: seq %d, want %d", i, got, want)
		}
	}
}
