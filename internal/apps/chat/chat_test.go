package chat_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/apps/chat"
	"github.com/wsgate/wsgate/internal/apps/chat/chattest"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
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
	return gatewaytest.Start(t, api.Options{Server: o}, chat.New())
}

// chatOptions serve the chat's WebSocket at /ws and its page at /.
func chatOptions() api.Options {
	return api.Options{Server: poller.Options{Path: "/ws", HTTPFallback: chat.Page("/ws")}}
}

// user is the chat's test client.
type user = chattest.User

// connect connects to g's chat without logging in.
func connect(t *testing.T, g *api.Gateway) *user {
	t.Helper()
	return chattest.Connect(t, "ws://"+g.Addr().String()+"/ws", "user")
}

// login connects and logs in as name.
func login(t *testing.T, g *api.Gateway, name string) *user {
	t.Helper()
	return chattest.Login(t, "ws://"+g.Addr().String()+"/ws", name)
}

func TestChatRooms(t *testing.T) {
	g := startChat(t)
	ann, bob, cat := login(t, g, "ann"), login(t, g, "bob"), login(t, g, "cat")

	ann.Send(`{"type":"join","room":"lobby"}`)
	ann.ExpectRaw(`{"type":"joined","room":"lobby","name":"ann"}`)
	bob.Send(`{"type":"join","room":"lobby"}`)
	ann.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)

	bob.Send(`{"type":"say","room":"lobby","text":"hi ann"}`)
	ann.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi ann"}`)
	bob.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi ann"}`)

	cat.Send(`{"type":"who","room":"lobby"}`)
	cat.ExpectRaw(`{"type":"who","room":"lobby","names":["ann","bob"],"clients":2}`)
	cat.Send(`{"type":"who","room":"empty"}`)
	cat.ExpectRaw(`{"type":"who","room":"empty","names":[],"clients":0}`)
	cat.Send(`{"type":"say","room":"lobby","text":"not in it"}`)
	cat.ExpectRaw(`{"type":"error","error":"not in room lobby"}`)

	cat.Send(`{"type":"join","room":"attic"}`)
	cat.Expect("joined")
	cat.Send(`{"type":"rooms"}`)
	cat.ExpectRaw(`{"type":"rooms","rooms":["attic","lobby"]}`)

	bob.Send(`{"type":"leave","room":"lobby"}`)
	bob.ExpectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
	ann.ExpectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
	ann.Send(`{"type":"who","room":"lobby"}`)
	ann.ExpectRaw(`{"type":"who","room":"lobby","names":["ann"],"clients":1}`)

	// A client that disconnects leaves its rooms.
	bob.Send(`{"type":"join","room":"lobby"}`)
	bob.Expect("joined")
	ann.Expect("joined")
	bob.Conn.Close()
	ann.ExpectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
}

func TestChatWhisperShoutStatusStats(t *testing.T) {
	g := startChat(t)
	ann, bob, cat := login(t, g, "ann"), login(t, g, "bob"), login(t, g, "cat")

	ann.Send(`{"type":"whisper","to":"bob","text":"psst"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"ann","text":"psst"}`)
	ann.Send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	ann.ExpectRaw(`{"type":"error","error":"zed is offline"}`)

	bob.Send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{ann, bob, cat} {
		u.ExpectRaw(`{"type":"shouted","from":"bob","text":"HEY"}`)
	}

	bob.Send(`{"type":"status","status":"away"}`)
	bob.ExpectRaw(`{"type":"status","status":"away"}`)
	ann.SendJSON(map[string]string{"type": "whois", "name": "bob"})
	ann.ExpectRaw(`{"type":"whois","name":"bob","online":true,"clients":[{"client_id":"` + bob.ID + `","status":"away"}]}`)
	ann.Send(`{"type":"whois","name":"cat"}`)
	ann.ExpectRaw(`{"type":"whois","name":"cat","online":true,"clients":[{"client_id":"` + cat.ID + `","status":""}]}`)
	ann.Send(`{"type":"whois","name":"zed"}`)
	ann.ExpectRaw(`{"type":"whois","name":"zed","online":false,"clients":[]}`)

	ann.Send(`{"type":"stats"}`)
	ann.ExpectRaw(`{"type":"stats","clients":3,"users":3}`)

	// When bob's client leaves, whispers to him fail.
	bob.Conn.Close()
	deadline := time.Now().Add(wait)
	for {
		ann.Send(`{"type":"whois","name":"bob"}`)
		if m := ann.Expect("whois"); m["online"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob still online after his client closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ann.Send(`{"type":"whisper","to":"bob","text":"still there?"}`)
	ann.ExpectRaw(`{"type":"error","error":"bob is offline"}`)
}

// TestChatWhisperConfirm checks the opt-in confirmation of a whisper: sent
// to the whisperer only once the whisper went out, and never for one that
// failed, so that a page shows a whisper as sent only when it was.
func TestChatWhisperConfirm(t *testing.T) {
	g := startChat(t)
	ann, bob := login(t, g, "ann"), login(t, g, "bob")

	ann.Send(`{"type":"whisper","to":"bob","text":"psst","confirm":true}`)
	bob.ExpectRaw(`{"type":"whispered","from":"ann","text":"psst"}`)
	ann.ExpectRaw(`{"type":"whisper_sent","to":"bob","text":"psst"}`)

	// To someone offline: the error, and no confirmation before or after
	// it (the next message answers the next request).
	ann.Send(`{"type":"whisper","to":"zed","text":"hello?","confirm":true}`)
	ann.ExpectRaw(`{"type":"error","error":"zed is offline"}`)
	ann.Send(`{"type":"stats"}`)
	ann.Expect("stats")

	// Whispering to oneself: the whisper, then its confirmation.
	ann.Send(`{"type":"whisper","to":"ann","text":"note to self","confirm":true}`)
	ann.ExpectRaw(`{"type":"whispered","from":"ann","text":"note to self"}`)
	ann.ExpectRaw(`{"type":"whisper_sent","to":"ann","text":"note to self"}`)

	// Not asked for, not sent.
	ann.Send(`{"type":"whisper","to":"bob","text":"quiet","confirm":false}`)
	bob.Expect("whispered")
	ann.Send(`{"type":"stats"}`)
	ann.Expect("stats")
}

// TestChatNamesAreUnique checks that a name in use cannot be taken by
// another client, so that nobody can speak as, or be whispered to in the
// place of, someone else; and that the name is free again once its client
// has closed.
func TestChatNamesAreUnique(t *testing.T) {
	g := startChat(t)
	ann, bob := login(t, g, "ann"), login(t, g, "bob")

	fake := connect(t, g)
	fake.Send(`{"type":"login","name":"ann"}`)
	fake.ExpectRaw(`{"type":"error","error":"name ann is taken"}`)
	fake.Send(`{"type":"join","room":"lobby"}`) // still logged out
	fake.ExpectRaw(`{"type":"error","error":"log in first"}`)

	// ann keeps her name, alone.
	bob.Send(`{"type":"whisper","to":"ann","text":"psst"}`)
	ann.ExpectRaw(`{"type":"whispered","from":"bob","text":"psst"}`)
	bob.Send(`{"type":"whois","name":"ann"}`)
	bob.ExpectRaw(`{"type":"whois","name":"ann","online":true,"clients":[{"client_id":"` + ann.ID + `","status":""}]}`)
	// The refused client got nothing meanwhile: its next message answers
	// its next request.
	fake.Send(`{"type":"dance"}`)
	fake.ExpectRaw(`{"type":"error","error":"unknown type \"dance\""}`)
	bob.Send(`{"type":"stats"}`)
	bob.ExpectRaw(`{"type":"stats","clients":3,"users":2}`)

	// Logging in again: with one's own name is welcomed again, with
	// another refused, keeping the name one has.
	ann.Send(`{"type":"login","name":"ann"}`)
	ann.ExpectRaw(`{"type":"welcome","client_id":"` + ann.ID + `","name":"ann"}`)
	ann.Send(`{"type":"login","name":"zoe"}`)
	ann.ExpectRaw(`{"type":"error","error":"logged in as ann already; reconnect to use another name"}`)
	ann.Send(`{"type":"login","name":"bob"}`)
	ann.ExpectRaw(`{"type":"error","error":"logged in as ann already; reconnect to use another name"}`)
	bob.Send(`{"type":"whois","name":"zoe"}`)
	bob.ExpectRaw(`{"type":"whois","name":"zoe","online":false,"clients":[]}`)
	bob.Send(`{"type":"whisper","to":"ann","text":"still ann?"}`)
	ann.ExpectRaw(`{"type":"whispered","from":"bob","text":"still ann?"}`)

	// Once ann's client has closed, the name can be taken.
	ann.Conn.Close()
	takeWhenFree(t, fake, "ann")
	bob.Send(`{"type":"whisper","to":"ann","text":"new ann?"}`)
	fake.ExpectRaw(`{"type":"whispered","from":"bob","text":"new ann?"}`)
}

// takeWhenFree logs u in as name, retrying while the name's last holder
// is still closing.
func takeWhenFree(t *testing.T, u *user, name string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		u.SendJSON(map[string]string{"type": "login", "name": name})
		m, raw := u.Next()
		if m["type"] == "welcome" {
			if m["name"] != name {
				t.Fatalf("welcome %s, want name %q", raw, name)
			}
			u.ID = m["client_id"].(string)
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
		u.Send(c.send)
		m := u.Expect("error")
		if !strings.Contains(m["error"].(string), c.err) {
			t.Errorf("%s: error %q, want it to mention %q", c.send, m["error"], c.err)
		}
	}
	if err := wsutil.WriteClientMessage(u.Conn, ws.OpBinary, []byte{1}); err != nil {
		t.Fatal(err)
	}
	u.Expect("error")

	u.Send(`{"type":"login","name":"ann"}`)
	u.Expect("welcome")
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
		u.Send(c.send)
		m := u.Expect("error")
		if !strings.Contains(m["error"].(string), c.err) {
			t.Errorf("%s: error %q, want it to mention %q", c.send, m["error"], c.err)
		}
	}
	// Still open and serving.
	u.Send(`{"type":"stats"}`)
	u.ExpectRaw(`{"type":"stats","clients":1,"users":1}`)
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
		u.SendJSON(map[string]string{"type": "join", "room": fmt.Sprint("r", i)})
		u.Expect("joined")
	}
	u.Send(`{"type":"join","room":"r0"}`) // a room it is in: still fine
	u.Expect("joined")
	u.Send(`{"type":"join","room":"one-too-many"}`)
	if m := u.Expect("error"); !strings.Contains(m["error"].(string), "rooms") {
		t.Fatalf("error %q, want it to mention the room limit", m["error"])
	}
	n, err := g.Api().GetAllGroups(context.Background())
	if err != nil || len(n) != chat.MaxRoomsPerClient {
		t.Fatalf("%d rooms (%v), want %d", len(n), err, chat.MaxRoomsPerClient)
	}
	u.Send(`{"type":"leave","room":"r0"}`)
	u.Expect("left")
	u.Send(`{"type":"join","room":"one-too-many"}`)
	u.Expect("joined")
}
