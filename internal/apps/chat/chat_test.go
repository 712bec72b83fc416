package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/apps/chat"
	"github.com/wsgate/wsgate/poller"
)

const wait = 10 * time.Second

// startChat runs a node with the chat app and its page.
func startChat(t *testing.T) *api.Gateway {
	t.Helper()
	return startChatWith(t, poller.Options{})
}

// startChatWith is startChat with options of the test's own (the address,
// path and page are the chat's).
func startChatWith(t *testing.T, o poller.Options) *api.Gateway {
	t.Helper()
	o.Addr, o.Path, o.HTTPFallback = "127.0.0.1:0", "/ws", chat.Page("/ws")
	g, err := api.NewGateway(api.Options{Server: o}, chat.New())
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

// user is a chat client over a real WebSocket.
type user struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter
	id   string
}

type rw struct {
	io.Reader
	io.Writer
}

func connect(t *testing.T, g *api.Gateway) *user {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+g.Addr().String()+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	u := &user{t: t, conn: conn, rw: conn}
	if br != nil {
		u.rw = rw{io.MultiReader(br, conn), conn}
	}
	return u
}

// login connects and logs in as name.
func login(t *testing.T, g *api.Gateway, name string) *user {
	t.Helper()
	u := connect(t, g)
	u.sendJSON(map[string]any{"type": "login", "name": name})
	m := u.expect("welcome")
	if m["name"] != name || len(m["client_id"].(string)) != 40 {
		t.Fatalf("welcome %v", m)
	}
	u.id = m["client_id"].(string)
	return u
}

func (u *user) send(raw string) {
	u.t.Helper()
	if err := wsutil.WriteClientMessage(u.conn, ws.OpText, []byte(raw)); err != nil {
		u.t.Fatal(err)
	}
}

func (u *user) sendJSON(v any) {
	u.t.Helper()
	b, _ := json.Marshal(v)
	u.send(string(b))
}

// next reads one message, checks that "type" is the first field, and
// decodes it.
func (u *user) next() (map[string]any, string) {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(wait))
	p, op, err := wsutil.ReadServerData(u.rw)
	if err != nil {
		u.t.Fatalf("read: %v", err)
	}
	if op != ws.OpText {
		u.t.Fatalf("opcode %v, want text", op)
	}
	if !strings.HasPrefix(string(p), `{"type":`) {
		u.t.Fatalf("%s: type is not the first field", p)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		u.t.Fatalf("bad JSON %s: %v", p, err)
	}
	return m, string(p)
}

// expect reads the next message and checks its type.
func (u *user) expect(typ string) map[string]any {
	u.t.Helper()
	m, raw := u.next()
	if m["type"] != typ {
		u.t.Fatalf("got %s, want type %q", raw, typ)
	}
	return m
}

// expectRaw reads the next message and compares it byte for byte.
func (u *user) expectRaw(want string) {
	u.t.Helper()
	if _, raw := u.next(); raw != want {
		u.t.Fatalf("got  %s\nwant %s", raw, want)
	}
}

func TestChatRooms(t *testing.T) {
	g := startChat(t)
	ann, bob, cat := login(t, g, "ann"), login(t, g, "bob"), login(t, g, "cat")

	ann.send(`{"type":"join","room":"lobby"}`)
	ann.expectRaw(`{"type":"joined","room":"lobby","name":"ann"}`)
	bob.send(`{"type":"join","room":"lobby"}`)
	ann.expectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.expectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)

	bob.send(`{"type":"say","room":"lobby","text":"hi ann"}`)
	ann.expectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi ann"}`)
	bob.expectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi ann"}`)

	cat.send(`{"type":"who","room":"lobby"}`)
	cat.expectRaw(`{"type":"who","room":"lobby","names":["ann","bob"],"clients":2}`)
	cat.send(`{"type":"who","room":"empty"}`)
	cat.expectRaw(`{"type":"who","room":"empty","names":[],"clients":0}`)
	cat.send(`{"type":"say","room":"lobby","text":"not in it"}`)
	cat.expectRaw(`{"type":"error","error":"not in room lobby"}`)

	cat.send(`{"type":"join","room":"attic"}`)
	cat.expect("joined")
	cat.send(`{"type":"rooms"}`)
	cat.expectRaw(`{"type":"rooms","rooms":["attic","lobby"]}`)

	bob.send(`{"type":"leave","room":"lobby"}`)
	bob.expectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
	ann.expectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
	ann.send(`{"type":"who","room":"lobby"}`)
	ann.expectRaw(`{"type":"who","room":"lobby","names":["ann"],"clients":1}`)

	// A client that disconnects leaves its rooms.
	bob.send(`{"type":"join","room":"lobby"}`)
	bob.expect("joined")
	ann.expect("joined")
	bob.conn.Close()
	ann.expectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
}

func TestChatWhisperShoutStatusStats(t *testing.T) {
	g := startChat(t)
	ann, bob, cat := login(t, g, "ann"), login(t, g, "bob"), login(t, g, "cat")

	ann.send(`{"type":"whisper","to":"bob","text":"psst"}`)
	bob.expectRaw(`{"type":"whispered","from":"ann","text":"psst"}`)
	ann.send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	ann.expectRaw(`{"type":"error","error":"zed is offline"}`)

	bob.send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{ann, bob, cat} {
		u.expectRaw(`{"type":"shouted","from":"bob","text":"HEY"}`)
	}

	bob.send(`{"type":"status","status":"away"}`)
	bob.expectRaw(`{"type":"status","status":"away"}`)
	ann.sendJSON(map[string]string{"type": "whois", "name": "bob"})
	ann.expectRaw(`{"type":"whois","name":"bob","online":true,"clients":[{"client_id":"` + bob.id + `","status":"away"}]}`)
	ann.send(`{"type":"whois","name":"cat"}`)
	ann.expectRaw(`{"type":"whois","name":"cat","online":true,"clients":[{"client_id":"` + cat.id + `","status":""}]}`)
	ann.send(`{"type":"whois","name":"zed"}`)
	ann.expectRaw(`{"type":"whois","name":"zed","online":false,"clients":[]}`)

	ann.send(`{"type":"stats"}`)
	ann.expectRaw(`{"type":"stats","clients":3,"users":3}`)

	// When bob's client leaves, whispers to him fail.
	bob.conn.Close()
	deadline := time.Now().Add(wait)
	for {
		ann.send(`{"type":"whois","name":"bob"}`)
		if m := ann.expect("whois"); m["online"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob still online after his client closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ann.send(`{"type":"whisper","to":"bob","text":"still there?"}`)
	ann.expectRaw(`{"type":"error","error":"bob is offline"}`)
}

// TestChatNamesAreUnique checks that a name in use cannot be taken by
// another client, so that nobody can speak as, or be whispered to in the
// place of, someone else; and that the name is free again once its client
// has closed.
func TestChatNamesAreUnique(t *testing.T) {
	g := startChat(t)
	ann, bob := login(t, g, "ann"), login(t, g, "bob")

	fake := connect(t, g)
	fake.send(`{"type":"login","name":"ann"}`)
	fake.expectRaw(`{"type":"error","error":"name ann is taken"}`)
	fake.send(`{"type":"join","room":"lobby"}`) // still logged out
	fake.expectRaw(`{"type":"error","error":"log in first"}`)

	// ann keeps her name, alone.
	bob.send(`{"type":"whisper","to":"ann","text":"psst"}`)
	ann.expectRaw(`{"type":"whispered","from":"bob","text":"psst"}`)
	bob.send(`{"type":"whois","name":"ann"}`)
	bob.expectRaw(`{"type":"whois","name":"ann","online":true,"clients":[{"client_id":"` + ann.id + `","status":""}]}`)
	// The refused client got nothing meanwhile: its next message answers
	// its next request.
	fake.send(`{"type":"dance"}`)
	fake.expectRaw(`{"type":"error","error":"unknown type \"dance\""}`)
	bob.send(`{"type":"stats"}`)
	bob.expectRaw(`{"type":"stats","clients":3,"users":2}`)

	// Logging in again: with one's own name is welcomed again, with
	// another refused, keeping the name one has.
	ann.send(`{"type":"login","name":"ann"}`)
	ann.expectRaw(`{"type":"welcome","client_id":"` + ann.id + `","name":"ann"}`)
	ann.send(`{"type":"login","name":"zoe"}`)
	ann.expectRaw(`{"type":"error","error":"logged in as ann already; reconnect to use another name"}`)
	ann.send(`{"type":"login","name":"bob"}`)
	ann.expectRaw(`{"type":"error","error":"logged in as ann already; reconnect to use another name"}`)
	bob.send(`{"type":"whois","name":"zoe"}`)
	bob.expectRaw(`{"type":"whois","name":"zoe","online":false,"clients":[]}`)
	bob.send(`{"type":"whisper","to":"ann","text":"still ann?"}`)
	ann.expectRaw(`{"type":"whispered","from":"bob","text":"still ann?"}`)

	// Once ann's client has closed, the name can be taken.
	ann.conn.Close()
	takeWhenFree(t, fake, "ann")
	bob.send(`{"type":"whisper","to":"ann","text":"new ann?"}`)
	fake.expectRaw(`{"type":"whispered","from":"bob","text":"new ann?"}`)
}

// takeWhenFree logs u in as name, retrying while the name's last holder
// is still closing.
func takeWhenFree(t *testing.T, u *user, name string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		u.sendJSON(map[string]string{"type": "login", "name": name})
		m, raw := u.next()
		if m["type"] == "welcome" {
			if m["name"] != name {
				t.Fatalf("welcome %s, want name %q", raw, name)
			}
			u.id = m["client_id"].(string)
			return
		}
		if m["type"] != "error" || m["error"] != "name "+name+" is taken" {
			t.Fatalf("login as %q: got %s", name, raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("name %q still taken after its client closed", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChatErrorsKeepConnectionOpen(t *testing.T) {
	g := startChat(t)
	u := connect(t, g)
	cases := []struct{ send, err string }{
		{`not json`, "bad JSON"},
		{`{"type":"say","room":"r","text":"x"}`, "log in first"},
		{`{"type":"join","room":"r"}`, "log in first"},
		{`{}`, `missing field "type"`},
		{`{"type":"dance"}`, `unknown type "dance"`},
		{`{"type":"login"}`, `missing field "name"`},
		{`{"type":"login","name":""}`, `field "name" is empty`},
		{`{"type":"login","name":"` + strings.Repeat("x", 33) + `"}`, "longer than 32"},
		{`{"type":"login","name":42}`, "bad JSON"},
	}
	for _, c := range cases {
		u.send(c.send)
		m := u.expect("error")
		if !strings.Contains(m["error"].(string), c.err) {
			t.Errorf("%s: error %q, want it to mention %q", c.send, m["error"], c.err)
		}
	}
	if err := wsutil.WriteClientMessage(u.conn, ws.OpBinary, []byte{1}); err != nil {
		t.Fatal(err)
	}
	u.expect("error")

	u.send(`{"type":"login","name":"ann"}`)
	u.expect("welcome")
	for _, c := range []struct{ send, err string }{
		{`{"type":"join"}`, `missing field "room"`},
		{`{"type":"say","room":"r"}`, `missing field "text"`},
		{`{"type":"whisper","text":"x"}`, `missing field "to"`},
		{`{"type":"shout"}`, `missing field "text"`},
		{`{"type":"who"}`, `missing field "room"`},
		{`{"type":"status"}`, `missing field "status"`},
		{`{"type":"whois"}`, `missing field "name"`},
		{`{"type":"leave","room":"nowhere"}`, "not in room nowhere"},
	} {
		u.send(c.send)
		m := u.expect("error")
		if !strings.Contains(m["error"].(string), c.err) {
			t.Errorf("%s: error %q, want it to mention %q", c.send, m["error"], c.err)
		}
	}
	// Still open and serving.
	u.send(`{"type":"stats"}`)
	u.expectRaw(`{"type":"stats","clients":1,"users":1}`)
}

func TestChatPage(t *testing.T) {
	g := startChat(t)
	base := "http://" + g.Addr().String()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), `<meta name="ws-path" content="/ws">`) {
		t.Fatalf("page: %d %s\n%.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = http.Get(base + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
}

// TestChatRoomLimit checks that one client cannot make the node keep an
// unbounded number of rooms for it.
func TestChatRoomLimit(t *testing.T) {
	g := startChat(t)
	u := login(t, g, "ann")
	for i := 0; i < chat.MaxRoomsPerClient; i++ {
		u.sendJSON(map[string]string{"type": "join", "room": fmt.Sprint("r", i)})
		u.expect("joined")
	}
	u.send(`{"type":"join","room":"r0"}`) // a room it is in: still fine
	u.expect("joined")
	u.send(`{"type":"join","room":"one-too-many"}`)
	if m := u.expect("error"); !strings.Contains(m["error"].(string), "rooms") {
		t.Fatalf("error %q, want it to mention the room limit", m["error"])
	}
	n, err := g.Api().GetAllGroups(context.Background())
	if err != nil || len(n) != chat.MaxRoomsPerClient {
		t.Fatalf("%d rooms (%v), want %d", len(n), err, chat.MaxRoomsPerClient)
	}
	u.send(`{"type":"leave","room":"r0"}`)
	u.expect("left")
	u.send(`{"type":"join","room":"one-too-many"}`)
	u.expect("joined")
}
