package router

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestRouterConcurrent hammers one router from many goroutines over real
// connections (run with -race): binds, joins, fan-out, info, removal. Once
// every client is removed, no uid or group may be left.
func TestRouterConcurrent(t *testing.T) {
	const n, workers, rounds = 32, 16, 500
	node, cs := startLiveNode(t, n)
	r := node.r
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for i := 0; i < rounds; i++ {
				c := cs[rng.IntN(n)]
				name := fmt.Sprint(rng.IntN(6))
				switch rng.IntN(10) {
				case 0:
					r.BindUID(c.ID(), "u"+name)
				case 1:
					r.UnbindUID(c.ID())
				case 2:
					r.JoinGroup(c.ID(), "g"+name)
				case 3:
					r.LeaveGroup(c.ID(), "g"+name)
				case 4:
					r.SendToGroups([]string{"g" + name, "g1"}, wsproto.OpText, []byte("x"), []string{c.ID()})
				case 5:
					r.SendToUIDs([]string{"u" + name}, wsproto.OpText, []byte("y"))
				case 6:
					r.Ungroup("g" + name)
				case 7:
					r.UpdateInfo(c.ID(), map[string]string{"i": name})
					r.InfosByGroup("g" + name)
				case 8:
					r.UIDsByGroup("g" + name)
					r.SendToAll(wsproto.OpBinary, []byte{1}, nil)
				case 9:
					if rng.IntN(50) == 0 {
						r.Closing(c)
						r.Remove(c)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range cs {
		r.Closing(c)
		r.Remove(c)
	}
	if r.ClientCount() != 0 || len(r.UIDs()) != 0 || len(r.Groups()) != 0 || len(r.ClientIDs()) != 0 {
		t.Fatalf("left behind: %d clients, uids %v, groups %v", r.ClientCount(), r.UIDs(), r.Groups())
	}
}

func TestRemovedClientRefusesCalls(t *testing.T) {
	node, cs := startLiveNode(t, 1)
	r, c := node.r, cs[0]
	if _, err := r.Add(c.ID(), c.Conn(), "", nil); !errors.Is(err, ErrDuplicateClient) {
		t.Fatalf("duplicate add: %v", err)
	}
	r.Closing(c)
	if err := r.BindUID(c.ID(), "u"); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("bind while closing: %v", err)
	}
	if err := r.UnbindUID(c.ID()); err != nil {
		t.Fatalf("unbind while closing: %v", err)
	}
	r.Remove(c)
	r.Remove(c) // twice is harmless
	if r.ClientCount() != 0 {
		t.Fatalf("count %d", r.ClientCount())
	}
	if _, err := r.UIDOf(c.ID()); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("uid of removed: %v", err)
	}
}

// TestFanOutSharesOneFrame checks that a group send reaches every member
// through real sockets.
func TestFanOutSharesOneFrame(t *testing.T) {
	const n = 50
	node, cs := startLiveNode(t, n)
	for _, c := range cs {
		if err := node.r.JoinGroup(c.ID(), "all"); err != nil {
			t.Fatal(err)
		}
	}
	payload := make([]byte, 1000)
	if got := node.r.SendToGroups([]string{"all"}, wsproto.OpBinary, payload, nil); got != n {
		t.Fatalf("queued on %d, want %d", got, n)
	}
	want := int64(n * (len(payload) + 4)) // 4-byte header for 126..65535 bytes
	deadline := time.Now().Add(10 * time.Second)
	for node.read.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("clients read %d bytes, want %d", node.read.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFanOutAllocsIndependentOfMembers checks that a group send encodes
// its frame once: the allocations of one send do not grow with the group.
func TestFanOutAllocsIndependentOfMembers(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	allocs := func(members int) float64 {
		r := New(Options{})
		gen := NewIDGenerator(1)
		conns := make([]countingConn, members)
		for i := range conns {
			c, _ := r.Add(gen.Next(), &conns[i], "", nil)
			r.JoinGroup(c.ID(), "g")
		}
		groups, msg := []string{"g"}, []byte("hello")
		r.SendToGroups(groups, wsproto.OpText, msg, nil) // warm the pools
		return testing.AllocsPerRun(50, func() { r.SendToGroups(groups, wsproto.OpText, msg, nil) })
	}
	small, large := allocs(10), allocs(5000)
	if large > small || large > 1 {
		t.Fatalf("allocations per send: %v with 10 members, %v with 5000", small, large)
	}
}

// TestCountsFollowTables checks that CountUIDs and CountGroups agree with
// the listings as clients bind, join, leave and go.
func TestCountsFollowTables(t *testing.T) {
	node, cs := startLiveNode(t, 3)
	r := node.r
	check := func(uids, groups int) {
		t.Helper()
		if got := r.CountUIDs(); got != uids || len(r.UIDs()) != uids {
			t.Fatalf("uids: count %d, listed %v, want %d", got, r.UIDs(), uids)
		}
		if got := r.CountGroups(); got != groups || len(r.Groups()) != groups {
			t.Fatalf("groups: count %d, listed %v, want %d", got, r.Groups(), groups)
		}
	}
	check(0, 0)
	r.BindUID(cs[0].ID(), "alice")
	r.BindUID(cs[1].ID(), "alice")
	r.BindUID(cs[2].ID(), "bob")
	r.JoinGroup(cs[0].ID(), "room")
	r.JoinGroup(cs[1].ID(), "room")
	r.JoinGroup(cs[1].ID(), "lobby")
	check(2, 2)
	r.LeaveGroup(cs[1].ID(), "lobby")
	r.UnbindUID(cs[2].ID())
	check(1, 1)
	for _, c := range cs {
		r.Closing(c)
		r.Remove(c)
	}
	check(0, 0)
}
