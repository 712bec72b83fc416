package testutil

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
)

// StartWithin bounds how long a started wsgate process may take to print
// the line a test waits for: generous for a loaded two-core machine.
const StartWithin = 20 * time.Second

// MainWithWsgate is the TestMain of a package of process tests: it
// builds cmd/wsgate from the module at root (a relative path such as
// "../.." from the package's directory; with that module's go.mod, so a
// test module's own dependency versions stay out of the binary) into a
// temporary directory, sets *bin, runs the tests and removes the build.
// With race the binary gets the race detector too, and a race it reports
// fails the test that ran it (see StartProcess). It returns the exit code.
func MainWithWsgate(m *testing.M, root string, race bool, bin *string) int {
	dir, err := os.MkdirTemp("", "wsgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "wsgate")
	args := []string{"build", "-C", root, "-o", *bin}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/wsgate")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build wsgate:", err)
		return 1
	}
	return m.Run()
}

// Process is one wsgate process started by a test. Its stdout lines
// arrive on Lines; stdout and stderr together are kept in Log for the
// messages of a failing test.
type Process struct {
	t     testing.TB
	Name  string
	Cmd   *exec.Cmd
	Lines chan string
	Log   *LogBuffer
	Done  chan struct{} // closed once the process is reaped
}

// StartProcess runs bin with args. The test's cleanup kills it (by its
// pid) if it is still running, and fails the test if it reported a data
// race.
func StartProcess(t testing.TB, bin, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Should the test binary die, the kernel ends the child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &Process{t: t, Name: name, Cmd: cmd, Lines: make(chan string, 64), Log: &LogBuffer{}, Done: make(chan struct{})}
	cmd.Stderr = p.Log
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
			// wsgate logs to stdout: keep its lines with stderr's.
			fmt.Fprintln(p.Log, sc.Text())
			select {
			case p.Lines <- sc.Text():
			default: // nobody asks for more than the first few lines
			}
		}
		cmd.Wait()
		close(p.Done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if strings.Contains(p.Log.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", p.Name, p.Log)
		}
	})
	return p
}

// ExpectLine waits for the next stdout line starting with prefix and
// returns the rest of it, trimmed.
func (p *Process) ExpectLine(prefix string) string {
	p.t.Helper()
	timeout := time.After(StartWithin)
	for {
		select {
		case l := <-p.Lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-p.Done:
			p.t.Fatalf("%s exited before printing %q; log:\n%s", p.Name, prefix, p.Log)
		case <-timeout:
			p.t.Fatalf("%s printed no %q line within %v; log:\n%s", p.Name, prefix, StartWithin, p.Log)
		}
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits until
// it is reaped. A frozen process is continued first, so that it dies too.
func (p *Process) Kill() {
	select {
	case <-p.Done:
		return
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGCONT)
	p.Cmd.Process.Kill()
	<-p.Done
}

// Signal sends sig to the process: SIGSTOP freezes it, its sockets open
// and silent as with a hung machine; SIGCONT lets it go on.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%v to %s: %v", sig, p.Name, err)
	}
}
