package etcdtest

import (
	"context"
	"encoding/json"
	"fmt"
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
	r    io.Reader
}

// login connects to the chat node at url and logs in as name.
func login(t testing.TB, url, name string) *user {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	t.Cleanup(func() { conn.Close() })
	u := &user{t: t, name: name, conn: conn, r: conn}
	if br != nil {
		u.r = io.MultiReader(br, conn)
	}
	u.send(fmt.Sprintf(`{"type":"login","name":%q}`, name))
	if m := u.next(); m["type"] != "welcome" {
		t.Fatalf("%s: login answered %v", name, m)
	}
	return u
}

// send writes a raw JSON request.
func (u *user) send(raw string) {
	u.t.Helper()
	if err := wsutil.WriteClientMessage(u.conn, ws.OpText, []byte(raw)); err != nil {
		u.t.Fatalf("%s: write: %v", u.name, err)
	}
}

// nextRaw reads one message, waiting up to wait.
func (u *user) nextRaw() string {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(wait))
	p, _, err := wsutil.ReadServerData(readWriter{u.r, u.conn})
	if err != nil {
		u.t.Fatalf("%s: read: %v", u.name, err)
	}
	return string(p)
}

func (u *user) next() map[string]any {
	u.t.Helper()
	raw := u.nextRaw()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		u.t.Fatalf("%s: bad JSON %s: %v", u.name, raw, err)
	}
	return m
}

type readWriter struct {
	io.Reader
	io.Writer
}

// expect reads the next message and compares it byte for byte.
func (u *user) expect(want string) {
	u.t.Helper()
	if got := u.nextRaw(); got != want {
		u.t.Fatalf("%s: got  %s\n want %s", u.name, got, want)
	}
}

// waitStats repeats the cluster stats request until it counts clients and
// users: a node answers only when every node it lists answers, so this
// waits until the nodes reach each other, or drop a dead one. It returns
// when the answer first came.
func (u *user) waitStats(clients, users int) time.Time {
	u.t.Helper()
	want := fmt.Sprintf(`{"type":"stats","clients":%d,"users":%d}`, clients, users)
	deadline := time.Now().Add(wait)
	var last string
	for time.Now().Before(deadline) {
		u.send(`{"type":"stats"}`)
		if last = u.nextRaw(); last == want {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond) // pace the polling
	}
	u.t.Fatalf("%s: cluster stats: last %s, want %s", u.name, last, want)
	return time.Time{}
}

// whisper sends text to another user and checks it arrives.
func (u *user) whisper(to *user, text string) {
	u.t.Helper()
	u.send(fmt.Sprintf(`{"type":"whisper","to":%q,"text":%q}`, to.name, text))
	to.expect(fmt.Sprintf(`{"type":"whispered","from":%q,"text":%q}`, u.name, text))
}
