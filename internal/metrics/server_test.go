package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/poller"
)

// wait bounds every wait for something that should happen soon; generous,
// for a loaded machine.
const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// echoApp echoes every message, binds the uid named in the query and puts
// every client in one group, so that each gauge has something to count.
// Closing clients wait on hold, which lets a test keep a drain in progress.
type echoApp struct {
	api  api.Api
	hold chan struct{}
}

func (a *echoApp) OnStart(x api.Api) error { a.api = x; return nil }

func (a *echoApp) OnHandshake(h *api.Handshake) error {
	h.UID = h.Query.Get("uid")
	return nil
}

func (a *echoApp) OnConnect(id string) { a.api.JoinGroup(context.Background(), id, "room") }

func (a *echoApp) OnMessage(id string, m api.Message) {
	a.api.SendToClient(context.Background(), id, m.Data)
}

func (a *echoApp) OnClose(string) { <-a.hold }

// node is a gateway and its operator listener on loopback.
type node struct {
	gw   *api.Gateway
	app  *echoApp
	base string // http://host:port of the operator listener
}

func startNode(t *testing.T) *node {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith starts a node, a cluster member when cluster is set.
func startNodeWith(t *testing.T, cluster *api.ClusterOptions) *node {
	t.Helper()
	app := &echoApp{hold: make(chan struct{})}
	gw, err := api.NewGateway(api.Options{Logger: quiet, Cluster: cluster, Server: poller.Options{Addr: "127.0.0.1:0"}}, app)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("127.0.0.1:0", gw, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	n := &node{gw: gw, app: app, base: "http://" + srv.Addr().String()}
	// Before Start the node takes no clients: not ready.
	if code, _ := n.get(t, "/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before start: %d, want 503", code)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-app.hold:
		default:
			close(app.hold)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		gw.Shutdown(ctx)
	})
	return n
}

func (n *node) get(t *testing.T, path string) (int, string) {
	t.Helper()
	client := http.Client{Timeout: wait}
	resp, err := client.Get(n.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics with Prometheus's own parser, so that the
// exposition is checked as a scraper reads it.
func (n *node) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := n.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value is the single sample of the named family; -1 if absent.
func value(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.Metric) != 1 {
		return -1
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return -1
}

// await scrapes until every named metric has its wanted value.
func (n *node) await(t *testing.T, want map[string]float64) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		fams := n.scrape(t)
		var diff []string
		for name, v := range want {
			if got := value(fams, name); got != v {
				diff = append(diff, fmt.Sprintf("%s=%v (want %v)", name, got, v))
			}
		}
		if len(diff) == 0 {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never reached the wanted values: %s", strings.Join(diff, ", "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wsClient is the tests' WebSocket client.
type wsClient struct{ *testutil.WSClient }

func (n *node) dial(t *testing.T, uid string) *wsClient {
	t.Helper()
	return &wsClient{testutil.MustDialWS(t, "ws://"+n.gw.Addr().String()+"/ws?uid="+uid)}
}

// echo sends msg and reads it back, so the node has handled it on return.
func (c *wsClient) echo(msg string) {
	c.T.Helper()
	c.Send(msg)
	if got := c.Read(); got != msg {
		c.T.Fatalf("echo %q, want %q", got, msg)
	}
}

// close sends a close frame and waits for the node to close the socket.
func (c *wsClient) close() {
	c.T.Helper()
	c.Conn.SetDeadline(time.Now().Add(wait))
	frame := ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	if err := ws.WriteFrame(c.Conn, ws.MaskFrame(frame)); err != nil {
		c.T.Fatalf("write close: %v", err)
	}
	if _, err := io.Copy(io.Discard, c.Conn); err != nil {
		c.T.Fatalf("read until closed: %v", err)
	}
}

// TestMetricsFollowClients scrapes a live node as real clients connect,
// send and leave.
func TestMetricsFollowClients(t *testing.T) {
	n := startNode(t)
	fams := n.await(t, map[string]float64{
		"wsgate_connections": 0, "wsgate_clients": 0, "wsgate_uids": 0, "wsgate_groups": 0,
		"wsgate_messages_in_total": 0, "wsgate_connections_opened_total": 0,
	})
	if fams["wsgate_cluster_peers"] != nil {
		t.Fatal("a single node reports cluster peers")
	}
	if g := value(fams, "go_goroutines"); g <= 0 {
		t.Fatalf("go_goroutines %v", g)
	}
	if rss := value(fams, "process_resident_memory_bytes"); rss <= 0 {
		t.Fatalf("process_resident_memory_bytes %v", rss)
	}
	if node := fams["wsgate_node_info"]; node == nil || node.Metric[0].Label[0].GetValue() != n.gw.NodeID().String() {
		t.Fatalf("wsgate_node_info %v, want node %s", node, n.gw.NodeID())
	}

	// alice on two devices and bob: three connections, two uids, one group.
	cs := []*wsClient{n.dial(t, "alice"), n.dial(t, "alice"), n.dial(t, "bob")}
	for i, c := range cs {
		for j := 0; j <= i; j++ {
			c.echo(fmt.Sprintf("hello %d", j))
		}
	}
	n.await(t, map[string]float64{
		"wsgate_connections": 3, "wsgate_clients": 3, "wsgate_uids": 2, "wsgate_groups": 1,
		"wsgate_messages_in_total": 6, "wsgate_connections_accepted_total": 3, "wsgate_connections_opened_total": 3,
		"wsgate_protocol_errors_total": 0,
	})

	// A client goes; the node lets the OnClose callbacks run.
	close(n.app.hold)
	cs[2].close()
	n.await(t, map[string]float64{
		"wsgate_connections": 2, "wsgate_clients": 2, "wsgate_uids": 1, "wsgate_groups": 1,
		"wsgate_messages_in_total": 6,
	})

	// An unmasked frame is a protocol error; its connection goes too.
	cs[1].Conn.SetDeadline(time.Now().Add(wait))
	if err := ws.WriteFrame(cs[1].Conn, ws.NewTextFrame([]byte("unmasked"))); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, cs[1].Conn)
	n.await(t, map[string]float64{
		"wsgate_connections": 1, "wsgate_clients": 1, "wsgate_protocol_errors_total": 1,
	})
}

// TestHealthzDuringDrain checks that /healthz answers 200 while the node
// serves and 503 from the moment its drain begins.
func TestHealthzDuringDrain(t *testing.T) {
	n := startNode(t)
	if code, body := n.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz while serving: %d %q", code, body)
	}
	c := n.dial(t, "carol")
	c.echo("hi")
	// The client answers the node's close frame, as a browser would, so
	// the drain waits on OnClose only.
	go func() {
		for {
			if _, _, err := wsutil.ReadServerData(c.Conn); err != nil {
				return
			}
		}
	}()

	// The client's OnClose waits on hold, so the drain stays in progress
	// until the test lets it finish.
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		drained <- n.gw.Shutdown(ctx)
	}()
	deadline := time.Now().Add(wait)
	for {
		code, body := n.get(t, "/healthz")
		if code == http.StatusServiceUnavailable {
			if body != "draining\n" {
				t.Fatalf("healthz body %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz still %d after the drain began", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-drained:
		t.Fatalf("the drain ended before OnClose returned: %v", err)
	default:
	}
	close(n.app.hold)
	if err := <-drained; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if code, _ := n.get(t, "/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz after the drain: %d, want 503", code)
	}
	// The metrics still answer after the drain, for a last scrape.
	n.await(t, map[string]float64{"wsgate_connections": 0, "wsgate_clients": 0})
}

// TestPprofOnOwnMux checks that the profiles answer on the operator
// listener.
func TestPprofOnOwnMux(t *testing.T) {
	n := startNode(t)
	code, body := n.get(t, "/debug/pprof/")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %d %.200q", code, body)
	}
	code, body = n.get(t, "/debug/pprof/goroutine?debug=1")
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %.200q", code, body)
	}
	// The command line may carry --secret: never served.
	if code, _ = n.get(t, "/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Fatalf("cmdline: %d, want 404", code)
	}
	if code, _ = n.get(t, "/nothing"); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
}

// TestClusterPeers checks the peers gauge of a cluster node as a second
// node joins and leaves.
func TestClusterPeers(t *testing.T) {
	const secret = "metrics-test-secret"
	first := startNodeWith(t, &api.ClusterOptions{EmbeddedRegister: "127.0.0.1:0", Secret: secret, Logger: quiet})
	first.await(t, map[string]float64{"wsgate_cluster_peers": 0})

	second := startNodeWith(t, &api.ClusterOptions{
		Registers: []string{first.gw.RegisterAddr().String()}, Secret: secret, Logger: quiet,
	})
	first.await(t, map[string]float64{"wsgate_cluster_peers": 1})
	second.await(t, map[string]float64{"wsgate_cluster_peers": 1})

	close(second.app.hold)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := second.gw.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	first.await(t, map[string]float64{"wsgate_cluster_peers": 0})
}

// TestReadyz: a single node is ready while it serves; a cluster node is
// ready once it has its first peer list from a register, and not while it
// drains. (A refused secret fails Start; the api tests cover a register
// that starts refusing later.)
func TestReadyz(t *testing.T) {
	single := startNode(t)
	if code, body := single.get(t, "/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Fatalf("single node: %d %q, want 200 ready", code, body)
	}

	const secret = "readyz-test-secret"
	first := startNodeWith(t, &api.ClusterOptions{EmbeddedRegister: "127.0.0.1:0", Secret: secret, Logger: quiet})
	// Start waited for the first peer list: ready at once.
	if code, body := first.get(t, "/readyz"); code != http.StatusOK {
		t.Fatalf("cluster node after Start: %d %q, want 200", code, body)
	}

	// A register that is not there: serving once the join timeout has
	// passed, but not ready.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := lis.Addr().String()
	lis.Close()
	lonely := startNodeWith(t, &api.ClusterOptions{Registers: []string{gone}, Secret: secret, JoinTimeout: 100 * time.Millisecond, Logger: quiet})
	lonely.awaitReady(t, http.StatusServiceUnavailable, "no peer list")

	// Draining: not ready.
	close(first.app.hold)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := first.gw.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	first.awaitReady(t, http.StatusServiceUnavailable, "draining")
}

// awaitReady polls /readyz until it answers code with body containing want.
func (n *node) awaitReady(t *testing.T, code int, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got, body := n.get(t, "/readyz")
		if got == code && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %q, want %d %q", got, body, code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterConnections checks the connection figures of the rpc server
// and of the embedded register as strangers connect, over the limit.
func TestClusterConnections(t *testing.T) {
	n := startNodeWith(t, &api.ClusterOptions{EmbeddedRegister: "127.0.0.1:0", Secret: "metrics-test-secret", MaxConns: 2, Logger: quiet})
	// The node's own register client holds one register connection.
	n.await(t, map[string]float64{
		"wsgate_rpc_connections": 0, "wsgate_rpc_connections_refused_total": 0, "wsgate_rpc_refused_total": 0,
		"wsgate_register_connections": 1, "wsgate_register_connections_refused_total": 0,
	})
	dial := func(addr net.Addr) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	for range 3 {
		dial(n.gw.RPCAddr())
	}
	for range 2 {
		dial(n.gw.RegisterAddr())
	}
	n.await(t, map[string]float64{
		"wsgate_rpc_connections": 2, "wsgate_rpc_connections_refused_total": 1,
		"wsgate_register_connections": 2, "wsgate_register_connections_refused_total": 1,
	})
}
