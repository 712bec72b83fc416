package api

import (
	"errors"
	"testing"
)

// reentrant calls the Api on its own client from inside every callback:
// binding and joining in OnConnect, closing itself in OnMessage, and
// fanning out to everyone from OnClose. None of it may deadlock or be
// lost.
type reentrant struct {
	*recorder
	afterClose chan error // SendToClient to itself after CloseClient
}

func (a reentrant) OnConnect(id string) {
	must2(a.api.BindUID(bg, id, "u-"+id))
	must2(a.api.JoinGroup(bg, id, "all"))
	a.recorder.OnConnect(id)
}

func (a reentrant) OnMessage(id string, m Message) {
	if string(m.Data) == "close me" {
		must2(a.api.CloseClient(bg, id, CloseOptions{Final: []byte("bye"), Code: 4000}))
		a.afterClose <- a.api.SendToClient(bg, id, []byte("too late"))
		return
	}
	a.recorder.OnMessage(id, m)
}

func (a reentrant) OnClose(id string) {
	must2(a.api.SendToGroup(bg, "all", []byte("left:"+id)))
	must2(a.api.SendToAll(bg, []byte("gone:"+id)))
	a.recorder.OnClose(id)
}

func must2(err error) {
	if err != nil {
		panic(err)
	}
}

func TestApiFromInsideCallbacks(t *testing.T) {
	app := reentrant{recorder: newRecorder(), afterClose: make(chan error, 1)}
	g := startGateway(t, app)
	a := g.Api()
	c1, c2 := dial(t, g), dial(t, g)
	if uid, _ := a.GetUIDByClientID(bg, c1.id); uid != "u-"+c1.id {
		t.Fatalf("uid bound in OnConnect: %q", uid)
	}
	c1.Send("close me")
	ce, got := c1.CloseErr()
	if ce.Code != 4000 || len(got) != 1 || got[0] != "bye" {
		t.Fatalf("close %d, messages %v", ce.Code, got)
	}
	if err := recv(t, app.afterClose, "the send after CloseClient"); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("send after CloseClient: %v, want ErrClientOffline", err)
	}
	if s := c2.Read(); s != "left:"+c1.id {
		t.Fatalf("c2 got %q", s)
	}
	if s := c2.Read(); s != "gone:"+c1.id {
		t.Fatalf("c2 got %q", s)
	}
	recv(t, app.closes, "OnClose")
	// The recorder reports OnClose from inside it; the client leaves the
	// router's tables, its uid with it, once OnClose has returned.
	waitFor(t, "the uid to go offline after OnClose", func() bool {
		on, _ := a.IsUIDOnline(bg, "u-"+c1.id)
		return !on
	})
}
