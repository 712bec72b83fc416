package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/wsgate/wsgate/internal/testutil"
)

// startNodes runs n chat nodes on the etcd at endpoints, a user logged in
// on each (named by users), and waits until every node counts them all.
func startNodes(t *testing.T, endpoints string, names ...string) ([]*node, []*user) {
	t.Helper()
	var nodes []*node
	var users []*user
	for i, name := range names {
		n := startNode(t, nodeIPs[i], endpoints)
		nodes = append(nodes, n)
		users = append(users, login(t, n.url(), name))
	}
	for _, u := range users {
		u.WaitStats(len(names), len(names))
	}
	return nodes, users
}

// expectDropped checks that every node of survivors has dropped one peer
// (what) within the TTL and a second of t0, as its peer list gauge shows.
func expectDropped(t *testing.T, what string, t0 time.Time, survivors []*node) {
	t.Helper()
	for _, n := range survivors {
		d := n.waitPeers(len(survivors) - 1).Sub(t0)
		t.Logf("%s dropped %s %v after it was lost", n.Name, what, d.Round(time.Millisecond))
		if d > ttl+dropMargin {
			t.Errorf("%s dropped %s after %v, want within %v", n.Name, what, d, ttl+dropMargin)
		}
	}
}

// TestEtcdChatAcrossNodes: three node processes on etcd answer the chat
// as one node does: a whisper (SendToUid) reaches a user on another node,
// a room spread over the nodes hears what is said in it, a shout reaches
// everyone.
func TestEtcdChatAcrossNodes(t *testing.T) {
	e := startEtcd(t, 1)
	_, u := startNodes(t, e.endpoints(), "alice", "cat", "bob")
	alice, cat, bob := u[0], u[1], u[2]

	alice.Whisper(bob, "psst")
	bob.Whisper(cat, "hi cat")
	alice.Send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	alice.ExpectRaw(`{"type":"error","error":"zed is offline"}`)

	alice.Send(`{"type":"join","room":"lobby"}`)
	alice.ExpectRaw(`{"type":"joined","room":"lobby","name":"alice"}`)
	alice.Whisper(bob, "join us") // alice's join has reached bob's node
	bob.Send(`{"type":"join","room":"lobby"}`)
	for _, x := range []*user{alice, bob} {
		x.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	}
	bob.Send(`{"type":"say","room":"lobby","text":"hi all"}`)
	for _, x := range []*user{alice, bob} {
		x.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi all"}`)
	}
	cat.Send(`{"type":"shout","text":"HEY"}`)
	for _, x := range []*user{alice, bob, cat} {
		x.ExpectRaw(`{"type":"shouted","from":"cat","text":"HEY"}`)
	}
}

// TestEtcdKilledNodeLeaves: a node killed with SIGKILL stops renewing its
// lease; etcd expires it and every other node drops it within the TTL
// and a second.
func TestEtcdKilledNodeLeaves(t *testing.T) {
	e := startEtcd(t, 1)
	n, u := startNodes(t, e.endpoints(), "alice", "cat", "bob")

	t0 := time.Now()
	n[2].Kill()
	expectDropped(t, "the killed node", t0, n[:2])
	for _, x := range u[:2] {
		x.WaitStats(2, 2)
	}
	u[0].Send(`{"type":"whisper","to":"bob","text":"there?"}`)
	u[0].ExpectRaw(`{"type":"error","error":"bob is offline"}`)
	u[1].Whisper(u[0], "we are fine")
}

// TestEtcdFrozenNodeLeavesAndRejoins: a node stopped with SIGSTOP keeps
// its sockets open but renews nothing; the others drop it by the TTL.
// Continued, it registers again and is back in every list.
func TestEtcdFrozenNodeLeavesAndRejoins(t *testing.T) {
	e := startEtcd(t, 1)
	n, u := startNodes(t, e.endpoints(), "alice", "cat", "bob")

	t0 := time.Now()
	n[2].Signal(syscall.SIGSTOP)
	expectDropped(t, "the frozen node", t0, n[:2])
	for _, x := range u[:2] {
		x.WaitStats(2, 2)
	}

	t1 := time.Now()
	n[2].Signal(syscall.SIGCONT)
	for _, x := range u {
		d := x.WaitStats(3, 3).Sub(t1)
		t.Logf("%s's node counts the continued node again %v after SIGCONT", x.Name, d.Round(time.Millisecond))
	}
	u[0].Whisper(u[2], "welcome back")
	u[2].Whisper(u[1], "thanks")
}

// TestEtcdOutage: with etcd stopped for ten seconds the nodes keep their
// lists and every message between them arrives; they are unready while
// they cannot renew their leases. A node started during the outage is in
// every list soon after etcd returns.
func TestEtcdOutage(t *testing.T) {
	e := startEtcd(t, 1)
	n, u := startNodes(t, e.endpoints(), "alice", "cat")
	alice, cat := u[0], u[1]
	if code := n[0].readyz(); code != http.StatusOK {
		t.Fatalf("/readyz %d before the outage, want 200", code)
	}

	const outage = 10 * time.Second
	e.members[0].stop()
	stopped := time.Now()
	sent := 0
	var late *node
	for i := 0; time.Since(stopped) < outage; i++ {
		text := fmt.Sprint("round ", i)
		alice.Whisper(cat, text)
		cat.Whisper(alice, text)
		sent += 2
		if late == nil && time.Since(stopped) > 2*time.Second {
			// Its start waits a while for etcd, then serves.
			late = startNode(t, nodeIPs[2], e.endpoints())
		}
		time.Sleep(100 * time.Millisecond) // pace the rounds over the outage
	}
	t.Logf("%d whispers sent and received between live nodes during a %v etcd outage", sent, outage)
	if code := n[0].readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d during the outage, want 503", code)
	}
	dave := login(t, late.url(), "dave")

	e.members[0].start()
	back := time.Now()
	t.Logf("etcd stopped for %v (restart included)", back.Sub(stopped).Round(time.Millisecond))
	for _, x := range []*user{alice, cat, dave} {
		d := x.WaitStats(3, 3).Sub(back)
		t.Logf("%s's node counts the node started during the outage %v after etcd returned", x.Name, d.Round(time.Millisecond))
		if d > 2*time.Second+dropMargin {
			t.Errorf("%s's node counted the late node %v after etcd returned, want within 2s (+%v margin)", x.Name, d, dropMargin)
		}
	}
	d := n[0].waitReadyz(http.StatusOK).Sub(back)
	t.Logf("/readyz 200 again %v after etcd returned", d.Round(time.Millisecond))
	alice.Whisper(dave, "welcome")
	dave.Whisper(cat, "thanks")
}

// TestEtcdMemberLost: on a three-member etcd, losing one member (its
// leader, the harder case) changes nothing for the nodes: messages flow,
// a new node joins, and a killed node still leaves every list.
func TestEtcdMemberLost(t *testing.T) {
	e := startEtcd(t, 3)
	n, u := startNodes(t, e.endpoints(), "alice", "cat", "bob")

	for _, m := range e.members {
		if m.isLeader() {
			m.stop()
			t.Logf("stopped etcd member %s, the leader", m.name)
			break
		}
	}
	u[0].Whisper(u[2], "still here")
	late := startNode(t, nodeIPs[3], e.endpoints())
	dave := login(t, late.url(), "dave")
	for _, x := range append(u, dave) {
		x.WaitStats(4, 4)
	}
	dave.Whisper(u[0], "hello")
	// A new etcd leader extends every lease by its election timeout
	// (lessor Promote), until the lease's next keepalive reaches it; a
	// node whose client was on the stopped member renews only once it has
	// failed over. One TTL lets every node renew (keepalives go every
	// TTL/3), so the kill below is timed against a plain lease, as with a
	// whole etcd: the drop is then bound by the TTL, not TTL + election.
	time.Sleep(ttl)

	t0 := time.Now()
	n[2].Kill()
	expectDropped(t, "the killed node, one etcd member down,", t0, []*node{n[0], n[1], late})
	for _, x := range []*user{u[0], u[1], dave} {
		x.WaitStats(3, 3)
	}
}

// TestEtcdShutdownLeavesAtOnce: a node that shuts down (SIGTERM) revokes
// its lease before it exits, so its key is gone when it has exited, not a
// TTL later, and the others drop it.
func TestEtcdShutdownLeavesAtOnce(t *testing.T) {
	e := startEtcd(t, 1)
	n, u := startNodes(t, e.endpoints(), "alice", "cat")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.members[0].client}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	key := "/" + prefix + "/" + n[1].id // as --discovery etcd://.../prefix makes it
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if resp, err := cli.Get(ctx, key); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("key %s of a live node: %v, %v", key, resp, err)
	}

	n[1].Signal(syscall.SIGTERM)
	select {
	case <-n[1].Done:
	case <-time.After(wait):
		t.Fatalf("%s did not exit within %v of SIGTERM", n[1].Name, wait)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("key %s after its node exited: %v, %v; want it gone, the lease revoked", key, resp.Kvs, err)
	}
	u[0].WaitStats(1, 1)
}

// TestEtcdNodeIDs: a node killed and started again at once with the same
// -node-id waits out its predecessor's lease and joins; a second live node
// with a node's id refuses to start.
func TestEtcdNodeIDs(t *testing.T) {
	e := startEtcd(t, 1)
	n0 := startNode(t, nodeIPs[0], e.endpoints())
	old := startNode(t, nodeIPs[1], e.endpoints(), "-node-id", "0xbeef")
	alice := login(t, n0.url(), "alice")
	login(t, old.url(), "bob")
	alice.WaitStats(2, 2)

	// A second live node with id 0xbeef.
	twin := exec.Command(wsgateBin, "serve", "-listen", nodeIPs[2]+":0", "-rpc", nodeIPs[2]+":0",
		"-discovery", "etcd://"+e.endpoints()+"/"+prefix, "-secret", secret, "-node-id", "0xbeef", "-log-level", "warn")
	twin.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := twin.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "-discovery") || !strings.Contains(string(out), "taken") {
		t.Fatalf("a second node with a live node's id: %v, output:\n%s\nwant exit status 1 naming -discovery and the taken id", err, out)
	}

	// The node crashes and is started again at once.
	old.Kill()
	t0 := time.Now()
	restarted := startNode(t, nodeIPs[1], e.endpoints(), "-node-id", "0xbeef")
	bob := login(t, restarted.url(), "bob")
	alice.WaitStats(2, 2)
	t.Logf("a node restarted at once after kill -9 with its id is back %v after its start", time.Since(t0).Round(time.Millisecond))
	alice.Whisper(bob, "welcome back")
}

// TestEtcdPartitionedNode: a node cut off from etcd (its connection
// silent, not closed, as in a partition) stops renewing its lease: the
// others drop it within the TTL and it turns unready. When the network
// heals it registers again and is back in every list.
func TestEtcdPartitionedNode(t *testing.T) {
	e := startEtcd(t, 1)
	proxy := testutil.StartProxy(t, "127.0.0.1", e.members[0].client)
	a := startNode(t, nodeIPs[0], e.endpoints())
	b := startNode(t, nodeIPs[1], e.endpoints())
	cut := startNode(t, nodeIPs[2], proxy.Addr())
	u := []*user{login(t, a.url(), "alice"), login(t, b.url(), "cat"), login(t, cut.url(), "bob")}
	for _, x := range u {
		x.WaitStats(3, 3)
	}

	t0 := time.Now()
	proxy.Freeze()
	expectDropped(t, "the cut-off node", t0, []*node{a, b})
	for _, x := range u[:2] {
		x.WaitStats(2, 2)
	}
	d := cut.waitReadyz(http.StatusServiceUnavailable).Sub(t0)
	t.Logf("the cut-off node unready when checked, %v after the cut", d.Round(time.Millisecond))

	t1 := time.Now()
	proxy.Thaw()
	for _, x := range u {
		x.WaitStats(3, 3)
	}
	cut.waitReadyz(http.StatusOK)
	t.Logf("the healed node back in every list and ready %v after the network healed", time.Since(t1).Round(time.Millisecond))
	u[0].Whisper(u[2], "welcome back")
}
