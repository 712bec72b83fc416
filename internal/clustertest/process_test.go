package clustertest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

// wsgateBin is the wsgate binary TestMain builds once for the process tests.
var wsgateBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wsgate-clustertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wsgateBin = filepath.Join(dir, "wsgate")
	args := []string{"build", "-o", wsgateBin}
	if raceEnabled {
		// The processes get the race detector too; a race they report
		// fails the test that ran them.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/wsgate/wsgate/cmd/wsgate")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: build wsgate:", err)
		return 1
	}
	return m.Run()
}

// Bounds of the process tests: generous for a loaded two-core machine.
const (
	startWithin = 20 * time.Second // a process prints its addresses
	wait        = 15 * time.Second // anything else that should happen
)

// proc is one wsgate process started by a test. Its stdout lines arrive on
// lines; its stderr (the log) is kept for failure messages.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	lines chan string
	log   *testutil.LogBuffer
	done  chan struct{} // closed once the process is reaped
}

// startProc runs wsgate with args. The test's cleanup kills it (by its
// pid) if it is still running.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(wsgateBin, args...)
	// Should the test binary die, the kernel ends the child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{t: t, name: name, cmd: cmd, lines: make(chan string, 64), log: &testutil.LogBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// wsgate logs to stdout: keep its lines with stderr's for the
			// log a failing test prints.
			fmt.Fprintln(p.log, sc.Text())
			select {
			case p.lines <- sc.Text():
			default: // nobody asks for more than the first few lines
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if strings.Contains(p.log.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", p.name, p.log)
		}
	})
	return p
}

// expectLine waits for the next stdout line starting with prefix and
// returns the rest of it.
func (p *proc) expectLine(prefix string) string {
	p.t.Helper()
	timeout := time.After(startWithin)
	for {
		select {
		case l := <-p.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-p.done:
			p.t.Fatalf("%s exited before printing %q; log:\n%s", p.name, prefix, p.log)
		case <-timeout:
			p.t.Fatalf("%s printed no %q line within %v; log:\n%s", p.name, prefix, startWithin, p.log)
		}
	}
}

// kill ends the process at once with SIGKILL, as a crash would, and waits
// until it is reaped.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// freeze stops the process with SIGSTOP: its sockets stay open and
// silent, as with a hung machine. The cleanup's SIGKILL still ends it.
func (p *proc) freeze() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("freeze %s: %v", p.name, err)
	}
}

const secret = "process-cluster-secret"

// registerProc is a `wsgate register` process.
type registerProc struct {
	*proc
	addr string
}

// startRegister runs a register on addr ("127.0.0.1:0" for any port).
func startRegister(t testing.TB, addr string) *registerProc {
	t.Helper()
	p := startProc(t, "register", "register", "-listen", addr, "-secret", secret, "-log-level", "warn")
	return &registerProc{proc: p, addr: p.expectLine("register listening on ")}
}

// node is a `wsgate serve` process in a cluster.
type node struct {
	*proc
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
	n := &node{proc: p, addr: p.expectLine("listening on ")}
	rest := p.expectLine("node ")
	id, rpcAddr, ok := strings.Cut(rest, ", rpc on ")
	if !ok {
		t.Fatalf("%s: unexpected line %q", p.name, "node "+rest)
	}
	n.id, n.rpc = id, rpcAddr
	return n
}

func (n *node) url() string { return "ws://" + n.addr + "/ws" }
