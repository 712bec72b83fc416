package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
)

// threeNodes starts a cluster of three nodes, the first with the
// register, and waits until each has the other two as peers.
func threeNodes(t *testing.T) []*node {
	t.Helper()
	const secret = "cluster-page-secret"
	first := startNodeWith(t, &api.ClusterOptions{EmbeddedRegister: "127.0.0.1:0", Secret: secret, Logger: quiet})
	nodes := []*node{first}
	for range 2 {
		nodes = append(nodes, startNodeWith(t, &api.ClusterOptions{
			Registers: []string{first.gw.RegisterAddr().String()}, Secret: secret, Logger: quiet,
		}))
	}
	for _, n := range nodes {
		n.await(t, map[string]float64{"wsgate_cluster_peers": 2})
	}
	return nodes
}

// view reads /cluster.json.
func (n *node) view(t *testing.T) api.ClusterView {
	t.Helper()
	code, body := n.get(t, "/cluster.json")
	if code != http.StatusOK {
		t.Fatalf("/cluster.json: %d %s", code, body)
	}
	var v api.ClusterView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/cluster.json: %v\n%s", err, body)
	}
	return v
}

// TestClusterViewShowsEveryNode: any node's /cluster.json has every node
// with its own figures (connections, clients, uids, groups, messages) and
// its links to the others, up once the streams have opened.
func TestClusterViewShowsEveryNode(t *testing.T) {
	nodes := threeNodes(t)
	a := nodes[1].dial(t, "ann")
	nodes[1].dial(t, "bob")
	nodes[2].dial(t, "cid")
	a.Send("hello")
	if got := a.Read(); got != "hello" {
		t.Fatalf("echo: %q", got)
	}
	// A fan-out from the first node reaches every node: each one's
	// streams to the others open on the way.
	for _, n := range nodes {
		if err := n.gw.Api().SendToGroup(t.Context(), "room", []byte("to the room")); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]nodeCounts{
		nodes[0].gw.NodeID().String(): {conns: 0, uids: 0},
		nodes[1].gw.NodeID().String(): {conns: 2, uids: 2, in: 1, out: 1 + 3*2}, // the echo, and three fan-outs to two
		nodes[2].gw.NodeID().String(): {conns: 1, uids: 1, out: 3},
	}
	awaitView(t, nodes[0], want)
}

// nodeCounts is what a test expects of a node in the view: connections
// (each a client, with a uid, in one group) and at least in and out
// messages.
type nodeCounts struct {
	conns, uids int
	in, out     uint64
}

// awaitView waits until n's /cluster.json shows want, with every link up.
func awaitView(t *testing.T, n *node, want map[string]nodeCounts) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		v := n.view(t)
		problem := viewProblem(v, n.gw.NodeID().String(), want)
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s\n%+v", problem, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// viewProblem says what in v differs from want (by node: its connections
// and uids), with every link up; "" if nothing.
func viewProblem(v api.ClusterView, self string, want map[string]nodeCounts) string {
	if v.Self != self || len(v.Nodes) != len(want) || len(v.Missing) != 0 || v.Error != "" {
		return "not every node answered"
	}
	for _, nv := range v.Nodes {
		w, ok := want[nv.Node]
		switch {
		case !ok:
			return "unknown node " + nv.Node
		case int(nv.Conns) != w.conns || nv.Clients != w.conns || nv.UIDs != w.uids || nv.Groups != min(w.conns, 1):
			return "node " + nv.Node + " has other counts"
		case nv.MessagesIn < w.in || nv.MessagesOut < w.out:
			return "node " + nv.Node + " has fewer messages"
		case len(nv.Links) != len(want)-1:
			return "node " + nv.Node + " lacks links"
		}
		for _, l := range nv.Links {
			if l.State != "up" || l.Peer == nv.Node {
				return "node " + nv.Node + " has a link not up: " + l.Peer + " " + l.State
			}
		}
	}
	return ""
}

// TestClusterPageInBrowser opens /cluster in headless Chromium: the page
// shows a row for every node and a total, refreshed from /cluster.json.
// With WSGATE_SCREENSHOT set to a file name, it saves a screenshot there
// (the README's).
func TestClusterPageInBrowser(t *testing.T) {
	exe := testutil.Chromium(t)
	nodes := threeNodes(t)
	for i, n := range nodes {
		for range i + 1 {
			n.dial(t, "")
		}
	}
	want := make(map[string]nodeCounts)
	for i, n := range nodes {
		want[n.gw.NodeID().String()] = nodeCounts{conns: i + 1}
	}
	awaitView(t, nodes[0], want)
	// Traffic while the page is open: every client gets 20 messages a
	// second, so the page's rates are not zero.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() {
		for tick := time.NewTicker(50 * time.Millisecond); ctx.Err() == nil; <-tick.C {
			nodes[0].gw.Api().SendToAll(ctx, []byte("tick"))
		}
	}()
	tab := testutil.Browser(t, exe, 60*time.Second)
	for i, step := range []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(1100, 420),
		chromedp.Navigate(nodes[0].base + "/cluster"),
		chromedp.WaitVisible(chromedp.CSS(`tr.total`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("tr[data-node] .link.up").length === 6`, chromedp.WithPollingTimeout(wait)),
		// The total's messages out/s (its seventh cell): 6 clients × 20/s.
		chromedp.Poll[chromedp.Void](`Number(document.querySelector("tr.total").cells[6].textContent.replace(/,/g, "")) >= 60`, chromedp.WithPollingTimeout(wait)),
	} {
		if err := chromedp.Do(tab, step); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	rows, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("tr[data-node]").length`))
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`tr.total`)))
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 3 || !strings.HasPrefix(total, "3 nodes") || !strings.Contains(total, "6") {
		t.Fatalf("%d node rows, total %q; want 3 rows and 6 connections in all", rows, total)
	}
	if !strings.Contains(status, nodes[0].gw.NodeID().String()) {
		t.Fatalf("status %q does not name the node serving the page", status)
	}
	if path := os.Getenv("WSGATE_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
