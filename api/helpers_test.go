package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/poller"
)

// wait is how long a test waits for something that should happen at once.
const wait = testutil.Wait

// recorder is an Application that greets each client with its clientID
// (so a test client learns its own id), records every event, and runs
// optional hooks.
type recorder struct {
	api       Api
	connects  chan string
	messages  chan received
	closes    chan string
	stopped   chan struct{}
	stopOnce  sync.Once
	onClose   func(id string)
	handshake func(h *Handshake) error
}

type received struct {
	id   string
	typ  MessageType
	data string
}

func newRecorder() *recorder {
	return &recorder{
		connects: make(chan string, 1024),
		messages: make(chan received, 1024),
		closes:   make(chan string, 1024),
		stopped:  make(chan struct{}),
	}
}

func (a *recorder) OnStart(api Api) error { a.api = api; return nil }
func (a *recorder) OnStop()               { a.stopOnce.Do(func() { close(a.stopped) }) }

func (a *recorder) OnHandshake(h *Handshake) error {
	if a.handshake != nil {
		return a.handshake(h)
	}
	return nil
}

func (a *recorder) OnConnect(id string) {
	a.api.SendToClient(context.Background(), id, []byte("id:"+id))
	a.connects <- id
}

func (a *recorder) OnMessage(id string, m Message) {
	a.messages <- received{id: id, typ: m.Type, data: string(m.Data)} // string() copies
}

func (a *recorder) OnClose(id string) {
	if a.onClose != nil {
		a.onClose(id)
	}
	a.closes <- id
}

// startGateway runs a node for app on a free loopback port until the test
// ends.
func startGateway(t testing.TB, app Application) *Gateway {
	t.Helper()
	return startGatewayWith(t, Options{}, app)
}

// startGatewayWith is startGateway with options; the address is always a
// free loopback port.
func startGatewayWith(t testing.TB, o Options, app Application) *Gateway {
	t.Helper()
	return startNode(t, "127.0.0.1", o, app)
}

// client is a test WebSocket client that knows its clientID.
type client struct {
	*testutil.WSClient
	id string
}

// dial connects to g and reads the greeting that names the client.
func dial(t testing.TB, g *Gateway) *client {
	t.Helper()
	return dialAt(t, g, "/ws")
}

// dialAt is dial with a path and query.
func dialAt(t testing.TB, g *Gateway, path string) *client {
	t.Helper()
	c, err := dialPath(t, g, path)
	if err != nil {
		t.Fatal(err)
	}
	greeting := c.Read()
	id, ok := strings.CutPrefix(greeting, "id:")
	if !ok {
		t.Fatalf("first message %q, want the greeting", greeting)
	}
	c.id, c.Name = id, id
	return c
}

// dialPath connects without reading the greeting.
func dialPath(t testing.TB, g *Gateway, path string) (*client, error) {
	c, err := testutil.DialWS(t, "ws://"+g.Addr().String()+path)
	if err != nil {
		return nil, err
	}
	return &client{WSClient: c}, nil
}

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, wait, what, cond)
}

// recv returns the next value from ch or fails the test.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		var zero T
		t.Fatalf("timed out waiting for %s", what)
		return zero
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sorted(s []string) string {
	c := slices.Clone(s)
	slices.Sort(c)
	return fmt.Sprint(c)
}

func serverOn0() poller.Options { return poller.Options{Addr: "127.0.0.1:0"} }

// quiet drops the node's log in tests that provoke errors on purpose.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
