package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func TestHandshakeHook(t *testing.T) {
	app := newRecorder()
	seen := make(chan Handshake, 4)
	app.handshake = func(h *Handshake) error {
		seen <- *h
		if h.Query.Get("token") != "good" {
			return Refuse(http.StatusUnauthorized, "bad token")
		}
		h.UID = h.Query.Get("user")
		h.Info = map[string]string{"version": h.Header.Get("Sec-WebSocket-Version")}
		return nil
	}
	g := startGateway(t, app)
	a := g.Api()

	_, err := dialPath(t, g, "/ws?token=bad")
	var status ws.StatusError
	if !errors.As(err, &status) || int(status) != http.StatusUnauthorized {
		t.Fatalf("refused dial: %v, want status 401", err)
	}
	refused := recv(t, seen, "refused handshake")
	if refused.Path != "/ws" || refused.RemoteAddr == nil || !strings.HasPrefix(refused.RemoteAddr.String(), "127.0.0.1:") {
		t.Fatalf("handshake fields %+v", refused)
	}

	c := dialAt(t, g, "/ws?token=good&user=ann")
	h := recv(t, seen, "accepted handshake")
	if h.ClientID != c.id {
		t.Fatalf("handshake id %s, client id %s", h.ClientID, c.id)
	}
	if uid, _ := a.GetUIDByClientID(bg, c.id); uid != "ann" {
		t.Fatalf("uid %q from the handshake", uid)
	}
	if info, _ := a.GetInfo(bg, c.id); info["version"] != "13" {
		t.Fatalf("info %v from the handshake", info)
	}
}

func TestClientIDsNameTheNode(t *testing.T) {
	app := newRecorder()
	g := startGatewayWith(t, Options{NodeID: 0xabcdef01}, app)
	c1, c2 := dial(t, g), dial(t, g)
	if c1.id == c2.id || !strings.HasPrefix(c1.id, "abcdef01") || len(c1.id) != 40 {
		t.Fatalf("ids %s %s", c1.id, c2.id)
	}
}

func TestShutdownDrains(t *testing.T) {
	app := newRecorder()
	g, err := NewGateway(Options{Server: serverOn0()}, app)
	must(t, err)
	must(t, g.Start())
	c1, c2 := dial(t, g), dial(t, g)
	must(t, g.Api().SendToAll(bg, []byte("last words")))

	ctx, cancel := context.WithTimeout(bg, wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Shutdown(ctx) }()
	for _, c := range []*client{c1, c2} {
		ce, got := c.CloseErr()
		if ce.Code != ws.StatusGoingAway || len(got) != 1 || got[0] != "last words" {
			t.Fatalf("%s: close %d, messages %v", c.id, ce.Code, got)
		}
	}
	must(t, recv(t, done, "Shutdown"))
	select {
	case <-app.stopped:
	default:
		t.Fatal("OnStop did not run before Shutdown returned")
	}
	if len(app.closes) != 2 {
		t.Fatalf("%d OnClose calls before OnStop, want 2", len(app.closes))
	}
	if _, err := dialPath(t, g, "/ws"); err == nil {
		t.Fatal("dial after shutdown succeeded")
	}
}

// panicky panics in OnMessage; the node must survive and close that client.
type panicky struct{ *recorder }

func (p panicky) OnMessage(id string, m Message) { panic("business bug") }

func TestPanicInCallbackClosesClientOnly(t *testing.T) {
	app := panicky{newRecorder()}
	g := startGateway(t, app)
	c1, c2 := dial(t, g), dial(t, g)
	c1.Send("boom")
	if ce, _ := c1.CloseErr(); ce.Code != ws.StatusInternalServerError {
		t.Fatalf("close code %d, want 1011", ce.Code)
	}
	must(t, g.Api().SendToClient(bg, c2.id, []byte("alive")))
	if got := c2.Read(); got != "alive" {
		t.Fatalf("c2 got %q", got)
	}
}

type failingStart struct{ *recorder }

func (failingStart) OnStart(Api) error { return errors.New("no database") }

func TestStartFailsWhenApplicationDoes(t *testing.T) {
	g, err := NewGateway(Options{Server: serverOn0(), Logger: quiet}, failingStart{newRecorder()})
	must(t, err)
	if err := g.Start(); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Start: %v", err)
	}
}

func TestNewGatewayChecksOptions(t *testing.T) {
	if _, err := NewGateway(Options{}, nil); err == nil {
		t.Fatal("nil application accepted")
	}
	o := Options{Server: serverOn0()}
	o.Server.Handler = (*handler)(nil)
	if _, err := NewGateway(o, newRecorder()); err == nil {
		t.Fatal("a foreign Server.Handler accepted")
	}
}

// countingStart counts its OnStart calls.
type countingStart struct {
	*recorder
	starts int
}

func (a *countingStart) OnStart(x Api) error { a.starts++; return a.recorder.OnStart(x) }

// TestStartTwiceIsRefused checks that a second Start fails without running
// OnStart again or tearing down the running node (in a cluster, its failure
// path left the cluster).
func TestStartTwiceIsRefused(t *testing.T) {
	app := &countingStart{recorder: newRecorder()}
	g := startGateway(t, app)
	if err := g.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	if app.starts != 1 {
		t.Fatalf("OnStart ran %d times", app.starts)
	}
	c := dial(t, g)
	must(t, g.Api().SendToClient(bg, c.id, []byte("still serving")))
	if got := c.Read(); got != "still serving" {
		t.Fatalf("got %q", got)
	}
}
