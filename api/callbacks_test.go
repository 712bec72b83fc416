package api

import (
	"sync/atomic"
	"testing"
	"time"
)

// selfDropper drops its client from inside OnConnect or OnMessage, then
// lingers in that callback for a moment, and records whether OnClose began
// before the callback returned. The engine runs OnClose on a goroutine of
// its own as soon as the TCP connection is gone; the Gateway must still
// keep one client's callbacks from overlapping.
type selfDropper struct {
	api       Api
	onConnect bool // drop in OnConnect, else in OnMessage
	inside    atomic.Int32
	overlap   atomic.Bool
	closing   chan struct{}
	closed    chan string
}

func newSelfDropper(onConnect bool) *selfDropper {
	return &selfDropper{onConnect: onConnect, closing: make(chan struct{}, 1), closed: make(chan string, 1)}
}

func (a *selfDropper) OnStart(x Api) error { a.api = x; return nil }

func (a *selfDropper) OnConnect(id string) {
	a.inside.Add(1)
	defer a.inside.Add(-1)
	if a.onConnect {
		a.dropAndLinger(id)
	}
}

func (a *selfDropper) OnMessage(id string, m Message) {
	a.inside.Add(1)
	defer a.inside.Add(-1)
	a.dropAndLinger(id)
}

func (a *selfDropper) dropAndLinger(id string) {
	if err := a.api.DestroyClient(bg, id); err != nil {
		panic(err)
	}
	// An overlapping OnClose starts within microseconds of the drop; give
	// it ample time to show itself.
	select {
	case <-a.closing:
	case <-time.After(200 * time.Millisecond):
	}
}

func (a *selfDropper) OnClose(id string) {
	if a.inside.Load() > 0 {
		a.overlap.Store(true)
	}
	a.closing <- struct{}{}
	a.closed <- id
}

func TestCallbacksNeverOverlapOnClose(t *testing.T) {
	for _, tc := range []struct {
		name      string
		onConnect bool
	}{{"OnConnect", true}, {"OnMessage", false}} {
		t.Run(tc.name, func(t *testing.T) {
			app := newSelfDropper(tc.onConnect)
			g := startGateway(t, app)
			c, err := dialPath(t, g, "/ws")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Conn.Close()
			if !tc.onConnect {
				c.Send("drop me")
			}
			recv(t, app.closed, "OnClose")
			if app.overlap.Load() {
				t.Fatalf("OnClose ran while %s was running", tc.name)
			}
			waitFor(t, "the client to be gone", func() bool { n, _ := g.Api().GetAllClientCount(bg); return n == 0 })
		})
	}
}
