package clustertest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// user is a chat client on a real WebSocket.
type user struct {
	t    testing.TB
	name string
	conn net.Conn
	rw   io.ReadWriter
	id   string // clientID from the welcome
}

type readWriter struct {
	io.Reader
	io.Writer
}

// connect connects to the chat node at url without logging in; name is
// for failure messages.
func connect(t testing.TB, url, name string) *user {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	t.Cleanup(func() { conn.Close() })
	u := &user{t: t, name: name, conn: conn, rw: conn}
	if br != nil {
		u.rw = readWriter{io.MultiReader(br, conn), conn}
	}
	return u
}

// login connects to the chat node at url and logs in as name.
func login(t testing.TB, url, name string) *user {
	t.Helper()
	u := connect(t, url, name)
	u.sendJSON(map[string]any{"type": "login", "name": name})
	m := u.expect("welcome")
	u.id, _ = m["client_id"].(string)
	if len(u.id) != 40 {
		t.Fatalf("%s: welcome %v", name, m)
	}
	return u
}

func (u *user) sendJSON(v any) {
	u.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		u.t.Fatal(err)
	}
	if err := wsutil.WriteClientMessage(u.conn, ws.OpText, b); err != nil {
		u.t.Fatalf("%s: write: %v", u.name, err)
	}
}

// send writes a raw JSON request.
func (u *user) send(raw string) {
	u.t.Helper()
	if err := wsutil.WriteClientMessage(u.conn, ws.OpText, []byte(raw)); err != nil {
		u.t.Fatalf("%s: write: %v", u.name, err)
	}
}

// next reads one message (waiting up to wait) and returns it decoded and raw.
func (u *user) next() (map[string]any, string) {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(wait))
	p, _, err := wsutil.ReadServerData(u.rw)
	if err != nil {
		u.t.Fatalf("%s: read: %v", u.name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		u.t.Fatalf("%s: bad JSON %s: %v", u.name, p, err)
	}
	return m, string(p)
}

// expect reads the next message and checks its type.
func (u *user) expect(typ string) map[string]any {
	u.t.Helper()
	m, raw := u.next()
	if m["type"] != typ {
		u.t.Fatalf("%s: got %s, want type %q", u.name, raw, typ)
	}
	return m
}

// expectRaw reads the next message and compares it byte for byte.
func (u *user) expectRaw(want string) {
	u.t.Helper()
	if _, raw := u.next(); raw != want {
		u.t.Fatalf("%s: got  %s\n want %s", u.name, raw, want)
	}
}

// ask sends a raw request and returns the raw reply and how long it took.
func (u *user) ask(raw string) (string, time.Duration) {
	u.t.Helper()
	t0 := time.Now()
	u.send(raw)
	_, reply := u.next()
	return reply, time.Since(t0)
}

// waitReply repeats a request until its reply is want, pacing the tries,
// and returns when it first was.
func (u *user) waitReply(what, raw, want string) time.Time {
	u.t.Helper()
	deadline := time.Now().Add(wait)
	var last string
	for time.Now().Before(deadline) {
		if last, _ = u.ask(raw); last == want {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond) // pace the polling
	}
	u.t.Fatalf("%s: %s: last reply %s, want %s", u.name, what, last, want)
	return time.Time{}
}
