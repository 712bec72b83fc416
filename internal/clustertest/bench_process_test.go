package clustertest

import (
	"bytes"
	"context"
	"net"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench"
)

// TestProcessBenchBcastCluster runs the bench's broadcast workload against
// three broadcast node processes: subscribers spread over the nodes, the
// publisher on the first, publishing to all and then to a group. Every
// subscriber must get every message once, in order.
func TestProcessBenchBcastCluster(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	var urls []string
	for i := range 3 {
		urls = append(urls, startNode(t, nodeIPs[i], reg, "-app", "broadcast").url())
	}
	// The nodes must reach each other before the subscribers count on it.
	waitBroadcastMesh(t, urls)
	for _, group := range []string{"", "bench"} {
		args := []string{"-url", strings.Join(urls, ","), "-conns", "300", "-rate", "20", "-duration", "1s",
			"-procs", "1", "-sources", "-1", "-loops", "2", "-json"}
		if group != "" {
			args = append(args, "-group", group)
		}
		args = append(args, "bcast")
		var stdout, stderr bytes.Buffer
		code := bench.Main(args, &stdout, &stderr)
		var rep bench.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("group %q: exit %d, report %s: %v; stderr: %s", group, code, stdout.Bytes(), err, stderr.Bytes())
		}
		b := rep.Broadcast
		if code != 0 || !rep.OK || b == nil || b.Subscribers != 300 || b.Published == 0 || b.Missing != 0 || b.Duplicates != 0 || b.OutOfOrder != 0 {
			t.Fatalf("group %q: exit %d, ok %v, broadcast %+v, errors %v; stderr: %s", group, code, rep.OK, b, rep.ErrorSamples, stderr.Bytes())
		}
		t.Logf("group %q: %s", group, fmt.Sprintf("%d published to %d subscribers on 3 nodes, %.0f deliveries/s, p99 %dµs",
			b.Published, b.Subscribers, b.DeliveriesPerS, rep.Latency.P99))
	}
}

// waitBroadcastMesh waits until a message published on any of the
// broadcast nodes reaches a client of every node: each round, a client per
// node publishes a token and reads until it has every node's token of that
// round.
func waitBroadcastMesh(t *testing.T, urls []string) {
	t.Helper()
	var conns []net.Conn
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, _, _, err := ws.Dial(ctx, u)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	deadline := time.Now().Add(wait)
	for round := 0; time.Now().Before(deadline); round++ {
		for i, c := range conns {
			if err := wsutil.WriteClientText(c, fmt.Appendf(nil, "mesh %d %d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		complete := true
		for _, c := range conns {
			got := map[string]bool{}
			c.SetReadDeadline(time.Now().Add(time.Second))
			for len(got) < len(conns) {
				p, err := wsutil.ReadServerText(c)
				if err != nil {
					break // a timeout: try another round
				}
				if s := string(p); strings.HasPrefix(s, fmt.Sprintf("mesh %d ", round)) {
					got[s] = true
				}
			}
			complete = complete && len(got) == len(conns)
		}
		if complete {
			return
		}
	}
	t.Fatalf("the broadcast nodes did not reach each other within %v", wait)
}
