package rpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/wsgate/wsgate/rpc/rpcpb"

	"github.com/wsgate/wsgate/internal/testutil"
)

// pacer sends numbered commands from a to "b", one every gap, until
// stopped (stop returns how many it sent); sent tells how many so far. A
// full queue is a test failure: nothing may be dropped.
func pacer(t *testing.T, a *testNode, gap time.Duration) (sent func() uint64, stop func() uint64) {
	t.Helper()
	var quit atomic.Bool
	var count atomic.Uint64
	done := make(chan uint64)
	go func() {
		var seq uint64
		for ; !quit.Load() && seq < 1_000_000; seq++ {
			if err := a.Send("b", seqCommand(seq)); err != nil {
				t.Errorf("send %d: %v", seq, err)
				break
			}
			count.Store(seq + 1)
			if gap > 0 {
				time.Sleep(gap)
			} else if seq%64 == 0 {
				time.Sleep(50 * time.Microsecond) // leave the sender some CPU
			}
		}
		done <- seq
	}()
	return count.Load, func() uint64 { quit.Store(true); return <-done }
}

// checkExactlyOnce waits until b applied total commands from a and checks
// that they are 0..total-1, in order.
func checkExactlyOnce(t *testing.T, b *testNode, total uint64) {
	t.Helper()
	b.rec.waitFor(t, 30*time.Second, "every command from a", func(r *recorder) bool {
		return uint64(len(r.cmds["a"])) >= total
	})
	got := b.rec.from("a")
	for i, cmd := range got {
		if seq := seqOf(cmd); seq != uint64(i) {
			t.Fatalf("command %d carries seq %d: lost, duplicated or out of order", i, seq)
		}
	}
	if uint64(len(got)) != total {
		t.Fatalf("b applied %d commands, a sent %d", len(got), total)
	}
}

// A stream that freezes for longer than the heartbeat timeout breaks; the
// batches sent into it are resent on the next stream and applied once,
// whether the frozen connection comes back to life or is gone for good.
func TestFrozenStreamLosesNothing(t *testing.T) {
	for _, mode := range []string{"thaw", "reset"} {
		t.Run(mode, func(t *testing.T) {
			fast := func(o *Options) { o.HeartbeatInterval = 100 * time.Millisecond }
			a := startNode(t, "a", "127.0.0.1", fast)
			b := startNode(t, "b", "127.0.0.2", fast)
			proxy := testutil.StartProxy(t, "127.0.0.3", b.addr)
			a.SetPeers([]Peer{{ID: "b", Addr: proxy.Addr()}})

			sent, stop := pacer(t, a, 2*time.Millisecond)
			b.rec.waitFor(t, 10*time.Second, "first commands", func(r *recorder) bool { return len(r.cmds["a"]) >= 50 })
			proxy.Freeze()
			eventually(t, 15*time.Second, "a marks b down", func() bool { return a.logs.Contains("rpc: peer down") })
			time.Sleep(500 * time.Millisecond) // keep sending into the frozen stream
			if mode == "reset" {
				proxy.Reset()
			}
			proxy.Thaw()
			// In order, so the command sent at the thaw arriving means all
			// before it did.
			mark := int(sent())
			b.rec.waitFor(t, 30*time.Second, "commands after the freeze", func(r *recorder) bool {
				return len(r.cmds["a"]) > mark
			})
			total := stop()
			checkExactlyOnce(t, b, total)
			sa, sb := a.Stats(), b.Stats()
			t.Logf("%d commands; a resent %d of %d batches, b dropped %d duplicates", total,
				sa.BatchesResent, sa.BatchesSent, sb.BatchesDuplicate)
			if sa.BatchesResent == 0 {
				t.Fatal("no batch was resent: the stream did not break")
			}
		})
	}
}

// Connections reset mid-stream, again and again, while a sends as fast as
// it can: nothing is lost, nothing applied twice.
func TestConnectionResetLosesNothing(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", nil)
	b := startNode(t, "b", "127.0.0.2", nil)
	proxy := testutil.StartProxy(t, "127.0.0.3", b.addr)
	a.SetPeers([]Peer{{ID: "b", Addr: proxy.Addr()}})

	_, stop := pacer(t, a, 0)
	for i := range 5 {
		want := (i + 1) * 2000
		b.rec.waitFor(t, 20*time.Second, "commands before a reset", func(r *recorder) bool { return len(r.cmds["a"]) >= want })
		proxy.Reset()
	}
	b.rec.waitFor(t, 20*time.Second, "commands after the resets", func(r *recorder) bool { return len(r.cmds["a"]) >= 12_000 })
	total := stop()
	checkExactlyOnce(t, b, total)
	sa := a.Stats()
	t.Logf("%d commands; a resent %d of %d batches, b dropped %d duplicates", total,
		sa.BatchesResent, sa.BatchesSent, b.Stats().BatchesDuplicate)
}

// Flush returns once the peer applied everything; a peer dropped and added
// again starts a new session, whose batches are not taken for duplicates.
func TestFlushWaitsForAcknowledgementAndNewSessionStartsFresh(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", nil)
	b := startNode(t, "b", "127.0.0.2", nil)
	peers := []Peer{{ID: "b", Addr: b.addr}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seq uint64
	for round := range 2 {
		a.SetPeers(peers)
		for range 100 {
			if err := a.Send("b", seqCommand(seq)); err != nil {
				t.Fatal(err)
			}
			seq++
		}
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(b.rec.from("a")); uint64(got) != seq {
			t.Fatalf("round %d: Flush returned with %d of %d commands applied", round, got, seq)
		}
		a.SetPeers(nil)
	}
	checkExactlyOnce(t, b, seq)
}

// The receiver's side of the protocol, driven by hand: its greeting tells
// what the session applied, resent batches it applied already are dropped,
// and another session starts from scratch.
func TestReceiverDropsResentBatches(t *testing.T) {
	b := startNode(t, "b", "127.0.0.2", nil)
	conn := dialAsMember(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(session string) (rpcpb.Node_CommandsClient, *rpcpb.Heartbeat) {
		sctx := metadata.AppendToOutgoingContext(ctx, mdSession, session)
		stream, err := rpcpb.NewNodeClient(conn).Commands(sctx)
		var greeting *rpcpb.Heartbeat
		if err == nil {
			greeting, err = stream.Recv()
		}
		if err != nil {
			t.Fatal(err)
		}
		return stream, greeting
	}
	send := func(stream rpcpb.Node_CommandsClient, seq uint64, cmds ...uint64) {
		batch := &rpcpb.Batch{Seq: seq}
		for _, c := range cmds {
			batch.Commands = append(batch.Commands, seqCommand(c))
		}
		if err := stream.Send(batch); err != nil {
			t.Fatal(err)
		}
	}
	// waitAck reads heartbeats until one acknowledges seq.
	waitAck := func(stream rpcpb.Node_CommandsClient, seq uint64) {
		for {
			hb, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if hb.GetAcked() >= seq {
				return
			}
		}
	}

	first, greeting := open("1")
	if greeting.GetAcked() != 0 || greeting.GetIncarnation() == 0 {
		t.Fatalf("greeting of a new session: %v", greeting)
	}
	send(first, 1, 0, 1)
	send(first, 2, 2)
	waitAck(first, 2)

	// A new stream of the same session: the greeting tells 2, and the
	// resent batch 2 is dropped.
	second, greeting := open("1")
	if greeting.GetAcked() != 2 {
		t.Fatalf("greeting acked %d, want 2", greeting.GetAcked())
	}
	send(second, 2, 2)
	send(second, 3, 3)
	waitAck(second, 3)
	if d := b.Stats().BatchesDuplicate; d != 1 {
		t.Fatalf("b dropped %d duplicates, want 1", d)
	}

	// Another session (the sender restarted) starts at seq 1 again.
	third, greeting := open("2")
	if greeting.GetAcked() != 0 {
		t.Fatalf("greeting of another session acked %d, want 0", greeting.GetAcked())
	}
	send(third, 1, 4)
	waitAck(third, 1)

	got := b.rec.from("a")
	if len(got) != 5 {
		t.Fatalf("b applied %d commands, want 5", len(got))
	}
	for i, cmd := range got {
		if seqOf(cmd) != uint64(i) {
			t.Fatalf("command %d carries %d", i, seqOf(cmd))
		}
	}
}
