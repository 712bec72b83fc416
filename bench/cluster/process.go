package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Bounds on the processes this program runs.
const (
	startTimeout = 20 * time.Second // until a process prints its address
	stopTimeout  = 15 * time.Second // from SIGTERM to SIGKILL
	meshTimeout  = 20 * time.Second // until the nodes reach each other
)

// proc is one server process (a register or a node), pinned with taskset.
type proc struct {
	name  string
	cmd   *exec.Cmd
	lines chan string // stdout lines, the first few
	done  chan struct{}
}

// startProc runs argv pinned to cpu with its stderr in logPath.
func startProc(name, cpu string, argv []string, logPath string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: create log: %w", name, err)
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Stderr = logFile
	// If this program dies without cleaning up, the kernel ends the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: stdout: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// expect waits for a stdout line starting with prefix and returns the rest.
func (p *proc) expect(prefix string) (string, error) {
	timeout := time.After(startTimeout)
	for {
		select {
		case l := <-p.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-p.done:
			return "", fmt.Errorf("%s exited before printing %q", p.name, prefix)
		case <-timeout:
			return "", fmt.Errorf("%s printed no %q within %v", p.name, prefix, startTimeout)
		}
	}
}

// stop sends SIGTERM, then SIGKILL after stopTimeout, and waits for the exit.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitMesh waits until a message published on any broadcast node reaches a
// client of every node: each round, a client per node publishes a token,
// and every client reads until it has the round's token of every node.
func waitMesh(ctx context.Context, urls []string) error {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, u := range urls {
		dctx, cancel := context.WithTimeout(ctx, startTimeout)
		c, _, _, err := ws.Dial(dctx, u)
		cancel()
		if err != nil {
			return fmt.Errorf("mesh probe: %w", err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(meshTimeout)
	for round := 0; time.Now().Before(deadline) && ctx.Err() == nil; round++ {
		prefix := fmt.Sprintf("mesh %d ", round)
		for i, c := range conns {
			if err := wsutil.WriteClientText(c, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
				return fmt.Errorf("mesh probe: %w", err)
			}
		}
		complete := true
		for _, c := range conns {
			got := map[string]bool{}
			c.SetReadDeadline(time.Now().Add(time.Second))
			for len(got) < len(conns) {
				p, err := wsutil.ReadServerText(c)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // try another round
				}
				if err != nil {
					return fmt.Errorf("mesh probe: %w", err)
				}
				if s := string(p); strings.HasPrefix(s, prefix) {
					got[s] = true
				}
			}
			complete = complete && len(got) == len(conns)
		}
		if complete {
			return nil
		}
	}
	return fmt.Errorf("the nodes did not reach each other within %v", meshTimeout)
}

// runClient runs the bench client pinned to cpu and returns its stdout
// (the JSON report); its stderr goes to logPath. An exit status of 1 only
// says the run was not ok, which the report tells.
func runClient(ctx context.Context, cpu string, argv []string, logPath string) ([]byte, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", logPath, err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench client: %w (log %s)", err, logPath)
	}
	return out, nil
}
