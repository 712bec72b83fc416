package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/poller"
)

// wait is how long a test waits for something that should happen at once;
// generous, for a loaded machine.
const wait = 10 * time.Second

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
	o.Server.Addr = "127.0.0.1:0"
	if o.Logger == nil {
		o.Logger = quiet
	}
	g, err := NewGateway(o, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g
}

// client is a real WebSocket client over loopback.
type client struct {
	t    testing.TB
	conn net.Conn
	rw   io.ReadWriter
	id   string
}

type readWriter struct {
	io.Reader
	io.Writer
}

// dial connects to g and reads the greeting that names the client.
func dial(t testing.TB, g *Gateway) *client {
	t.Helper()
	return dialAt(t, g, "/ws")
}

// dialAt is dial with a path and query.
func dialAt(t testing.TB, g *Gateway, path string) *client {
	t.Helper()
	c, err := dialPath(g, path)
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	greeting := c.read()
	id, ok := strings.CutPrefix(greeting, "id:")
	if !ok {
		t.Fatalf("first message %q, want the greeting", greeting)
	}
	c.id = id
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func dialPath(g *Gateway, path string) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+g.Addr().String()+path)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, rw: conn}
	if br != nil {
		c.rw = readWriter{Reader: io.MultiReader(br, conn), Writer: conn}
	}
	return c, nil
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := wsutil.WriteClientMessage(c.conn, ws.OpText, []byte(s)); err != nil {
		c.t.Fatalf("client %s send: %v", c.id, err)
	}
}

// next reads one data message; a close frame comes back as an error.
func (c *client) next(timeout time.Duration) (string, ws.OpCode, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	p, op, err := wsutil.ReadServerData(c.rw)
	return string(p), op, err
}

// read returns the next text message or fails the test.
func (c *client) read() string {
	c.t.Helper()
	s, op, err := c.next(wait)
	if err != nil {
		c.t.Fatalf("client %s read: %v", c.id, err)
	}
	if op != ws.OpText {
		c.t.Fatalf("client %s got opcode %v, want text", c.id, op)
	}
	return s
}

// expectNothing checks that no message arrives within a short time. It is
// used only after a later message, sent to the same client, was already
// received, or as a last check; a short wait is enough because the server
// queues in order.
func (c *client) expectNothing() {
	c.t.Helper()
	s, _, err := c.next(100 * time.Millisecond)
	if err == nil {
		c.t.Fatalf("client %s got %q, want nothing", c.id, s)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("client %s: %v, want a read timeout", c.id, err)
	}
}

// closeErr reads until the server's close frame and returns its code.
func (c *client) closeErr() (wsutil.ClosedError, []string) {
	c.t.Helper()
	var got []string
	for {
		s, _, err := c.next(wait)
		if err == nil {
			got = append(got, s)
			continue
		}
		var ce wsutil.ClosedError
		if !errors.As(err, &ce) {
			c.t.Fatalf("client %s: %v, want a close frame", c.id, err)
		}
		return ce, got
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

func wsutilWriteBinary(c *client, p []byte) error {
	return wsutil.WriteClientMessage(c.conn, ws.OpBinary, p)
}

func serverOn0() poller.Options { return poller.Options{Addr: "127.0.0.1:0"} }

// quiet drops the node's log in tests that provoke errors on purpose.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
