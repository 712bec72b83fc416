package chat_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/examples/chat"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/register"
)

// startChatCluster runs a register and three chat nodes on 127.0.0.1, .2
// and .3, and waits until each node reaches the other two.
func startChatCluster(t *testing.T) []*api.Gateway {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const secret = "chat-cluster-secret"
	reg, err := register.NewServer(register.ServerOptions{Secret: secret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go reg.Serve(lis)
	t.Cleanup(reg.Stop)

	var nodes []*api.Gateway
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		g, err := api.NewGateway(api.Options{
			Logger: quiet,
			Server: poller.Options{Addr: ip + ":0", Path: "/ws"},
			Cluster: &api.ClusterOptions{
				Registers: []string{lis.Addr().String()},
				Secret:    secret,
				RPCListen: ip + ":0",
			},
		}, chat.New())
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			g.Shutdown(ctx)
		})
		nodes = append(nodes, g)
	}
	deadline := time.Now().Add(wait)
	for _, g := range nodes {
		for len(g.Peers()) != 2 {
			if time.Now().After(deadline) {
				t.Fatalf("node %s reaches %v, want the two others", g.NodeID(), g.Peers())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nodes
}

// TestChatAcrossNodes plays the chat protocol with each user on another
// node: every message crosses the cluster.
func TestChatAcrossNodes(t *testing.T) {
	n := startChatCluster(t)
	alice, cat, bob := login(t, n[0], "alice"), login(t, n[1], "cat"), login(t, n[2], "bob")
	bob2 := login(t, n[1], "bob")

	alice.send(`{"type":"whisper","to":"bob","text":"psst"}`)
	bob.expectRaw(`{"type":"whispered","from":"alice","text":"psst"}`)
	bob2.expectRaw(`{"type":"whispered","from":"alice","text":"psst"}`)
	alice.send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	alice.expectRaw(`{"type":"error","error":"zed is offline"}`)

	alice.send(`{"type":"join","room":"lobby"}`)
	alice.expectRaw(`{"type":"joined","room":"lobby","name":"alice"}`)
	// Node 3 applies node 1's fan-out sends in order and some time after
	// they were made: once this whisper is in, the room's news of alice
	// has been applied there, and bob, joining now, will not get it.
	alice.send(`{"type":"whisper","to":"bob","text":"join us"}`)
	bob.expectRaw(`{"type":"whispered","from":"alice","text":"join us"}`)
	bob2.expectRaw(`{"type":"whispered","from":"alice","text":"join us"}`)
	bob.send(`{"type":"join","room":"lobby"}`)
	alice.expectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.expectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.send(`{"type":"say","room":"lobby","text":"hi alice"}`)
	alice.expectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi alice"}`)
	bob.expectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi alice"}`)
	cat.send(`{"type":"who","room":"lobby"}`)
	cat.expectRaw(`{"type":"who","room":"lobby","names":["alice","bob"],"clients":2}`)
	cat.send(`{"type":"join","room":"attic"}`)
	cat.expect("joined")
	alice.send(`{"type":"rooms"}`)
	alice.expectRaw(`{"type":"rooms","rooms":["attic","lobby"]}`)

	cat.send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{alice, cat, bob, bob2} {
		u.expectRaw(`{"type":"shouted","from":"cat","text":"HEY"}`)
	}
	bob.send(`{"type":"status","status":"away"}`)
	bob.expectRaw(`{"type":"status","status":"away"}`)
	alice.send(`{"type":"whois","name":"bob"}`)
	m := alice.expect("whois")
	statuses := map[string]string{}
	for _, c := range m["clients"].([]any) {
		c := c.(map[string]any)
		statuses[c["client_id"].(string)] = c["status"].(string)
	}
	if m["online"] != true || len(statuses) != 2 || statuses[bob.id] != "away" || statuses[bob2.id] != "" {
		t.Fatalf("whois bob: %v", m)
	}
	alice.send(`{"type":"stats"}`)
	alice.expectRaw(`{"type":"stats","clients":4,"users":3}`)

	// bob's node 3 client leaves: the room on node 1 hears of it.
	bob.conn.Close()
	alice.expectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
}
