package clustertest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

// wsgateBin is the wsgate binary TestMain builds once for the process tests.
var wsgateBin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithWsgate(m, "../..", raceEnabled, &wsgateBin))
}

// wait bounds anything a process test waits for but a start-up line:
// generous for a loaded two-core machine.
const wait = 15 * time.Second

// startProc runs wsgate with args (see testutil.StartProcess).
func startProc(t testing.TB, name string, args ...string) *testutil.Process {
	t.Helper()
	return testutil.StartProcess(t, wsgateBin, name, args...)
}

const secret = "process-cluster-secret"

// registerProc is a `wsgate register` process.
type registerProc struct {
	*testutil.Process
	addr string
}

// startRegister runs a register on addr ("127.0.0.1:0" for any port).
func startRegister(t testing.TB, addr string) *registerProc {
	t.Helper()
	p := startProc(t, "register", "register", "-listen", addr, "-secret", secret, "-log-level", "warn")
	return &registerProc{Process: p, addr: p.ExpectLine("register listening on ")}
}

// node is a `wsgate serve` process in a cluster.
type node struct {
	*testutil.Process
	addr string // WebSocket host:port
	rpc  string // rpc host:port
	id   string // node id as printed
}

// startNode runs a chat node on ip that joins reg, with extra serve flags.
func startNode(t testing.TB, ip string, reg *registerProc, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "-listen", ip + ":0", "-rpc", ip + ":0", "-register", reg.addr,
		"-secret", secret, "-app", "chat", "-log-level", "warn"}, extra...)
	p := startProc(t, "node on "+ip, args...)
	n := &node{Process: p, addr: p.ExpectLine("listening on ")}
	rest := p.ExpectLine("node ")
	id, rpcAddr, ok := strings.Cut(rest, ", rpc on ")
	if !ok {
		t.Fatalf("%s: unexpected line %q", p.Name, "node "+rest)
	}
	n.id, n.rpc = id, rpcAddr
	return n
}

func (n *node) url() string { return "ws://" + n.addr + "/ws" }
