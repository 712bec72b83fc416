package clustertest

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/router"
)

// nodeIPs give each node its own loopback address, as separate machines
// would have.
var nodeIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}

// Bounds the fault tests hold the cluster to: correctness bounds with room
// for a loaded machine, not performance targets.
const (
	heartbeatTimeout = 3 * time.Second // the serve default
	dropMargin       = 2 * time.Second // the register's push, a slow scheduler
	// offlineWithin bounds the call for a client of a dropped node; the
	// client sees it plus a WebSocket round trip, so the fastest of a few
	// tries is held to it, and every try to well under the call timeout.
	offlineWithin = 100 * time.Millisecond
	neverHangs    = time.Second
)

// startCluster runs a register and n chat nodes as processes.
func startCluster(t *testing.T, n int) (*registerProc, []*node) {
	t.Helper()
	reg := startRegister(t, "127.0.0.1:0")
	var nodes []*node
	for i := range n {
		nodes = append(nodes, startNode(t, nodeIPs[i], reg))
	}
	return reg, nodes
}

// TestProcessChatAcrossNodes plays the chat protocol between three node
// processes, every user on another node.
func TestProcessChatAcrossNodes(t *testing.T) {
	_, n := startCluster(t, 3)
	alice, cat, bob := login(t, n[0].url(), "alice"), login(t, n[1].url(), "cat"), login(t, n[2].url(), "bob")
	for _, u := range []*user{alice, cat, bob} {
		u.WaitStats(3, 3)
	}

	alice.Send(`{"type":"whisper","to":"bob","text":"psst"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"alice","text":"psst"}`)
	alice.Send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	alice.ExpectRaw(`{"type":"error","error":"zed is offline"}`)

	// A room spread over the three nodes. Before each join, a whisper from
	// every member to the joiner has arrived: the members' own join news,
	// sent before on the same node-to-node streams, has been applied on the
	// joiner's node, so the joiner does not get it.
	alice.Send(`{"type":"join","room":"lobby"}`)
	alice.ExpectRaw(`{"type":"joined","room":"lobby","name":"alice"}`)
	alice.Send(`{"type":"whisper","to":"bob","text":"join us"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"alice","text":"join us"}`)
	bob.Send(`{"type":"join","room":"lobby"}`)
	for _, u := range []*user{alice, bob} {
		u.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	}
	for _, from := range []*user{alice, bob} {
		from.Send(`{"type":"whisper","to":"cat","text":"come"}`)
		cat.ExpectRaw(`{"type":"whispered","from":"` + from.Name + `","text":"come"}`)
	}
	cat.Send(`{"type":"join","room":"lobby"}`)
	for _, u := range []*user{alice, bob, cat} {
		u.ExpectRaw(`{"type":"joined","room":"lobby","name":"cat"}`)
	}
	bob.Send(`{"type":"say","room":"lobby","text":"hi all"}`)
	for _, u := range []*user{alice, bob, cat} {
		u.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi all"}`)
	}

	// Listings and counts aggregate over the nodes.
	cat.Send(`{"type":"who","room":"lobby"}`)
	cat.ExpectRaw(`{"type":"who","room":"lobby","names":["alice","bob","cat"],"clients":3}`)
	bob.Send(`{"type":"join","room":"attic"}`)
	bob.ExpectRaw(`{"type":"joined","room":"attic","name":"bob"}`)
	alice.Send(`{"type":"rooms"}`)
	alice.ExpectRaw(`{"type":"rooms","rooms":["attic","lobby"]}`)
	// bob's name is his alone across the nodes: a client on node 1 that
	// tries it stays logged out, and whois lists bob's client only.
	fake := connect(t, n[0].url(), "fake bob")
	fake.Send(`{"type":"login","name":"bob"}`)
	fake.ExpectRaw(`{"type":"error","error":"name bob is taken"}`)
	alice.Send(`{"type":"stats"}`)
	alice.ExpectRaw(`{"type":"stats","clients":4,"users":3}`)
	alice.Send(`{"type":"whois","name":"bob"}`)
	alice.ExpectRaw(`{"type":"whois","name":"bob","online":true,"clients":[{"client_id":"` + bob.ID + `","status":""}]}`)

	cat.Send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{alice, bob, cat, fake} {
		u.ExpectRaw(`{"type":"shouted","from":"cat","text":"HEY"}`)
	}
	// bob's node-3 client leaves: the room hears of it on the other nodes.
	bob.Conn.Close()
	for _, u := range []*user{alice, cat} {
		u.ExpectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
	}
}

// TestProcessKilledNodeLeaves: a node process killed with SIGKILL leaves
// the others' peer lists within the heartbeat timeout, and after that a
// call for its clients answers offline at once.
func TestProcessKilledNodeLeaves(t *testing.T) {
	checkNodeLeaves(t, "killed", func(n *node) { n.Kill() })
}

// TestProcessFrozenNodeLeaves: a node process stopped with SIGSTOP keeps
// its sockets open but says nothing, as a hung machine would; the others
// drop it by the heartbeat timeout, and then answer offline for its
// clients at once. (A SIGKILL'd process has its sockets closed by the
// kernel, which the others notice at once.)
func TestProcessFrozenNodeLeaves(t *testing.T) {
	n := checkNodeLeaves(t, "frozen", func(n *node) { n.Signal(syscall.SIGSTOP) })
	// A login asks every node whether it holds the name, and fails while
	// one does not answer; once the frozen node is dropped, logins work.
	login(t, n[0].url(), "dave")
}

// checkNodeLeaves runs three nodes with a user each, stops the third with
// stop, and checks that the other two drop it within the heartbeat
// timeout, then answer offline for its user at once and still talk to
// each other. what says how it was stopped, for the messages.
func checkNodeLeaves(t *testing.T, what string, stop func(*node)) []*node {
	t.Helper()
	_, n := startCluster(t, 3)
	alice, cat, bob := login(t, n[0].url(), "alice"), login(t, n[1].url(), "cat"), login(t, n[2].url(), "bob")
	for _, u := range []*user{alice, cat, bob} {
		u.WaitStats(3, 3)
	}

	t0 := time.Now()
	stop(n[2])
	// The cluster counts answer again (with node 3 left out) only once a
	// node has dropped node 3 from its list.
	for _, u := range []*user{alice, cat} {
		at := u.WaitStats(2, 2)
		if d := at.Sub(t0); d > heartbeatTimeout+dropMargin {
			t.Fatalf("%s's node dropped the %s node after %v, want within %v (+%v margin)", u.Name, what, d, heartbeatTimeout, dropMargin)
		} else {
			t.Logf("%s's node dropped the %s node %v after it was stopped", u.Name, what, d.Round(time.Millisecond))
		}
	}

	fastest := time.Hour
	for range 5 {
		reply, d := alice.Ask(`{"type":"whisper","to":"bob","text":"still there?"}`)
		if reply != `{"type":"error","error":"bob is offline"}` || d > neverHangs {
			t.Fatalf("whisper to the %s node's user: %s after %v, want offline within %v", what, reply, d, neverHangs)
		}
		fastest = min(fastest, d)
	}
	if fastest > offlineWithin {
		t.Fatalf("whisper to the %s node's user answered offline in %v at best, want within %v", what, fastest, offlineWithin)
	}
	t.Logf("offline answer for the %s node's user: %v at best, round trip included", what, fastest)
	cat.Send(`{"type":"whisper","to":"alice","text":"we are fine"}`)
	alice.ExpectRaw(`{"type":"whispered","from":"cat","text":"we are fine"}`)
	return n
}

// TestProcessRegisterDown: with the register killed, the nodes keep their
// peer list and messages keep flowing; a restarted register brings a new
// node in, which the old nodes reach.
func TestProcessRegisterDown(t *testing.T) {
	reg, n := startCluster(t, 2)
	alice, cat := login(t, n[0].url(), "alice"), login(t, n[1].url(), "cat")
	for _, u := range []*user{alice, cat} {
		u.WaitStats(2, 2)
	}

	reg.Kill()
	// Longer than the heartbeat timeout: nobody drops anybody.
	deadline := time.Now().Add(heartbeatTimeout + time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		text := fmt.Sprint("round ", i)
		alice.Send(`{"type":"whisper","to":"cat","text":"` + text + `"}`)
		cat.ExpectRaw(`{"type":"whispered","from":"alice","text":"` + text + `"}`)
		cat.Send(`{"type":"whisper","to":"alice","text":"` + text + `"}`)
		alice.ExpectRaw(`{"type":"whispered","from":"cat","text":"` + text + `"}`)
		time.Sleep(200 * time.Millisecond) // pace the rounds over the outage
	}
	alice.Send(`{"type":"stats"}`)
	alice.ExpectRaw(`{"type":"stats","clients":2,"users":2}`)

	// The register comes back on its address; the old nodes rejoin it and
	// a new node joins.
	startRegister(t, reg.addr)
	n3 := startNode(t, nodeIPs[2], reg)
	dave := login(t, n3.url(), "dave")
	for _, u := range []*user{alice, cat, dave} {
		u.WaitStats(3, 3)
	}
	alice.Send(`{"type":"whisper","to":"dave","text":"welcome"}`)
	dave.ExpectRaw(`{"type":"whispered","from":"alice","text":"welcome"}`)
	dave.Send(`{"type":"whisper","to":"cat","text":"thanks"}`)
	cat.ExpectRaw(`{"type":"whispered","from":"dave","text":"thanks"}`)
}

// TestProcessRestartedNodeNewIDs: a node killed and started again with the
// same node id issues clientIDs that never collide with its old ones, and
// the other nodes reach it at its new address.
func TestProcessRestartedNodeNewIDs(t *testing.T) {
	const nodeID = "0xbeef"
	reg := startRegister(t, "127.0.0.1:0")
	n1 := startNode(t, nodeIPs[0], reg)
	old := startNode(t, nodeIPs[1], reg, "-node-id", nodeID)
	alice := login(t, n1.url(), "alice")
	var oldBobs []*user
	for i := range 3 {
		oldBobs = append(oldBobs, login(t, old.url(), fmt.Sprint("bob", i)))
	}
	alice.WaitStats(4, 4)

	// Crash it and start it again at once, before the register notices.
	// The crashed node's names went with it: the restarted node's clients
	// take them again.
	old.Kill()
	restarted := startNode(t, nodeIPs[1], reg, "-node-id", nodeID)
	var bobs []*user
	for i := range 3 {
		bobs = append(bobs, login(t, restarted.url(), fmt.Sprint("bob", i)))
	}
	oldParts, err := router.ParseClientID(oldBobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bobs {
		p, err := router.ParseClientID(b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Node != oldParts.Node || p.Incarnation <= oldParts.Incarnation {
			t.Fatalf("new id %s: node %s incarnation %d, want node %s and an incarnation above %d",
				b.ID, p.Node, p.Incarnation, oldParts.Node, oldParts.Incarnation)
		}
		for _, o := range oldBobs {
			if o.ID == b.ID {
				t.Fatalf("clientID %s issued again after the restart", b.ID)
			}
		}
	}

	// Node 1 sees exactly the new clients of the names, at the new
	// address.
	for _, b := range bobs {
		alice.WaitReply("whois "+b.Name+" after the restart", `{"type":"whois","name":"`+b.Name+`"}`,
			`{"type":"whois","name":"`+b.Name+`","online":true,"clients":[{"client_id":"`+b.ID+`","status":""}]}`)
		alice.Send(`{"type":"whisper","to":"` + b.Name + `","text":"hello again"}`)
		b.ExpectRaw(`{"type":"whispered","from":"alice","text":"hello again"}`)
	}
}
