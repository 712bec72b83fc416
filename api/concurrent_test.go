package api

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/poller"
)

// TestConcurrentUse runs many goroutines binding, joining, sending, reading
// and closing at once (run it with -race), then checks that once every
// client is gone, nothing is left behind: no uid online, no group, no info.
// It runs with the handlers on goroutines of their own and inline, where
// closes from the workers meet read tasks on the event loop's goroutine.
func TestConcurrentUse(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) { testConcurrentUse(t, inline) })
	}
}

func testConcurrentUse(t *testing.T, inline bool) {
	const (
		clients = 40
		rounds  = 200
	)
	app := newRecorder()
	g := startGatewayWith(t, Options{Server: poller.Options{InlineHandlers: inline}}, app)
	a := g.Api()
	cs := make([]*client, clients)
	ids := make([]string, clients)
	for i := range cs {
		cs[i] = dial(t, g)
		ids[i] = cs[i].id
	}
	// Every client reads until its connection ends, so no queue fills.
	var readers sync.WaitGroup
	for _, c := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if _, _, err := c.Next(wait); err != nil {
					return
				}
			}
		}()
	}

	var workers sync.WaitGroup
	for w := 0; w < clients; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := 0; r < rounds; r++ {
				id := ids[rng.IntN(clients)]
				uid := fmt.Sprintf("u%d", rng.IntN(8))
				group := fmt.Sprintf("g%d", rng.IntN(8))
				// Errors are expected here: clients close underneath.
				switch rng.IntN(12) {
				case 0:
					a.BindUID(bg, id, uid)
				case 1:
					a.UnbindUID(bg, id)
				case 2:
					a.JoinGroup(bg, id, group)
				case 3:
					a.LeaveGroup(bg, id, group)
				case 4:
					a.SendToGroup(bg, group, []byte("g"), Exclude(id))
				case 5:
					a.SendToUID(bg, uid, []byte("u"))
				case 6:
					a.SendToAll(bg, []byte("a"))
				case 7:
					a.UpdateInfo(bg, id, map[string]string{"r": fmt.Sprint(r)})
				case 8:
					a.GetClientInfosByGroup(bg, group)
					a.GetUIDsByGroup(bg, group)
				case 9:
					a.Ungroup(bg, group)
				case 10:
					a.GetAllUIDs(bg)
					a.GetAllGroups(bg)
					a.GetInfo(bg, id)
				case 11:
					if rng.IntN(20) == 0 {
						a.CloseClient(bg, id, CloseOptions{})
					}
				}
			}
		}()
	}
	// Clients also leave on their own while the workers run.
	for i := 0; i < clients; i += 4 {
		cs[i].Conn.Close()
	}
	workers.Wait()
	for _, c := range cs {
		c.Conn.Close()
	}
	readers.Wait()
	waitFor(t, "every client gone", func() bool { n, _ := a.GetAllClientCount(bg); return n == 0 })
	if uids, _ := a.GetAllUIDs(bg); len(uids) != 0 {
		t.Fatalf("uids left behind: %v", uids)
	}
	if groups, _ := a.GetAllGroups(bg); len(groups) != 0 {
		t.Fatalf("groups left behind: %v", groups)
	}
	for _, id := range ids {
		if _, err := a.GetInfo(bg, id); err == nil {
			t.Fatalf("info of %s left behind", id)
		}
	}
}
