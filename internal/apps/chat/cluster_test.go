package chat_test

import (
	"io"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/apps/chat"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
)

// startChatCluster runs a register and three chat nodes on 127.0.0.1, .2
// and .3, and waits until each node reaches the other two.
func startChatCluster(t *testing.T) []*api.Gateway {
	t.Helper()
	return gatewaytest.StartCluster(t, chatOptions(), chat.New(), chat.New(), chat.New())
}

// TestChatAcrossNodes plays the chat protocol with each user on another
// node: every message crosses the cluster.
func TestChatAcrossNodes(t *testing.T) {
	n := startChatCluster(t)
	alice, cat, bob := login(t, n[0], "alice"), login(t, n[1], "cat"), login(t, n[2], "bob")

	alice.Send(`{"type":"whisper","to":"bob","text":"psst"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"alice","text":"psst"}`)
	alice.Send(`{"type":"whisper","to":"zed","text":"hello?"}`)
	alice.ExpectRaw(`{"type":"error","error":"zed is offline"}`)

	alice.Send(`{"type":"join","room":"lobby"}`)
	alice.ExpectRaw(`{"type":"joined","room":"lobby","name":"alice"}`)
	// Node 3 applies node 1's fan-out sends in order and some time after
	// they were made: once this whisper is in, the room's news of alice
	// has been applied there, and bob, joining now, will not get it.
	alice.Send(`{"type":"whisper","to":"bob","text":"join us"}`)
	bob.ExpectRaw(`{"type":"whispered","from":"alice","text":"join us"}`)
	bob.Send(`{"type":"join","room":"lobby"}`)
	alice.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.ExpectRaw(`{"type":"joined","room":"lobby","name":"bob"}`)
	bob.Send(`{"type":"say","room":"lobby","text":"hi alice"}`)
	alice.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi alice"}`)
	bob.ExpectRaw(`{"type":"said","room":"lobby","from":"bob","text":"hi alice"}`)
	cat.Send(`{"type":"who","room":"lobby"}`)
	cat.ExpectRaw(`{"type":"who","room":"lobby","names":["alice","bob"],"clients":2}`)
	cat.Send(`{"type":"join","room":"attic"}`)
	cat.Expect("joined")
	alice.Send(`{"type":"rooms"}`)
	alice.ExpectRaw(`{"type":"rooms","rooms":["attic","lobby"]}`)

	cat.Send(`{"type":"shout","text":"HEY"}`)
	for _, u := range []*user{alice, cat, bob} {
		u.ExpectRaw(`{"type":"shouted","from":"cat","text":"HEY"}`)
	}
	bob.Send(`{"type":"status","status":"away"}`)
	bob.ExpectRaw(`{"type":"status","status":"away"}`)
	alice.Send(`{"type":"whois","name":"bob"}`)
	alice.ExpectRaw(`{"type":"whois","name":"bob","online":true,"clients":[{"client_id":"` + bob.ID + `","status":"away"}]}`)
	alice.Send(`{"type":"stats"}`)
	alice.ExpectRaw(`{"type":"stats","clients":3,"users":3}`)

	// bob's node 3 client leaves: the room on node 1 hears of it.
	bob.Conn.Close()
	alice.ExpectRaw(`{"type":"left","room":"lobby","name":"bob"}`)
}

// TestChatNamesAreUniqueAcrossNodes checks that a name held on one node
// cannot be taken on another, and is free there once its client closed.
func TestChatNamesAreUniqueAcrossNodes(t *testing.T) {
	n := startChatCluster(t)
	ann := login(t, n[0], "ann")
	fake := connect(t, n[1])
	fake.Send(`{"type":"login","name":"ann"}`)
	fake.ExpectRaw(`{"type":"error","error":"name ann is taken"}`)

	bob := login(t, n[2], "bob")
	bob.Send(`{"type":"whois","name":"ann"}`)
	bob.ExpectRaw(`{"type":"whois","name":"ann","online":true,"clients":[{"client_id":"` + ann.ID + `","status":""}]}`)
	bob.Send(`{"type":"whisper","to":"ann","text":"psst"}`)
	ann.ExpectRaw(`{"type":"whispered","from":"bob","text":"psst"}`)
	fake.Send(`{"type":"dance"}`) // the refused client got nothing meanwhile
	fake.ExpectRaw(`{"type":"error","error":"unknown type \"dance\""}`)

	ann.Conn.Close()
	takeWhenFree(t, fake, "ann")
	bob.Send(`{"type":"whois","name":"ann"}`)
	bob.ExpectRaw(`{"type":"whois","name":"ann","online":true,"clients":[{"client_id":"` + fake.ID + `","status":""}]}`)
}

// TestChatConcurrentLoginsOneName has many clients, spread over the nodes,
// log in with one free name at the same moment, while another client
// keeps whispering to that name: at most one gets the name, the others
// are refused and never receive what is sent to it, and the name is not
// left stuck.
func TestChatConcurrentLoginsOneName(t *testing.T) {
	n := startChatCluster(t)
	const racers = 20
	users := make([]*user, racers)
	for i := range users {
		users[i] = connect(t, n[i%len(n)])
	}
	whisperer := login(t, n[0], "whisperer")

	start := make(chan struct{})
	errs := make(chan error, racers+1)
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- wsutil.WriteClientMessage(u.Conn, ws.OpText, []byte(`{"type":"login","name":"ann"}`))
		}()
	}
	// The whisperer's answers ("ann is offline") are read and dropped, so
	// that its queue never fills. (What its handshake read ahead, nothing
	// at this point, stays unread.)
	go io.Copy(io.Discard, whisperer.Conn)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for range 100 {
			err := wsutil.WriteClientMessage(whisperer.Conn, ws.OpText, []byte(`{"type":"whisper","to":"ann","text":"psst"}`))
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var winners []*user
	for i, u := range users {
		// A whisper may reach the winner before its welcome, never a
		// refused client.
		whispers := 0
		for {
			m, raw := u.Next()
			if m["type"] == "whispered" {
				whispers++
				continue
			}
			if m["type"] == "welcome" {
				u.ID = m["client_id"].(string)
				winners = append(winners, u)
				break
			}
			if raw != `{"type":"error","error":"name ann is taken"}` {
				t.Fatalf("client %d: got %s, want welcome or name taken", i, raw)
			}
			if whispers > 0 {
				t.Fatalf("client %d was refused the name but got %d whispers to it", i, whispers)
			}
			break
		}
	}
	if len(winners) > 1 {
		t.Fatalf("%d clients got the name ann, want at most one", len(winners))
	}
	t.Logf("%d of %d clients got the name", len(winners), racers)

	checker := login(t, n[1], "checker")
	checker.Send(`{"type":"whois","name":"ann"}`)
	if len(winners) == 1 {
		checker.ExpectRaw(`{"type":"whois","name":"ann","online":true,"clients":[{"client_id":"` + winners[0].ID + `","status":""}]}`)
		return
	}
	// Nobody won: every refused client gave its claim up before it was
	// told, so the name is free now.
	checker.ExpectRaw(`{"type":"whois","name":"ann","online":false,"clients":[]}`)
	login(t, n[2], "ann")
}
