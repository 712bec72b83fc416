package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// BenchmarkSend measures one-way commands from node a to node b: a
// 64-byte binary payload to one client, the shape of a SendToClient. It
// reports commands applied per second, bytes per command on the wire
// (protobuf plus gRPC's message header; HTTP/2 framing not counted) and
// commands per Batch.
func BenchmarkSend(b *testing.B) {
	a := startNode(b, "a", "127.0.0.1", nil)
	counted := &countingHandler{}
	rcv := startNode(b, "b", "127.0.0.2", func(o *Options) { o.Handler = counted })
	a.SetPeers([]Peer{{ID: "b", Addr: rcv.addr}})
	cmd := &rpcpb.Command{Kind: &rpcpb.Command_SendToClients{SendToClients: &rpcpb.SendToClients{
		Message:   &rpcpb.Message{Data: make([]byte, 64), Binary: true},
		ClientIds: []string{"0000000a0000000100000000000f4240"},
	}}}
	// Open the stream before timing.
	done := counted.expect(1)
	if err := a.Send("b", cmd); err != nil {
		b.Fatal(err)
	}
	<-done

	before := a.Stats()
	done = counted.expect(int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for a.Send("b", cmd) != nil { // queue full: let the sender catch up
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("commands not all applied within a minute")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Flush(ctx)
	after := a.Stats()
	cmds := float64(after.CommandsSent - before.CommandsSent)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(after.BytesSent-before.BytesSent)/cmds, "wireB/cmd")
	b.ReportMetric(cmds/float64(after.BatchesSent-before.BatchesSent), "cmds/batch")
}

// BenchmarkCall measures unary round trips from node a to node b, from as
// many goroutines as GOMAXPROCS.
func BenchmarkCall(b *testing.B) {
	a := startNode(b, "a", "127.0.0.1", nil)
	rcv := startNode(b, "b", "127.0.0.2", func(o *Options) { o.Handler = &countingHandler{} })
	a.SetPeers([]Peer{{ID: "b", Addr: rcv.addr}})
	req := &rpcpb.Request{Kind: &rpcpb.Request_IsOnline{IsOnline: &rpcpb.ClientRef{ClientId: "0000000a0000000100000000000f4240"}}}
	if _, err := a.Call(context.Background(), "b", req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Call(context.Background(), "b", req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
