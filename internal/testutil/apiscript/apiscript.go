// Package apiscript holds the Api script: every kind of Api call, made over
// six clients, with a record of the answers and of what each client
// received. A cluster must record what one node records, whatever its
// source of peers (a register, a static list, etcd), so the script lives
// here, where api's external tests and the etcd test module can both run
// it. It imports api, so tests in package api itself cannot import it.
// Only tests import it.
package apiscript

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/router"
)

// wait is how long the script waits for something that should happen at
// once.
const wait = testutil.Wait

var bg = context.Background()

// numClients is how many clients the script needs: c0..c5.
const numClients = 6

// App is an Application that greets each client with "id:" and its
// clientID, so that a test client learns its own id, and does nothing
// else: the script drives the Api.
type App struct{ api api.Api }

func (a *App) OnStart(x api.Api) error { a.api = x; return nil }

func (a *App) OnConnect(id string) {
	a.api.SendToClient(bg, id, []byte("id:"+id))
}

func (*App) OnMessage(string, api.Message) {}
func (*App) OnClose(string)                {}

// Client is a WebSocket client that knows its clientID.
type Client struct {
	*testutil.WSClient
	ID string
}

// Dial connects to g, whose application greets as App does, and reads the
// greeting that names the client.
func Dial(t testing.TB, g *api.Gateway) *Client {
	t.Helper()
	c := testutil.MustDialWS(t, "ws://"+g.Addr().String()+"/ws")
	greeting := c.Read()
	id, ok := strings.CutPrefix(greeting, "id:")
	if !ok {
		t.Fatalf("first message %q, want the greeting", greeting)
	}
	c.Name = id
	return &Client{WSClient: c, ID: id}
}

// Spread dials the script's clients, client i on nodes[i%len(nodes)].
func Spread(t testing.TB, nodes ...*api.Gateway) []*Client {
	t.Helper()
	var cs []*Client
	for i := range numClients {
		cs = append(cs, Dial(t, nodes[i%len(nodes)]))
	}
	return cs
}

// Unknown is a clientID of g's that no client has: the script's "unknown".
// On a cluster, take it on a node other than the one the script calls
// from, so the question travels.
func Unknown(g *api.Gateway) string {
	return router.ClientIDParts{Node: g.NodeID(), Incarnation: 1, Seq: 1 << 40}.String()
}

// Diff reports each line where got differs from want.
func Diff(t testing.TB, what string, want, got []string) {
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

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
