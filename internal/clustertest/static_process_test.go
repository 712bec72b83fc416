package clustertest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProcessStaticList: node processes that learn their peers from
// `--discovery static://...` instead of a register talk as a cluster.
func TestProcessStaticList(t *testing.T) {
	// A static list names the rpc addresses up front: take free ports.
	var rpcAddrs, items []string
	for i := range 3 {
		lis, err := net.Listen("tcp", nodeIPs[i]+":0")
		if err != nil {
			t.Fatal(err)
		}
		rpcAddrs = append(rpcAddrs, lis.Addr().String())
		items = append(items, fmt.Sprintf("%d@%s", i+1, lis.Addr()))
		lis.Close()
	}
	list := "static://" + strings.Join(items, ",")
	var urls []string
	for i := range 3 {
		p := startProc(t, fmt.Sprint("node ", i+1), "serve", "-listen", nodeIPs[i]+":0", "-rpc", rpcAddrs[i],
			"-discovery", list, "-node-id", fmt.Sprint(i+1), "-secret", secret, "-app", "chat", "-log-level", "warn")
		urls = append(urls, "ws://"+p.ExpectLine("listening on ")+"/ws")
	}
	// The list is known before the other nodes listen, so the first dials
	// may fail and a login (which asks every node) with them: retry it.
	alice, cat, bob := connect(t, urls[0], "alice"), connect(t, urls[1], "cat"), connect(t, urls[2], "bob")
	for _, u := range []*user{alice, cat, bob} {
		deadline := time.Now().Add(wait)
		for {
			u.SendJSON(map[string]any{"type": "login", "name": u.Name})
			m, raw := u.Next()
			if m["type"] == "welcome" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: login answered %s until the end", u.Name, raw)
			}
			time.Sleep(50 * time.Millisecond) // pace the retries
		}
	}
	for _, u := range []*user{alice, cat, bob} {
		u.WaitStats(3, 3)
	}
	alice.Send(`{"type":"whisper","to":"bob","text":"static"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"alice","text":"static"}`)
	cat.Send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{alice, cat, bob} {
		u.ExpectRaw(`{"type":"shouted","from":"cat","text":"HEY"}`)
	}
}
