package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/poller"
)

var bg = context.Background()

func TestSendToClientTextAndBinary(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c := dial(t, g)

	must(t, a.SendToClient(bg, c.id, []byte("hello")))
	if got := c.Read(); got != "hello" {
		t.Fatalf("got %q", got)
	}
	must(t, a.SendToClient(bg, c.id, []byte{0xff, 0x00}, Binary))
	s, op, err := c.Next(wait)
	if err != nil || op != ws.OpBinary || s != "\xff\x00" {
		t.Fatalf("binary send: %q %v %v", s, op, err)
	}
	if err := a.SendToClient(bg, c.id, []byte{0xff}); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("invalid UTF-8 as text: %v, want ErrInvalidUTF8", err)
	}
}

func TestOnMessageTellsTextFromBinary(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	c := dial(t, g)
	c.Send("text")
	must(t, c.SendBinary([]byte{1, 2, 3}))
	m := recv(t, app.messages, "text message")
	if m.id != c.id || m.typ != Text || m.data != "text" {
		t.Fatalf("got %+v", m)
	}
	m = recv(t, app.messages, "binary message")
	if m.typ != Binary || m.data != "\x01\x02\x03" {
		t.Fatalf("got %+v", m)
	}
}

func TestSendToAllListsAndExcludes(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2, c3 := dial(t, g), dial(t, g), dial(t, g)

	must(t, a.SendToAll(bg, []byte("all")))
	for _, c := range []*client{c1, c2, c3} {
		if got := c.Read(); got != "all" {
			t.Fatalf("%s got %q", c.id, got)
		}
	}
	must(t, a.SendToAll(bg, []byte("not c2"), Exclude(c2.id)))
	must(t, a.SendToClients(bg, []string{c2.id, c3.id, c3.id, "0000000100000000000000000000000000000099"}, []byte("list")))
	must(t, a.SendToClients(bg, []string{c1.id, c2.id}, []byte("list minus c1"), Exclude(c1.id)))
	must(t, a.SendToAll(bg, []byte("end")))

	want := map[*client][]string{
		c1: {"not c2", "end"},
		c2: {"list", "list minus c1", "end"},
		c3: {"not c2", "list", "end"},
	}
	for c, msgs := range want {
		for _, w := range msgs {
			if got := c.Read(); got != w {
				t.Fatalf("%s got %q, want %q", c.id, got, w)
			}
		}
	}
}

func TestSendToUIDsAndGroups(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2, c3, c4 := dial(t, g), dial(t, g), dial(t, g), dial(t, g)
	must(t, a.BindUID(bg, c1.id, "ann"))
	must(t, a.BindUID(bg, c2.id, "ann"))
	must(t, a.BindUID(bg, c3.id, "bob"))
	must(t, a.JoinGroup(bg, c1.id, "red"))
	must(t, a.JoinGroup(bg, c3.id, "red"))
	must(t, a.JoinGroup(bg, c3.id, "blue"))
	must(t, a.JoinGroup(bg, c4.id, "blue"))

	must(t, a.SendToUID(bg, "ann", []byte("to ann")))
	must(t, a.SendToUID(bg, "nobody", []byte("lost")))
	must(t, a.SendToUIDs(bg, []string{"bob", "ann"}, []byte{7}, Binary))
	must(t, a.SendToGroup(bg, "red", []byte("red")))
	must(t, a.SendToGroup(bg, "blue", []byte("blue minus c4"), Exclude(c4.id)))
	must(t, a.SendToGroups(bg, []string{"red", "blue"}, []byte("red+blue once")))
	must(t, a.SendToGroups(bg, []string{"red", "blue"}, []byte("red+blue minus c3"), Exclude(c3.id)))
	must(t, a.SendToAll(bg, []byte("end")))

	bin := "\x07"
	want := map[*client][]string{
		c1: {"to ann", bin, "red", "red+blue once", "red+blue minus c3", "end"},
		c2: {"to ann", bin, "end"},
		c3: {bin, "red", "blue minus c4", "red+blue once", "end"},
		c4: {"red+blue once", "red+blue minus c3", "end"},
	}
	for c, msgs := range want {
		for _, w := range msgs {
			got, _, err := c.Next(wait)
			if err != nil || got != w {
				t.Fatalf("%s got %q (%v), want %q", c.id, got, err, w)
			}
		}
	}
}

func TestUIDRules(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2 := dial(t, g), dial(t, g)

	if on, _ := a.IsUIDOnline(bg, "ann"); on {
		t.Fatal("ann online before any bind")
	}
	if uid, err := a.GetUIDByClientID(bg, c1.id); err != nil || uid != "" {
		t.Fatalf("unbound client uid %q %v", uid, err)
	}
	if err := a.BindUID(bg, c1.id, ""); !errors.Is(err, ErrEmptyUID) {
		t.Fatalf("empty uid: %v", err)
	}
	must(t, a.BindUID(bg, c1.id, "ann"))
	must(t, a.BindUID(bg, c2.id, "ann"))
	must(t, a.BindUID(bg, c2.id, "ann")) // again: no-op
	ids, _ := a.GetClientIDsByUID(bg, "ann")
	if sorted(ids) != sorted([]string{c1.id, c2.id}) {
		t.Fatalf("ann's clients %v", ids)
	}
	// A client has one uid: binding another replaces it.
	must(t, a.BindUID(bg, c2.id, "bob"))
	if uid, _ := a.GetUIDByClientID(bg, c2.id); uid != "bob" {
		t.Fatalf("c2 uid %q after rebind", uid)
	}
	ids, _ = a.GetClientIDsByUID(bg, "ann")
	if sorted(ids) != sorted([]string{c1.id}) {
		t.Fatalf("ann's clients after rebind %v", ids)
	}
	all, _ := a.GetAllUIDs(bg)
	if sorted(all) != "[ann bob]" {
		t.Fatalf("all uids %v", all)
	}
	// Unbinding the last client takes the uid offline and out of listings.
	must(t, a.UnbindUID(bg, c2.id))
	must(t, a.UnbindUID(bg, c2.id))
	if on, _ := a.IsUIDOnline(bg, "bob"); on {
		t.Fatal("bob online after unbind")
	}
	all, _ = a.GetAllUIDs(bg)
	if sorted(all) != "[ann]" {
		t.Fatalf("all uids %v", all)
	}
	// Closing the last client of a uid takes it offline (the seed's bug).
	c1.Conn.Close()
	recv(t, app.closes, "close of c1")
	// OnClose has run; the client leaves its tables when it returns.
	waitFor(t, "ann to go offline after her last client closed", func() bool {
		on, _ := a.IsUIDOnline(bg, "ann")
		return !on
	})
	if ids, _ := a.GetClientIDsByUID(bg, "ann"); len(ids) != 0 {
		t.Fatalf("ann's clients after close: %v", ids)
	}
}

func TestGroupRules(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2, c3 := dial(t, g), dial(t, g), dial(t, g)
	must(t, a.BindUID(bg, c1.id, "ann"))
	must(t, a.BindUID(bg, c2.id, "ann"))
	must(t, a.SetInfo(bg, c1.id, map[string]string{"k": "1"}))

	if err := a.JoinGroup(bg, c1.id, ""); !errors.Is(err, ErrEmptyGroup) {
		t.Fatalf("empty group: %v", err)
	}
	for _, c := range []*client{c1, c2, c3} {
		must(t, a.JoinGroup(bg, c.id, "room"))
	}
	must(t, a.JoinGroup(bg, c1.id, "room")) // twice: no-op
	must(t, a.JoinGroup(bg, c1.id, "other"))

	check := func(wantIDs []string, wantUIDs string) {
		t.Helper()
		n, _ := a.GetClientCountByGroup(bg, "room")
		ids, _ := a.GetClientIDsByGroup(bg, "room")
		uids, _ := a.GetUIDsByGroup(bg, "room")
		un, _ := a.GetUIDCountByGroup(bg, "room")
		if n != len(wantIDs) || sorted(ids) != sorted(wantIDs) || sorted(uids) != wantUIDs || un != len(uids) {
			t.Fatalf("room: count %d ids %v uids %v uid count %d; want ids %v uids %s", n, ids, uids, un, wantIDs, wantUIDs)
		}
	}
	check([]string{c1.id, c2.id, c3.id}, "[ann]") // c3 has no uid
	infos, _ := a.GetClientInfosByGroup(bg, "room")
	if len(infos) != 3 || infos[c1.id]["k"] != "1" || len(infos[c2.id]) != 0 {
		t.Fatalf("infos %v", infos)
	}
	groups, _ := a.GetAllGroups(bg)
	if sorted(groups) != "[other room]" {
		t.Fatalf("groups %v", groups)
	}
	if mine, _ := a.GetGroupsByClientID(bg, c1.id); sorted(mine) != "[other room]" {
		t.Fatalf("c1's groups %v", mine)
	}

	must(t, a.LeaveGroup(bg, c2.id, "room"))
	must(t, a.LeaveGroup(bg, c2.id, "room")) // not in: no-op
	check([]string{c1.id, c3.id}, "[ann]")

	// Ungroup: the group is gone, its members stay connected.
	must(t, a.Ungroup(bg, "room"))
	check(nil, "[]")
	groups, _ = a.GetAllGroups(bg)
	if sorted(groups) != "[other]" {
		t.Fatalf("groups after ungroup %v", groups)
	}
	must(t, a.SendToGroup(bg, "room", []byte("lost")))
	must(t, a.SendToClient(bg, c3.id, []byte("still here")))
	if got := c3.Read(); got != "still here" {
		t.Fatalf("c3 got %q", got)
	}
	// An empty group disappears from listings.
	must(t, a.LeaveGroup(bg, c1.id, "other"))
	if groups, _ = a.GetAllGroups(bg); len(groups) != 0 {
		t.Fatalf("groups %v", groups)
	}
}

func TestInfoRules(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c := dial(t, g)

	info, err := a.GetInfo(bg, c.id)
	if err != nil || info == nil || len(info) != 0 {
		t.Fatalf("fresh info %v %v", info, err)
	}
	in := map[string]string{"name": "ann", "status": "busy"}
	must(t, a.SetInfo(bg, c.id, in))
	in["name"] = "changed by caller" // the node keeps a copy
	must(t, a.UpdateInfo(bg, c.id, map[string]string{"status": "away", "lang": "en"}))
	info, _ = a.GetInfo(bg, c.id)
	if want := map[string]string{"name": "ann", "status": "away", "lang": "en"}; !maps.Equal(info, want) {
		t.Fatalf("after update %v, want %v", info, want)
	}
	info["name"] = "changed by caller" // GetInfo returns a copy
	must(t, a.SetInfo(bg, c.id, map[string]string{"only": "this"}))
	info, _ = a.GetInfo(bg, c.id)
	if want := map[string]string{"only": "this"}; !maps.Equal(info, want) {
		t.Fatalf("after set %v, want %v", info, want)
	}
}

func TestCloseTimeRules(t *testing.T) {
	app := newRecorder()
	type seen struct {
		online, uidOnline bool
		uid               string
		groupCount        int
		groups            []string
		info              map[string]string
		joinErr, sendErr  error
	}
	during := make(chan seen, 1)
	app.onClose = func(id string) {
		var s seen
		s.online, _ = app.api.IsOnline(bg, id)
		s.uid, _ = app.api.GetUIDByClientID(bg, id)
		s.uidOnline, _ = app.api.IsUIDOnline(bg, "ann")
		s.groupCount, _ = app.api.GetClientCountByGroup(bg, "room")
		s.groups, _ = app.api.GetGroupsByClientID(bg, id)
		s.info, _ = app.api.GetInfo(bg, id)
		s.joinErr = app.api.JoinGroup(bg, id, "late")
		s.sendErr = app.api.SendToClient(bg, id, []byte("late"))
		during <- s
	}
	g := startGateway(t, app)
	a := g.Api()
	c := dial(t, g)
	must(t, a.BindUID(bg, c.id, "ann"))
	must(t, a.JoinGroup(bg, c.id, "room"))
	must(t, a.UpdateInfo(bg, c.id, map[string]string{"status": "here"}))

	c.Conn.Close()
	s := recv(t, during, "OnClose")
	if s.online || s.uid != "ann" || !s.uidOnline || s.groupCount != 1 || sorted(s.groups) != "[room]" || s.info["status"] != "here" {
		t.Fatalf("during OnClose: %+v", s)
	}
	if !errors.Is(s.joinErr, ErrClientOffline) || !errors.Is(s.sendErr, ErrClientOffline) {
		t.Fatalf("join/send during OnClose: %v / %v, want ErrClientOffline", s.joinErr, s.sendErr)
	}
	recv(t, app.closes, "OnClose to return")
	waitFor(t, "the client to be gone", func() bool { n, _ := a.GetAllClientCount(bg); return n == 0 })
	if on, _ := a.IsUIDOnline(bg, "ann"); on {
		t.Fatal("uid online after OnClose")
	}
	if n, _ := a.GetClientCountByGroup(bg, "room"); n != 0 {
		t.Fatalf("room has %d after OnClose", n)
	}
	if _, err := a.GetInfo(bg, c.id); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("info after OnClose: %v", err)
	}
	if gs, _ := a.GetAllGroups(bg); len(gs) != 0 {
		t.Fatalf("groups after OnClose: %v", gs)
	}
}

func TestUnknownClientIsOffline(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	ids := []string{"", "nonsense", "0000000100000000000000000000000000000001"}
	for _, id := range ids {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			_, e1 := a.GetUIDByClientID(bg, id)
			_, e2 := a.GetInfo(bg, id)
			_, e3 := a.GetGroupsByClientID(bg, id)
			errs := []error{
				a.SendToClient(bg, id, []byte("x")),
				a.BindUID(bg, id, "u"),
				a.UnbindUID(bg, id),
				a.JoinGroup(bg, id, "g"),
				a.LeaveGroup(bg, id, "g"),
				a.SetInfo(bg, id, nil),
				a.UpdateInfo(bg, id, nil),
				a.CloseClient(bg, id, CloseOptions{}),
				a.DestroyClient(bg, id),
				e1, e2, e3,
			}
			for i, err := range errs {
				if !errors.Is(err, ErrClientOffline) {
					t.Errorf("call %d: %v, want ErrClientOffline", i, err)
				}
			}
			if on, err := a.IsOnline(bg, id); on || err != nil {
				t.Errorf("IsOnline %v %v", on, err)
			}
		})
	}
}

func TestCloseClient(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2, c3 := dial(t, g), dial(t, g), dial(t, g)

	if on, _ := a.IsOnline(bg, c1.id); !on {
		t.Fatal("c1 not online")
	}
	must(t, a.CloseClient(bg, c1.id, CloseOptions{Final: []byte("bye"), Code: 4001, Reason: "kicked"}))
	ce, got := c1.CloseErr()
	if fmt.Sprint(got) != "[bye]" || ce.Code != 4001 || ce.Reason != "kicked" {
		t.Fatalf("close: messages %v, code %d %q", got, ce.Code, ce.Reason)
	}
	if id := recv(t, app.closes, "OnClose of c1"); id != c1.id {
		t.Fatalf("closed %s", id)
	}
	if on, _ := a.IsOnline(bg, c1.id); on {
		t.Fatal("c1 online after close")
	}

	must(t, a.CloseClient(bg, c2.id, CloseOptions{}))
	if ce, _ := c2.CloseErr(); ce.Code != 1000 {
		t.Fatalf("default close code %d", ce.Code)
	}
	if err := a.CloseClient(bg, c3.id, CloseOptions{Code: 1005}); !errors.Is(err, ErrBadCloseCode) {
		t.Fatalf("code 1005: %v", err)
	}

	// Destroy drops the TCP connection without a close frame.
	must(t, a.DestroyClient(bg, c3.id))
	_, _, err := c3.Next(wait)
	var closed wsutil.ClosedError
	if err == nil || errors.As(err, &closed) {
		t.Fatalf("read after destroy: %v, want the connection dropped without a close frame", err)
	}
	recv(t, app.closes, "OnClose of c2")
	recv(t, app.closes, "OnClose of c3")
	waitFor(t, "no clients", func() bool { n, _ := a.GetAllClientCount(bg); return n == 0 })
}

func TestAllClientListings(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c1, c2 := dial(t, g), dial(t, g)
	ids, _ := a.GetAllClientIDs(bg)
	n, _ := a.GetAllClientCount(bg)
	if n != 2 || sorted(ids) != sorted([]string{c1.id, c2.id}) {
		t.Fatalf("count %d ids %v", n, ids)
	}
}

func TestCanceledContext(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c := dial(t, g)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := a.SendToClient(ctx, c.id, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("send: %v", err)
	}
	if _, err := a.IsOnline(ctx, c.id); !errors.Is(err, context.Canceled) {
		t.Fatalf("IsOnline: %v", err)
	}
}

// TestCloseReasonMustBeUTF8 checks that CloseClient refuses a reason that
// is not UTF-8: the peer would have to fail the connection on it (RFC
// 6455 section 8.1) instead of seeing our code.
func TestCloseReasonMustBeUTF8(t *testing.T) {
	app := newRecorder()
	g := startGateway(t, app)
	a := g.Api()
	c := dial(t, g)
	if err := a.CloseClient(bg, c.id, CloseOptions{Code: 4000, Reason: "bad \xff byte"}); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("reason not UTF-8: %v, want ErrInvalidUTF8", err)
	}
	must(t, a.SendToClient(bg, c.id, []byte("still open")))
	if got := c.Read(); got != "still open" {
		t.Fatalf("got %q", got)
	}
	must(t, a.CloseClient(bg, c.id, CloseOptions{Code: 4000, Reason: "ok"}))
	if ce, _ := c.CloseErr(); ce.Code != 4000 || ce.Reason != "ok" {
		t.Fatalf("close %d %q", ce.Code, ce.Reason)
	}
}

// TestSendToSlowClientOverflows checks that a send refused because the
// client does not read is told apart with errors.Is(err, ErrOverflow).
func TestSendToSlowClientOverflows(t *testing.T) {
	o := Options{}
	o.Server.OutboundBudget = 64 << 10
	o.Server.OverflowPolicy = poller.OverflowDrop
	g := startGatewayWith(t, o, newRecorder())
	a := g.Api()
	c := dial(t, g) // and never read again
	msg := make([]byte, 1<<10)
	var err error
	for i := 0; i < 100_000 && err == nil; i++ { // the socket buffers hold a few MiB
		err = a.SendToClient(bg, c.id, msg, Binary)
	}
	if !errors.Is(err, ErrOverflow) || errors.Is(err, ErrClientOffline) {
		t.Fatalf("send to a client that does not read: %v, want ErrOverflow", err)
	}
	if on, _ := a.IsOnline(bg, c.id); !on {
		t.Fatal("client closed; the policy was to drop")
	}
}

// TestSendsToOneClientKeepCallOrder mixes every kind of send to one client
// from one goroutine: the client must get them in call order.
func TestSendsToOneClientKeepCallOrder(t *testing.T) {
	g := startGateway(t, newRecorder())
	a := g.Api()
	c := dial(t, g)
	must(t, a.BindUID(bg, c.id, "ann"))
	must(t, a.JoinGroup(bg, c.id, "room"))
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			msg := []byte(fmt.Sprint(i))
			switch i % 5 {
			case 0:
				a.SendToClient(bg, c.id, msg)
			case 1:
				a.SendToGroup(bg, "room", msg)
			case 2:
				a.SendToUID(bg, "ann", msg)
			case 3:
				a.SendToAll(bg, msg)
			case 4:
				a.SendToClients(bg, []string{c.id, c.id}, msg)
			}
		}
	}()
	for i := 0; i < n; i++ {
		if got := c.Read(); got != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, got)
		}
	}
}
