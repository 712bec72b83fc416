package etcdtest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

// wsgateBin is the wsgate binary TestMain builds once.
var wsgateBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wsgate-etcdtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wsgateBin = filepath.Join(dir, "wsgate")
	// Built in the main module, with its go.mod: the binary as shipped,
	// not one with this module's (etcd server's) dependency versions.
	args := []string{"build", "-C", "../..", "-o", wsgateBin}
	if raceEnabled {
		// The processes get the race detector too; a race they report
		// fails the test that ran them.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/wsgate")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest: build wsgate:", err)
		return 1
	}
	return m.Run()
}

// Bounds of the tests: generous for a loaded two-core machine.
const (
	startWithin = 20 * time.Second // a process prints its addresses
	wait        = 15 * time.Second // anything else that should happen
)

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
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	lines   chan string
	log     *testutil.LogBuffer
	done    chan struct{} // closed once the process is reaped
	addr    string        // WebSocket host:port
	metrics string        // operator host:port
	id      string        // node id, as in its etcd key
}

// startNode runs a chat node on ip whose peers come from the etcd at
// endpoints. The test's cleanup kills it, by its pid, if still running.
func startNode(t testing.TB, ip, endpoints string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "-listen", ip + ":0", "-rpc", ip + ":0", "-metrics-listen", ip + ":0",
		"-discovery", "etcd://" + endpoints + "/" + prefix, "-secret", secret, "-app", "chat", "-log-level", "warn"}, extra...)
	cmd := exec.Command(wsgateBin, args...)
	// Should the test binary die, the kernel ends the child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n := &node{t: t, name: "node on " + ip, cmd: cmd, lines: make(chan string, 64), log: &testutil.LogBuffer{}, done: make(chan struct{})}
	cmd.Stderr = n.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case n.lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if strings.Contains(n.log.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", n.name, n.log)
		}
	})
	n.metrics = strings.TrimSuffix(n.expectLine("metrics on http://"), "/metrics")
	n.addr = n.expectLine("listening on ")
	n.id, _, _ = strings.Cut(n.expectLine("node "), ",")
	return n
}

func (n *node) url() string { return "ws://" + n.addr + "/ws" }

// expectLine waits for the next stdout line starting with prefix and
// returns the rest of it.
func (n *node) expectLine(prefix string) string {
	n.t.Helper()
	timeout := time.After(startWithin)
	for {
		select {
		case l := <-n.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-n.done:
			n.t.Fatalf("%s exited before printing %q; log:\n%s", n.name, prefix, n.log)
		case <-timeout:
			n.t.Fatalf("%s printed no %q line within %v; log:\n%s", n.name, prefix, startWithin, n.log)
		}
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits until it
// is reaped.
func (n *node) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGCONT) // a frozen process dies as well
	n.cmd.Process.Kill()
	<-n.done
}

// signal sends sig (SIGSTOP, SIGCONT) to the process.
func (n *node) signal(sig syscall.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("%v to %s: %v", sig, n.name, err)
	}
}

// readyz returns the status code of the node's /readyz.
func (n *node) readyz() int {
	n.t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.metrics + "/readyz")
	if err != nil {
		n.t.Fatalf("%s /readyz: %v", n.name, err)
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
	n.t.Fatalf("%s /readyz: not %d within %v; log:\n%s", n.name, code, wait, n.log)
	return time.Time{}
}

// peers reads the node's wsgate_cluster_peers gauge: how many other
// gateway nodes its peer list holds now.
func (n *node) peers() int {
	n.t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.metrics + "/metrics")
	if err != nil {
		n.t.Fatalf("%s /metrics: %v", n.name, err)
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
	n.t.Fatalf("%s /metrics: no wsgate_cluster_peers", n.name)
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
	n.t.Fatalf("%s: not %d peers within %v; log:\n%s", n.name, count, wait, n.log)
	return time.Time{}
}
