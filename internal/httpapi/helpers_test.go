package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
	"github.com/wsgate/wsgate/poller"
)

const testKey = "test-key"

// ids is an application that hands out the ids of its clients as they
// connect, so that a test can name the client it just dialled.
type ids chan string

func (c ids) OnConnect(id string)         { c <- id }
func (ids) OnMessage(string, api.Message) {}
func (ids) OnClose(string)                {}

// cluster is three nodes on loopback, an HTTP Api on the first, and
// clients on each node.
type cluster struct {
	nodes   []*api.Gateway
	base    string // http://host:port/api/v1/
	clients []*testutil.WSClient
	ids     []string // of clients, in the same order
}

// startCluster starts three nodes with perNode clients on each, and
// serves the first node's Api over HTTP with o (its Keys set to testKey).
func startCluster(t *testing.T, perNode int, o Options) *cluster {
	t.Helper()
	apps := []ids{make(ids, 16), make(ids, 16), make(ids, 16)}
	nodes := gatewaytest.StartCluster(t, api.Options{}, apps[0], apps[1], apps[2])
	c := &cluster{nodes: nodes, base: serveHTTP(t, nodes[0].Api(), o)}
	for i, g := range nodes {
		for range perNode {
			ws := testutil.MustDialWS(t, "ws://"+g.Addr().String()+poller.DefaultPath)
			select {
			case id := <-apps[i]:
				ws.Name = id
				c.clients, c.ids = append(c.clients, ws), append(c.ids, id)
			case <-time.After(testutil.Wait):
				t.Fatal("no OnConnect")
			}
		}
	}
	return c
}

// serveHTTP serves a over HTTP on a free loopback port until the test
// ends, and returns the routes' prefix URL.
func serveHTTP(t *testing.T, a api.Api, o Options) string {
	t.Helper()
	if o.Keys == nil {
		o.Keys = []string{testKey}
	}
	s, err := Listen("127.0.0.1:0", a, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return "http://" + s.Addr().String() + Prefix
}

// answer is a route's answer, its fields still JSON.
type answer struct {
	status  int
	header  http.Header
	Result  json.RawMessage `json:"result"`
	Missing []string        `json:"missing"`
	Error   *errorBody      `json:"error"`
	Results []struct {
		Status  int             `json:"status"`
		Result  json.RawMessage `json:"result"`
		Missing []string        `json:"missing"`
		Error   *errorBody      `json:"error"`
	} `json:"results"`
}

// post sends body to route with key ("" for none) and decodes the answer.
func post(t *testing.T, url, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req, key)
}

func do(t *testing.T, req *http.Request, key string) answer {
	t.Helper()
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON: %v", req.Method, req.URL, b, err)
	}
	return a
}

// mustJSON marshals v for a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
