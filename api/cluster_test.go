package api

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/router"
)

// TestClusterAnswersAsOneNode runs the same script of Api calls against one
// node and against three nodes with the clients spread over them, from a
// node and from a connection-less Client, and expects the same record of
// answers and deliveries from all three.
func TestClusterAnswersAsOneNode(t *testing.T) {
	single := startGateway(t, newRecorder())
	var clients []*client
	for range 6 {
		clients = append(clients, dial(t, single))
	}
	unknown := router.ClientIDParts{Node: single.NodeID(), Incarnation: 1, Seq: 1 << 40}.String()
	want := apiScript(t, single.Api(), clients, unknown)

	c := startCluster(t, 3)
	unknown = router.ClientIDParts{Node: c.nodes[1].NodeID(), Incarnation: 1, Seq: 1 << 40}.String()
	spread := func() []*client {
		var cs []*client
		for i := range 6 {
			cs = append(cs, dial(t, c.nodes[i%3]))
		}
		return cs
	}
	clients = spread()
	got := apiScript(t, c.nodes[0].Api(), clients, unknown)
	diffLogs(t, "cluster, from a node", want, got)

	// Clear the cluster, then run the script from a connection-less member.
	for _, cl := range clients {
		cl.Conn.Close()
	}
	waitFor(t, "every client gone", func() bool {
		n, err := c.nodes[0].Api().GetAllClientCount(bg)
		return err == nil && n == 0
	})
	member, err := NewClient(ClusterOptions{Registers: []string{c.reg.addr}, Secret: testSecret, Logger: quiet})
	must(t, err)
	t.Cleanup(func() { member.Close(bg) })
	waitFor(t, "the Client to reach the nodes", func() bool { return len(member.Peers()) == 3 })
	for _, g := range c.nodes {
		if slices.Contains(g.Peers(), member.ID()) {
			t.Fatalf("node %s lists the connection-less member %s as a peer", g.NodeID(), member.ID())
		}
	}
	got = apiScript(t, member.Api(), spread(), unknown)
	diffLogs(t, "cluster, from a Client", want, got)
}

func diffLogs(t *testing.T, what string, want, got []string) {
	t.Helper()
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("%s: line %d:\n got  %s\n want %s", what, i, g, w)
		}
	}
}

// apiScript makes every kind of Api call over six clients c0..c5 and an id
// no client has, and returns a record of the answers and of what each
// client received, with clientIDs replaced by those names and listings
// sorted.
func apiScript(t *testing.T, a Api, cs []*client, unknown string) []string {
	t.Helper()
	names := map[string]string{unknown: "unknown"}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
		names[c.id] = fmt.Sprintf("c%d", i)
	}
	nameList := func(l []string) string {
		out := make([]string, len(l))
		for i, id := range l {
			out[i] = names[id]
			if out[i] == "" {
				out[i] = "?" + id
			}
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	var log []string
	rec := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	errText := func(err error) string {
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, ErrClientOffline):
			return "offline"
		case errors.Is(err, ErrEmptyUID):
			return "empty uid"
		case errors.Is(err, ErrEmptyGroup):
			return "empty group"
		case errors.Is(err, ErrInvalidUTF8):
			return "invalid utf-8"
		case errors.Is(err, ErrBadCloseCode):
			return "bad close code"
		}
		return "error: " + err.Error()
	}
	c0, c1, c2, c3, c4, c5 := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]

	for _, b := range []struct{ id, uid string }{{c0, "u1"}, {c1, "u1"}, {c2, "u2"}, {c3, "u3"}, {c5, "u2"}, {c4, ""}, {unknown, "u1"}} {
		rec("BindUID %s %q: %s", names[b.id], b.uid, errText(a.BindUID(bg, b.id, b.uid)))
	}
	for _, j := range []struct{ id, group string }{{c0, "g1"}, {c2, "g1"}, {c4, "g1"}, {c5, "g1"}, {c1, "g2"}, {c2, "g2"}, {c3, "g2"}, {c2, "g3"}, {c2, "g3"}, {c0, ""}, {unknown, "g1"}} {
		rec("JoinGroup %s %q: %s", names[j.id], j.group, errText(a.JoinGroup(bg, j.id, j.group)))
	}
	rec("SetInfo c0: %s", errText(a.SetInfo(bg, c0, map[string]string{"a": "1"})))
	rec("UpdateInfo c0: %s", errText(a.UpdateInfo(bg, c0, map[string]string{"b": "2"})))
	rec("SetInfo c2: %s", errText(a.SetInfo(bg, c2, map[string]string{"x": "y"})))
	rec("UpdateInfo unknown: %s", errText(a.UpdateInfo(bg, unknown, map[string]string{"b": "2"})))
	rec("SetInfo unknown: %s", errText(a.SetInfo(bg, unknown, nil)))

	queries := func() {
		for _, uid := range []string{"u1", "u2", "u3", "u9"} {
			on, err := a.IsUIDOnline(bg, uid)
			rec("IsUIDOnline %s: %v %s", uid, on, errText(err))
			l, err := a.GetClientIDsByUID(bg, uid)
			rec("GetClientIDsByUID %s: %s %s", uid, nameList(l), errText(err))
		}
		for _, id := range append(slices.Clone(ids), unknown) {
			uid, err := a.GetUIDByClientID(bg, id)
			rec("GetUIDByClientID %s: %q %s", names[id], uid, errText(err))
			gs, err := a.GetGroupsByClientID(bg, id)
			slices.Sort(gs)
			rec("GetGroupsByClientID %s: %v %s", names[id], gs, errText(err))
			info, err := a.GetInfo(bg, id)
			rec("GetInfo %s: %v %v %s", names[id], info, info == nil, errText(err))
			on, err := a.IsOnline(bg, id)
			rec("IsOnline %s: %v %s", names[id], on, errText(err))
		}
		uids, err := a.GetAllUIDs(bg)
		slices.Sort(uids)
		rec("GetAllUIDs: %v %s", uids, errText(err))
		groups, err := a.GetAllGroups(bg)
		slices.Sort(groups)
		rec("GetAllGroups: %v %s", groups, errText(err))
		n, err := a.GetAllClientCount(bg)
		rec("GetAllClientCount: %d %s", n, errText(err))
		all, err := a.GetAllClientIDs(bg)
		rec("GetAllClientIDs: %s %s", nameList(all), errText(err))
		for _, g := range []string{"g1", "g2", "g3", "g9"} {
			n, err := a.GetClientCountByGroup(bg, g)
			rec("GetClientCountByGroup %s: %d %s", g, n, errText(err))
			l, err := a.GetClientIDsByGroup(bg, g)
			rec("GetClientIDsByGroup %s: %s %s", g, nameList(l), errText(err))
			uids, err := a.GetUIDsByGroup(bg, g)
			slices.Sort(uids)
			rec("GetUIDsByGroup %s: %v %s", g, uids, errText(err))
			n, err = a.GetUIDCountByGroup(bg, g)
			rec("GetUIDCountByGroup %s: %d %s", g, n, errText(err))
			infos, err := a.GetClientInfosByGroup(bg, g)
			var parts []string
			for _, id := range slices.Sorted(maps.Keys(infos)) {
				parts = append(parts, fmt.Sprintf("%s=%v", names[id], infos[id]))
			}
			slices.Sort(parts)
			rec("GetClientInfosByGroup %s: %v %s", g, parts, errText(err))
		}
	}
	queries()

	rec("SendToClient c4: %s", errText(a.SendToClient(bg, c4, []byte("to c4"))))
	rec("SendToClient unknown: %s", errText(a.SendToClient(bg, unknown, []byte("lost"))))
	rec("SendToClient c0 invalid: %s", errText(a.SendToClient(bg, c0, []byte{0xff})))
	rec("SendToClient c1 binary: %s", errText(a.SendToClient(bg, c1, []byte{0xff, 0}, Binary)))
	rec("SendToAll but c1: %s", errText(a.SendToAll(bg, []byte("all but c1"), Exclude(c1))))
	rec("SendToClients: %s", errText(a.SendToClients(bg, []string{c0, c3, c3, unknown, c4}, []byte("list"), Exclude(c4))))
	rec("SendToUID u2: %s", errText(a.SendToUID(bg, "u2", []byte("to u2"))))
	rec("SendToUIDs u1 u3: %s", errText(a.SendToUIDs(bg, []string{"u1", "u3", "u9"}, []byte("to u1 u3"))))
	rec("SendToGroup g1 but c0: %s", errText(a.SendToGroup(bg, "g1", []byte("g1 but c0"), Exclude(c0))))
	rec("SendToGroups g1 g2: %s", errText(a.SendToGroups(bg, []string{"g1", "g2"}, []byte("g1 g2"))))
	rec("SendToAll end: %s", errText(a.SendToAll(bg, []byte("end"))))
	for i, c := range cs {
		var got []string
		for {
			s, op, err := c.Next(wait)
			if err != nil {
				t.Fatalf("c%d read: %v", i, err)
			}
			if op == ws.OpBinary {
				s = fmt.Sprintf("binary %x", s)
			}
			if s == "end" {
				break
			}
			got = append(got, s)
		}
		rec("c%d received: %q", i, got)
	}

	rec("LeaveGroup c2 g1: %s", errText(a.LeaveGroup(bg, c2, "g1")))
	rec("LeaveGroup c2 g9: %s", errText(a.LeaveGroup(bg, c2, "g9")))
	rec("LeaveGroup unknown: %s", errText(a.LeaveGroup(bg, unknown, "g1")))
	rec("UnbindUID c1: %s", errText(a.UnbindUID(bg, c1)))
	rec("UnbindUID c4: %s", errText(a.UnbindUID(bg, c4)))
	rec("UnbindUID unknown: %s", errText(a.UnbindUID(bg, unknown)))
	rec("Ungroup g2: %s", errText(a.Ungroup(bg, "g2")))
	queries()

	rec("CloseClient c4 1005: %s", errText(a.CloseClient(bg, c4, CloseOptions{Code: 1005})))
	rec("CloseClient c3: %s", errText(a.CloseClient(bg, c3, CloseOptions{Final: []byte("bye"), Code: 4000, Reason: "done"})))
	rec("CloseClient unknown: %s", errText(a.CloseClient(bg, unknown, CloseOptions{})))
	rec("DestroyClient c5: %s", errText(a.DestroyClient(bg, c5)))
	rec("DestroyClient unknown: %s", errText(a.DestroyClient(bg, unknown)))
	ce, before := cs[3].CloseErr()
	rec("c3 closed: %d %q after %q", ce.Code, ce.Reason, before)
	if _, _, err := cs[5].Next(wait); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("c5 after DestroyClient: %v, want the connection dropped", err)
	}
	waitFor(t, "c3 and c5 gone", func() bool {
		n, err := a.GetAllClientCount(bg)
		return err == nil && n == 4
	})
	all, err := a.GetAllClientIDs(bg)
	rec("GetAllClientIDs: %s %s", nameList(all), errText(err))
	return log
}

func TestClusterOptionErrors(t *testing.T) {
	for name, o := range map[string]ClusterOptions{
		"no secret":            {Registers: []string{"127.0.0.1:1"}},
		"no register":          {Secret: "s"},
		"bad rpc address":      {Secret: "s", Registers: []string{"127.0.0.1:1"}, RPCListen: "127.0.0.1:-1"},
		"bad embedded address": {Secret: "s", EmbeddedRegister: "127.0.0.1:-1"},
	} {
		if _, err := NewGateway(Options{Cluster: &o, Server: serverOn0()}, newRecorder()); err == nil {
			t.Errorf("%s: NewGateway accepted %+v", name, o)
		}
	}
	if _, err := NewClient(ClusterOptions{Secret: "s", EmbeddedRegister: "127.0.0.1:0"}); err == nil {
		t.Error("NewClient accepted an EmbeddedRegister")
	}
	if _, err := NewClient(ClusterOptions{Registers: []string{"127.0.0.1:1"}}); err == nil {
		t.Error("NewClient accepted no secret")
	}
}

func TestDefaultNodeIDsDiffer(t *testing.T) {
	seen := map[NodeID]bool{}
	for range 20 {
		g, err := NewGateway(Options{Server: serverOn0()}, newRecorder())
		must(t, err)
		if g.NodeID() == 0 || seen[g.NodeID()] {
			t.Fatalf("default node id %s repeats or is zero", g.NodeID())
		}
		seen[g.NodeID()] = true
	}
}

// TestAsyncSendSkipsTheCheck: with Async, a send to a client of another
// node is queued without asking the node, so a client that is not there is
// not reported; without it, it is.
func TestAsyncSendSkipsTheCheck(t *testing.T) {
	c := startCluster(t, 2)
	a := c.nodes[0].Api()
	cl := dial(t, c.nodes[1])
	gone := router.ClientIDParts{Node: c.nodes[1].NodeID(), Incarnation: 1, Seq: 7}.String()
	if err := a.SendToClient(bg, gone, []byte("x")); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("send to an unknown remote client: %v, want ErrClientOffline", err)
	}
	must(t, a.SendToClient(bg, gone, []byte("x"), Async()))
	must(t, a.SendToClient(bg, cl.id, []byte("async"), Async()))
	if got := cl.Read(); got != "async" {
		t.Fatalf("got %q", got)
	}
}

// TestPartialErrorIsTyped checks that the cluster's partial answers can be
// told apart with errors.As.
func TestPartialErrorIsTyped(t *testing.T) {
	var err error = &PartialError{Missing: []string{"0000000a"}}
	var pe *PartialError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &pe) || pe.Missing[0] != "0000000a" {
		t.Fatalf("errors.As: %v", pe)
	}
}
