package etcdtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/wsgate/wsgate/register"
)

// newSource makes an Etcd source for self on e, closed by the test's
// cleanup.
func newSource(t *testing.T, e *etcdCluster, self register.Peer) (*register.Etcd, chan []register.Peer) {
	t.Helper()
	src, err := register.NewEtcd(register.EtcdOptions{Endpoints: []string{e.members[0].client}, Prefix: prefix, Self: self})
	if err != nil {
		t.Fatal(err)
	}
	lists := make(chan []register.Peer, 100)
	src.OnChange(func(p []register.Peer) { lists <- p })
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, lists
}

// waitList waits for the list want on lists and returns when it came.
func waitList(t *testing.T, lists chan []register.Peer, want []register.Peer) time.Time {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case got := <-lists:
			if slices.Equal(got, want) {
				return time.Now()
			}
		case <-timeout:
			t.Fatalf("no list %v within %v", want, wait)
		}
	}
}

func joined(t *testing.T, src register.Source) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return src.Joined(ctx)
}

// TestEtcdSourceJoinAndLeave: two sources see each other; one that closes
// revokes its lease, so the other drops it at once, not after the TTL.
func TestEtcdSourceJoinAndLeave(t *testing.T) {
	e := startEtcd(t, 1)
	a := register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1}
	b := register.Peer{ID: "0000000b", Addr: "127.0.0.2:7001", Incarnation: 1}
	srcA, listsA := newSource(t, e, a)
	srcB, _ := newSource(t, e, b)
	for _, src := range []register.Source{srcA, srcB} {
		if err := joined(t, src); err != nil {
			t.Fatal(err)
		}
		if err := src.Ready(); err != nil {
			t.Fatalf("joined but not ready: %v", err)
		}
	}
	waitList(t, listsA, []register.Peer{b})

	t0 := time.Now()
	srcB.Close()
	if d := waitList(t, listsA, []register.Peer{}).Sub(t0); d > time.Second {
		t.Fatalf("a closed source left the list after %v, want at once (its lease revoked)", d)
	}
}

// TestEtcdSourceIDTaken: a second live node with the same id and another
// incarnation is refused; the same incarnation (the node itself, on a new
// lease) is not.
func TestEtcdSourceIDTaken(t *testing.T) {
	e := startEtcd(t, 1)
	first, _ := newSource(t, e, register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1})
	if err := joined(t, first); err != nil {
		t.Fatal(err)
	}
	second, _ := newSource(t, e, register.Peer{ID: "0000000a", Addr: "127.0.0.2:7001", Incarnation: 2})
	if err := joined(t, second); !errors.Is(err, register.ErrNodeIDTaken) {
		t.Fatalf("second node with the id: %v, want ErrNodeIDTaken", err)
	}
	if second.Ready() == nil {
		t.Fatal("a refused node is ready")
	}
	again, _ := newSource(t, e, register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1})
	if err := joined(t, again); err != nil {
		t.Fatalf("the same incarnation again: %v", err)
	}
}

// TestEtcdSourceKeyDeletedByHand: a node whose key is deleted while its
// lease lives (an operator's mistake, a restore) puts it back.
func TestEtcdSourceKeyDeletedByHand(t *testing.T) {
	e := startEtcd(t, 1)
	a := register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1}
	b := register.Peer{ID: "0000000b", Addr: "127.0.0.2:7001", Incarnation: 1}
	srcA, listsA := newSource(t, e, a)
	srcB, _ := newSource(t, e, b)
	waitList(t, listsA, []register.Peer{b})

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.members[0].client}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	del, err := cli.Delete(ctx, srcB.Key())
	if err != nil || del.Deleted != 1 {
		t.Fatalf("delete %s: %v, %v", srcB.Key(), del, err)
	}
	// The key comes back, written after the deletion. (The others may
	// never be told of the empty list in between: a newer list wins over
	// one not yet delivered.)
	waitFor(t, "the key put back", func() bool {
		resp, err := cli.Get(ctx, srcB.Key())
		return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].ModRevision > del.Header.Revision
	})
	waitFor(t, "a lists b again", func() bool { return slices.Equal(srcA.Peers(), []register.Peer{b}) })
	// Ready follows once the new lease's renewals run.
	deadline := time.Now().Add(wait)
	for srcB.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := srcB.Ready(); err != nil {
		t.Fatalf("back in the list but not ready: %v", err)
	}
}

// TestEtcdSourceEtcdLostItsData: an etcd that comes back empty (a member
// without its data) has new, lower revisions; the nodes register again
// and read the list afresh rather than wait on a watch at the old
// revision.
func TestEtcdSourceEtcdLostItsData(t *testing.T) {
	e := startEtcd(t, 1)
	a := register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1}
	b := register.Peer{ID: "0000000b", Addr: "127.0.0.2:7001", Incarnation: 1}
	_, listsA := newSource(t, e, a)
	_, listsB := newSource(t, e, b)
	waitList(t, listsA, []register.Peer{b})
	waitList(t, listsB, []register.Peer{a})

	m := e.members[0]
	m.stop()
	m.dir = t.TempDir()
	m.start()
	// Each lists the other once both registered again; the lists never
	// went empty meanwhile, so a third node is the proof of a fresh read.
	c := register.Peer{ID: "0000000c", Addr: "127.0.0.3:7001", Incarnation: 1}
	newSource(t, e, c)
	waitList(t, listsA, []register.Peer{b, c})
	waitList(t, listsB, []register.Peer{a, c})
}

// TestEtcdSourceAuth: with auth on in etcd, a node with the right user
// and password joins; one with a wrong password is refused for good, at
// once, rather than retrying.
func TestEtcdSourceAuth(t *testing.T) {
	e := startEtcd(t, 1)
	ep := []string{e.members[0].client}
	cli, err := clientv3.New(clientv3.Config{Endpoints: ep, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, step := range []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("turn auth on: %v", err)
		}
	}

	source := func(password string) *register.Etcd {
		src, err := register.NewEtcd(register.EtcdOptions{Endpoints: ep, Prefix: prefix, Username: "root", Password: password,
			Self: register.Peer{ID: "0000000a", Addr: "127.0.0.1:7001", Incarnation: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	if err := joined(t, source("wrong")); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a wrong password: %v, want refused for good", err)
	}
	if err := joined(t, source("rootpw")); err != nil {
		t.Fatalf("the right password: %v", err)
	}

	// With a password the client authenticates as it is made: a node that
	// starts while etcd is down still joins once etcd returns.
	e.members[0].stop()
	late, err := register.NewEtcd(register.EtcdOptions{Endpoints: ep, Prefix: prefix, Username: "root", Password: "rootpw",
		Self: register.Peer{ID: "0000000b", Addr: "127.0.0.2:7001", Incarnation: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.Close() })
	time.Sleep(time.Second)
	if late.Ready() == nil {
		t.Fatal("ready with etcd down")
	}
	e.members[0].start()
	if err := joined(t, late); err != nil {
		t.Fatalf("a node started while etcd was down, after etcd returned: %v", err)
	}
}
