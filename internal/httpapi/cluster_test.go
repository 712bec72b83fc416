package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
)

// TestEveryCallAsTheGoApi makes every call over HTTP to the first node of
// a three-node cluster and holds its answer to the Go Api's answer for
// the same question asked on the third node, or, for a call that changes
// something, checks the change with the Go Api and the clients.
func TestEveryCallAsTheGoApi(t *testing.T) {
	c := startCluster(t, 2, Options{}) // clients 0,1 on node 0; 2,3 on node 1; 4,5 on node 2
	ctx := context.Background()
	goAPI := c.nodes[2].Api()
	id := c.ids
	for _, step := range []struct {
		clientID, uid string
		groups        []string
	}{
		{id[0], "alice", []string{"room"}}, {id[1], "bob", []string{"lobby"}}, {id[2], "alice", []string{"lobby"}},
		{id[3], "", []string{"room"}}, {id[4], "alice", nil}, {id[5], "dave", []string{"room"}},
	} {
		if step.uid != "" {
			if err := goAPI.BindUID(ctx, step.clientID, step.uid); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range step.groups {
			if err := goAPI.JoinGroup(ctx, step.clientID, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := goAPI.SetInfo(ctx, step.clientID, map[string]string{"name": step.clientID[32:]}); err != nil {
			t.Fatal(err)
		}
	}

	// expect holds what each client should have read by now.
	expect := make([][]string, len(c.clients))
	receive := func(t *testing.T, msg string, who ...int) {
		t.Helper()
		for _, i := range who {
			if got := c.clients[i].Read(); got != msg {
				t.Errorf("client %d got %q, want %q", i, got, msg)
			}
			expect[i] = append(expect[i], msg)
		}
	}
	done := map[string]bool{}
	call := func(t *testing.T, name string, body any) answer {
		t.Helper()
		done[name] = true
		a := post(t, c.base+name, testKey, mustJSON(t, body))
		if a.status != 200 || a.Error != nil {
			t.Fatalf("%s: %d %+v", name, a.status, a.Error)
		}
		return a
	}
	// same asks over HTTP and of the Go Api, and compares the answers.
	same := func(name string, body any, goCall func() (any, error)) {
		t.Run(name, func(t *testing.T) {
			a := call(t, name, body)
			want, err := goCall()
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(want))
			if err := json.Unmarshal(a.Result, got.Interface()); err != nil {
				t.Fatalf("%s: result %s: %v", name, a.Result, err)
			}
			if g, w := normal(got.Elem().Interface()), normal(want); !reflect.DeepEqual(g, w) {
				t.Errorf("%s: HTTP %v, Go %v", name, g, w)
			}
		})
	}

	same("IsUIDOnline", obj{"uid": "alice"}, func() (any, error) { return goAPI.IsUIDOnline(ctx, "alice") })
	same("GetUIDByClientID", obj{"clientId": id[2]}, func() (any, error) { return goAPI.GetUIDByClientID(ctx, id[2]) })
	same("GetClientIDsByUID", obj{"uid": "alice"}, func() (any, error) { return goAPI.GetClientIDsByUID(ctx, "alice") })
	same("GetClientCountByUID", obj{"uid": "alice"}, func() (any, error) { return goAPI.GetClientCountByUID(ctx, "alice") })
	same("GetClientInfosByUID", obj{"uid": "alice"}, func() (any, error) { return goAPI.GetClientInfosByUID(ctx, "alice") })
	same("GetAllUIDs", obj{}, func() (any, error) { return goAPI.GetAllUIDs(ctx) })
	same("GetClientCountByGroup", obj{"group": "room"}, func() (any, error) { return goAPI.GetClientCountByGroup(ctx, "room") })
	same("GetClientIDsByGroup", obj{"group": "room"}, func() (any, error) { return goAPI.GetClientIDsByGroup(ctx, "room") })
	same("GetUIDsByGroup", obj{"group": "room"}, func() (any, error) { return goAPI.GetUIDsByGroup(ctx, "room") })
	same("GetUIDCountByGroup", obj{"group": "room"}, func() (any, error) { return goAPI.GetUIDCountByGroup(ctx, "room") })
	same("GetClientInfosByGroup", obj{"group": "room"}, func() (any, error) { return goAPI.GetClientInfosByGroup(ctx, "room") })
	same("GetGroupsByClientID", obj{"clientId": id[3]}, func() (any, error) { return goAPI.GetGroupsByClientID(ctx, id[3]) })
	same("GetAllGroups", obj{}, func() (any, error) { return goAPI.GetAllGroups(ctx) })
	same("IsOnline", obj{"clientId": id[5]}, func() (any, error) { return goAPI.IsOnline(ctx, id[5]) })
	same("GetAllClientCount", obj{}, func() (any, error) { return goAPI.GetAllClientCount(ctx) })
	same("GetAllClientIDs", obj{}, func() (any, error) { return goAPI.GetAllClientIDs(ctx) })
	same("GetInfo", obj{"clientId": id[4]}, func() (any, error) { return goAPI.GetInfo(ctx, id[4]) })

	t.Run("sends", func(t *testing.T) {
		call(t, "SendToAll", obj{"message": "all", "exclude": []string{id[0]}})
		receive(t, "all", 1, 2, 3, 4, 5)
		call(t, "SendToClients", obj{"clientIds": []string{id[1], id[4]}, "message": "some"})
		receive(t, "some", 1, 4)
		call(t, "SendToClient", obj{"clientId": id[3], "message": "one"})
		receive(t, "one", 3)
		call(t, "SendToUID", obj{"uid": "alice", "message": "to alice"})
		receive(t, "to alice", 0, 2, 4)
		call(t, "SendToUIDs", obj{"uids": []string{"alice", "bob"}, "message": "to both"})
		receive(t, "to both", 0, 1, 2, 4)
		call(t, "SendToGroup", obj{"group": "room", "message": "to room", "exclude": []string{id[3]}})
		receive(t, "to room", 0, 5)
		call(t, "SendToGroups", obj{"groups": []string{"room", "lobby"}, "message": "to rooms"})
		receive(t, "to rooms", 0, 1, 2, 3, 5)
	})

	t.Run("changes", func(t *testing.T) {
		call(t, "BindUID", obj{"clientId": id[5], "uid": "carol"})
		if uid, _ := goAPI.GetUIDByClientID(ctx, id[5]); uid != "carol" {
			t.Errorf("after BindUID: uid %q", uid)
		}
		call(t, "UnbindUID", obj{"clientId": id[5]})
		if uid, _ := goAPI.GetUIDByClientID(ctx, id[5]); uid != "" {
			t.Errorf("after UnbindUID: uid %q", uid)
		}
		call(t, "JoinGroup", obj{"clientId": id[4], "group": "x"})
		if gs, _ := goAPI.GetGroupsByClientID(ctx, id[4]); !slices.Equal(gs, []string{"x"}) {
			t.Errorf("after JoinGroup: groups %v", gs)
		}
		call(t, "LeaveGroup", obj{"clientId": id[4], "group": "x"})
		if gs, _ := goAPI.GetGroupsByClientID(ctx, id[4]); len(gs) != 0 {
			t.Errorf("after LeaveGroup: groups %v", gs)
		}
		call(t, "Ungroup", obj{"group": "lobby"})
		if n, _ := goAPI.GetClientCountByGroup(ctx, "lobby"); n != 0 {
			t.Errorf("after Ungroup: %d members", n)
		}
		call(t, "SetInfo", obj{"clientId": id[3], "info": obj{"a": "1"}})
		call(t, "UpdateInfo", obj{"clientId": id[3], "info": obj{"b": "2"}})
		if info, _ := goAPI.GetInfo(ctx, id[3]); !reflect.DeepEqual(info, map[string]string{"a": "1", "b": "2"}) {
			t.Errorf("after SetInfo, UpdateInfo: info %v", info)
		}
	})

	t.Run("nothing else arrived", func(t *testing.T) {
		call(t, "SendToAll", obj{"message": "end"})
		receive(t, "end", 0, 1, 2, 3, 4, 5)
	})

	t.Run("closes", func(t *testing.T) {
		call(t, "CloseClient", obj{"clientId": id[1], "code": 4000, "reason": "bye", "final": "last"})
		ce, got := c.clients[1].CloseErr()
		if ce.Code != 4000 || ce.Reason != "bye" || !slices.Equal(got, []string{"last"}) {
			t.Errorf("client 1 closed with %d %q after %q", ce.Code, ce.Reason, got)
		}
		call(t, "DestroyClient", obj{"clientId": id[5]})
		if _, _, err := c.clients[5].Next(testutil.Wait); err == nil {
			t.Error("client 5 still reads after DestroyClient")
		}
	})

	t.Run("offline", func(t *testing.T) {
		// Every call about a client answers as the Go Api does for one
		// that is gone: the closed client 1, on node 0, and the destroyed
		// client 5, on node 2, seen from node 0.
		gone := []string{id[1], id[5]}
		// A close takes a moment to finish (OnClose, then the client is
		// forgotten): wait until every node says the clients are gone, so
		// both sides below see the same state.
		deadline := time.Now().Add(testutil.Wait)
		for _, g := range c.nodes {
			for _, cid := range gone {
				for _, err := g.Api().GetInfo(ctx, cid); !errors.Is(err, api.ErrClientOffline); _, err = g.Api().GetInfo(ctx, cid) {
					if time.Now().After(deadline) {
						t.Fatalf("client %s still there: %v", cid, err)
					}
					time.Sleep(5 * time.Millisecond) // poll the close
				}
			}
		}
		for _, gone := range gone {
			for _, cl := range newCalls() {
				if cl.fieldIndex("clientId") < 0 {
					continue
				}
				body := obj{"clientId": gone}
				for _, f := range cl.fields {
					switch f.name {
					case "uid":
						body["uid"] = "u"
					case "group":
						body["group"] = "g"
					case "message":
						body["message"] = "m"
					case "info":
						body["info"] = obj{}
					}
				}
				a := post(t, c.base+cl.name, testKey, mustJSON(t, body))
				r, err := decodeArgs(cl, []byte(mustJSON(t, body)))
				if err != nil {
					t.Fatal(err)
				}
				want, goErr := cl.do(ctx, goAPI, r)
				switch {
				case goErr == nil:
					if a.status != 200 {
						t.Errorf("%s of a gone client: %d %+v, the Go Api answers %v", cl.name, a.status, a.Error, want)
					}
				case errors.Is(goErr, api.ErrClientOffline):
					if a.status != 404 || a.Error == nil || a.Error.Code != "client_offline" {
						t.Errorf("%s of a gone client: %d %+v, want 404 client_offline", cl.name, a.status, a.Error)
					}
				default:
					t.Errorf("%s: Go Api: %v", cl.name, goErr)
				}
			}
		}
	})

	for _, cl := range newCalls() {
		if !done[cl.name] {
			t.Errorf("%s: not tested here", cl.name)
		}
	}
}

// normal sorts a list answer, whose order is unspecified.
func normal(v any) any {
	if s, ok := v.([]string); ok {
		s = slices.Clone(s)
		slices.Sort(s)
		if s == nil {
			s = []string{}
		}
		return s
	}
	return v
}

// TestBinaryRoundTrip sends bytes that are not UTF-8 as base64 to a
// client on another node, which gets them as a binary message.
func TestBinaryRoundTrip(t *testing.T) {
	c := startCluster(t, 1, Options{})
	data := []byte{0, 0xff, 0xfe, 'h', 'i', 0x80}
	for i, target := range c.ids {
		a := post(t, c.base+"SendToClient", testKey, mustJSON(t, obj{
			"clientId": target, "message": base64.StdEncoding.EncodeToString(data), "binary": true,
		}))
		if a.status != 200 {
			t.Fatalf("client %d: %d %+v", i, a.status, a.Error)
		}
		got, op, err := c.clients[i].Next(testutil.Wait)
		if err != nil || op != ws.OpBinary || got != string(data) {
			t.Fatalf("client %d got %v %q, %v; want binary %q", i, op, got, err, data)
		}
	}
	// Text must be text: bytes that are not UTF-8 are refused, not sent.
	a := post(t, c.base+"SendToClient", testKey, `{"clientId":"`+c.ids[1]+`","message":"aGk=","binary":"yes"}`)
	if a.status != 400 || a.Error.Code != "bad_request" {
		t.Fatalf("binary \"yes\": %d %+v", a.status, a.Error)
	}
}
