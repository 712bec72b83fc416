// Package chattest is the chat's test client: a user on a real WebSocket
// that speaks the chat's JSON protocol. The chat's own tests and the
// cluster tests that run the chat as processes both speak through it.
package chattest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/wsgate/wsgate/internal/testutil"
)

// User is a chat client. Name is the name it logs in with (and says which
// user failed); ID is its clientID once welcomed.
type User struct {
	*testutil.WSClient
	ID string
}

// Connect connects to the chat node at url without logging in.
func Connect(t testing.TB, url, name string) *User {
	t.Helper()
	c := testutil.MustDialWS(t, url)
	c.Name = name
	return &User{WSClient: c}
}

// Login connects to the chat node at url and logs in as name.
func Login(t testing.TB, url, name string) *User {
	t.Helper()
	u := Connect(t, url, name)
	u.SendJSON(map[string]any{"type": "login", "name": name})
	m := u.Expect("welcome")
	u.ID, _ = m["client_id"].(string)
	if m["name"] != name || len(u.ID) != 40 {
		t.Fatalf("%s: welcome %v", name, m)
	}
	return u
}

// SendJSON sends v as a JSON request.
func (u *User) SendJSON(v any) {
	u.T.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		u.T.Fatal(err)
	}
	u.Send(string(b))
}

// Next reads one message, checks that it is text with "type" as its first
// field, and returns it decoded and raw.
func (u *User) Next() (map[string]any, string) {
	u.T.Helper()
	p, op, err := u.WSClient.Next(testutil.Wait)
	if err != nil {
		u.T.Fatalf("%s: read: %v", u.Name, err)
	}
	if op != ws.OpText {
		u.T.Fatalf("%s: opcode %v, want text", u.Name, op)
	}
	if !strings.HasPrefix(p, `{"type":`) {
		u.T.Fatalf("%s: %s: type is not the first field", u.Name, p)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(p), &m); err != nil {
		u.T.Fatalf("%s: bad JSON %s: %v", u.Name, p, err)
	}
	return m, p
}

// Expect reads the next message and checks its type.
func (u *User) Expect(typ string) map[string]any {
	u.T.Helper()
	m, raw := u.Next()
	if m["type"] != typ {
		u.T.Fatalf("%s: got %s, want type %q", u.Name, raw, typ)
	}
	return m
}

// ExpectRaw reads the next message and compares it byte for byte.
func (u *User) ExpectRaw(want string) {
	u.T.Helper()
	if _, raw := u.Next(); raw != want {
		u.T.Fatalf("%s: got  %s\n want %s", u.Name, raw, want)
	}
}

// Ask sends a raw request and returns the raw reply and how long it took.
func (u *User) Ask(raw string) (string, time.Duration) {
	u.T.Helper()
	t0 := time.Now()
	u.Send(raw)
	_, reply := u.Next()
	return reply, time.Since(t0)
}

// WaitReply repeats a request until its reply is want, pacing the tries,
// and returns when it first was.
func (u *User) WaitReply(what, raw, want string) time.Time {
	u.T.Helper()
	deadline := time.Now().Add(testutil.Wait)
	var last string
	for time.Now().Before(deadline) {
		if last, _ = u.Ask(raw); last == want {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond) // pace the polling
	}
	u.T.Fatalf("%s: %s: last reply %s, want %s", u.Name, what, last, want)
	return time.Time{}
}

// WaitStats repeats the cluster stats request until it counts clients and
// users: a node answers only when every node it lists answers, so this
// waits until the nodes reach each other, or drop a dead one. It returns
// when the answer first came.
func (u *User) WaitStats(clients, users int) time.Time {
	u.T.Helper()
	want := fmt.Sprintf(`{"type":"stats","clients":%d,"users":%d}`, clients, users)
	return u.WaitReply("cluster stats", `{"type":"stats"}`, want)
}

// Whisper sends text to another user and checks that it arrives.
func (u *User) Whisper(to *User, text string) {
	u.T.Helper()
	u.SendJSON(map[string]any{"type": "whisper", "to": to.Name, "text": text})
	to.ExpectRaw(fmt.Sprintf(`{"type":"whispered","from":%q,"text":%q}`, u.Name, text))
}
