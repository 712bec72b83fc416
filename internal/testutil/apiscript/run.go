package apiscript

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/api"
)

// Run makes every kind of Api call over six clients c0..c5 and an id
// no client has, and returns a record of the answers and of what each
// client received, with clientIDs replaced by those names and listings
// sorted.
func Run(t testing.TB, a api.Api, cs []*Client, unknown string) []string {
	t.Helper()
	names := map[string]string{unknown: "unknown"}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
		names[c.ID] = fmt.Sprintf("c%d", i)
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
		case errors.Is(err, api.ErrClientOffline):
			return "offline"
		case errors.Is(err, api.ErrEmptyUID):
			return "empty uid"
		case errors.Is(err, api.ErrEmptyGroup):
			return "empty group"
		case errors.Is(err, api.ErrInvalidUTF8):
			return "invalid utf-8"
		case errors.Is(err, api.ErrBadCloseCode):
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
	rec("SendToClient c1 binary: %s", errText(a.SendToClient(bg, c1, []byte{0xff, 0}, api.Binary)))
	rec("SendToAll but c1: %s", errText(a.SendToAll(bg, []byte("all but c1"), api.Exclude(c1))))
	rec("SendToClients: %s", errText(a.SendToClients(bg, []string{c0, c3, c3, unknown, c4}, []byte("list"), api.Exclude(c4))))
	rec("SendToUID u2: %s", errText(a.SendToUID(bg, "u2", []byte("to u2"))))
	rec("SendToUIDs u1 u3: %s", errText(a.SendToUIDs(bg, []string{"u1", "u3", "u9"}, []byte("to u1 u3"))))
	rec("SendToGroup g1 but c0: %s", errText(a.SendToGroup(bg, "g1", []byte("g1 but c0"), api.Exclude(c0))))
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

	rec("CloseClient c4 1005: %s", errText(a.CloseClient(bg, c4, api.CloseOptions{Code: 1005})))
	rec("CloseClient c3: %s", errText(a.CloseClient(bg, c3, api.CloseOptions{Final: []byte("bye"), Code: 4000, Reason: "done"})))
	rec("CloseClient unknown: %s", errText(a.CloseClient(bg, unknown, api.CloseOptions{})))
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

// RunFromClient clears the cluster of nodes (closes the clients the script
// ran with), joins a connection-less Client configured by o, and runs the
// script from it over clients spread anew: the cluster must answer a
// member without clients as it answers a node.
func RunFromClient(t testing.TB, nodes []*api.Gateway, clients []*Client, o api.ClusterOptions, unknown string) []string {
	t.Helper()
	for _, cl := range clients {
		cl.Conn.Close()
	}
	waitFor(t, "every client gone", func() bool {
		n, err := nodes[0].Api().GetAllClientCount(bg)
		return err == nil && n == 0
	})
	member, err := api.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { member.Close(bg) })
	waitFor(t, "the Client to reach the nodes", func() bool { return len(member.Peers()) == len(nodes) })
	for _, g := range nodes {
		if slices.Contains(g.Peers(), member.ID()) {
			t.Fatalf("node %s lists the connection-less member %s as a peer", g.NodeID(), member.ID())
		}
	}
	return Run(t, member.Api(), Spread(t, nodes...), unknown)
}
