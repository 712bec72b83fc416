package etcdtest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

// wsgateBin is the wsgate binary TestMain builds once.
var wsgateBin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithWsgate(m, "../..", raceEnabled, &wsgateBin))
}

// wait bounds anything a test waits for but a start-up line: generous
// for a loaded two-core machine.
const wait = 15 * time.Second

const (
	secret = "etcd-cluster-secret"
	prefix = "wsgate-test"
	ttl    = 3 * time.Second // the --etcd-ttl default
	// dropMargin is what the targets allow past the TTL for a dead node
	// to leave every list.
	dropMargin = time.Second
)

// nodeIPs give each node its own loopback address.
var nodeIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}

// node is one `wsgate serve` process on etcd.
type node struct {
	*testutil.Process
	t       testing.TB
	addr    string // WebSocket host:port
	metrics string // operator host:port
	id      string // node id, as in its etcd key
}

// startNode runs a chat node on ip whose peers come from the etcd at
// endpoints. The test's cleanup kills it, by its pid, if still running.
func startNode(t testing.TB, ip, endpoints string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "-listen", ip + ":0", "-rpc", ip + ":0", "-metrics-listen", ip + ":0",
		"-discovery", "etcd://" + endpoints + "/" + prefix, "-secret", secret, "-app", "chat", "-log-level", "warn"}, extra...)
	n := &node{Process: testutil.StartProcess(t, wsgateBin, "node on "+ip, args...), t: t}
	n.metrics = strings.TrimSuffix(n.ExpectLine("metrics on http://"), "/metrics")
	n.addr = n.ExpectLine("listening on ")
	n.id, _, _ = strings.Cut(n.ExpectLine("node "), ",")
	return n
}

func (n *node) url() string { return "ws://" + n.addr + "/ws" }

// readyz returns the status code of the node's /readyz.
func (n *node) readyz() int {
	n.t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.metrics + "/readyz")
	if err != nil {
		n.t.Fatalf("%s /readyz: %v", n.Name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReadyz waits until /readyz answers code.
func (n *node) waitReadyz(code int) time.Time {
	n.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if n.readyz() == code {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("%s /readyz: not %d within %v; log:\n%s", n.Name, code, wait, n.Log)
	return time.Time{}
}

// peers reads the node's wsgate_cluster_peers gauge: how many other
// gateway nodes its peer list holds now.
func (n *node) peers() int {
	n.t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.metrics + "/metrics")
	if err != nil {
		n.t.Fatalf("%s /metrics: %v", n.Name, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wsgate_cluster_peers "); ok {
			var count int
			fmt.Sscan(v, &count)
			return count
		}
	}
	n.t.Fatalf("%s /metrics: no wsgate_cluster_peers", n.Name)
	return 0
}

// waitPeers waits until the node's peer list holds count nodes and
// returns when it first did.
func (n *node) waitPeers(count int) time.Time {
	n.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if n.peers() == count {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("%s: not %d peers within %v; log:\n%s", n.Name, count, wait, n.Log)
	return time.Time{}
}
