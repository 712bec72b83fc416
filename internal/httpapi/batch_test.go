package httpapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestBatchInOrder: a batch's calls are made in order (a BindUID, then
// sends to that uid) and answered in order, each with its own status; a
// failing call does not stop the next, and the client gets the sends in
// their order.
func TestBatchInOrder(t *testing.T) {
	c := startCluster(t, 1, Options{}) // the client of node 2 is c.ids[2]
	calls := []obj{{"call": "BindUID", "args": obj{"clientId": c.ids[2], "uid": "zed"}}}
	const sends = 50
	for i := range sends {
		calls = append(calls, obj{"call": "SendToUID", "args": obj{"uid": "zed", "message": fmt.Sprint("m", i)}})
	}
	calls = append(calls,
		obj{"call": "NoSuchCall"},
		obj{"call": "BindUID", "args": obj{"clientId": c.ids[2], "uid": ""}},
		obj{"call": "SendToUID", "args": obj{"uid": "zed"}},
		obj{"call": "GetClientIDsByUID", "args": obj{"uid": "zed"}},
	)
	a := post(t, c.base+"batch", testKey, mustJSON(t, obj{"calls": calls}))
	if a.status != 200 || len(a.Results) != len(calls) {
		t.Fatalf("batch: %d %+v, %d results for %d calls", a.status, a.Error, len(a.Results), len(calls))
	}
	for i := range sends + 1 {
		if r := a.Results[i]; r.Status != 200 || r.Error != nil {
			t.Errorf("result %d: %d %+v", i, r.Status, r.Error)
		}
	}
	tail := a.Results[sends+1:]
	for i, want := range []struct {
		status int
		code   string
	}{{404, "not_found"}, {400, "empty_uid"}, {400, "bad_request"}} {
		if r := tail[i]; r.Status != want.status || r.Error == nil || r.Error.Code != want.code {
			t.Errorf("result %d: %d %+v, want %d %s", sends+1+i, r.Status, r.Error, want.status, want.code)
		}
	}
	var ids []string
	if err := json.Unmarshal(tail[3].Result, &ids); err != nil || len(ids) != 1 || ids[0] != c.ids[2] {
		t.Errorf("last result %s, want [%s]", tail[3].Result, c.ids[2])
	}
	for i := range sends {
		if got, want := c.clients[2].Read(), fmt.Sprint("m", i); got != want {
			t.Fatalf("message %d: %q, want %q", i, got, want)
		}
	}

	for _, bad := range []string{`[]`, `{"calls":{}}`, `nope`} {
		if a := post(t, c.base+"batch", testKey, bad); a.status != 400 || a.Error.Code != "bad_request" {
			t.Errorf("batch %s: %d %+v", bad, a.status, a.Error)
		}
	}
}

func TestBatchLimit(t *testing.T) {
	base := serveHTTP(t, fakeAPI{}, Options{MaxBatch: 2})
	one := obj{"call": "SendToUID", "args": obj{"uid": "u", "message": "m"}}
	if a := post(t, base+"batch", testKey, mustJSON(t, obj{"calls": []obj{one, one}})); a.status != 200 {
		t.Errorf("batch of 2: %d %+v", a.status, a.Error)
	}
	if a := post(t, base+"batch", testKey, mustJSON(t, obj{"calls": []obj{one, one, one}})); a.status != 400 {
		t.Errorf("batch of 3 over a limit of 2: %d %+v", a.status, a.Error)
	}
}
