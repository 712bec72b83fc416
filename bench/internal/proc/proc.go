// Package proc runs the server and client processes of the bench commands
// (compare, cluster, scale): started with their output in a log file,
// optionally pinned to cores, waited for by a line they print, and always
// stopped by pid, never by name. A process started here dies with the
// program that started it (Pdeathsig), so a crashed bench leaves nothing
// behind.
package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds on the processes run here.
const (
	// StartTimeout bounds the wait for a line a process prints on start.
	StartTimeout = 20 * time.Second
	// StopTimeout is how long a process has after SIGTERM before SIGKILL.
	StopTimeout = 15 * time.Second
	// clientWaitDelay is how long a client has after SIGINT before SIGKILL.
	clientWaitDelay = 20 * time.Second
)

// Spec describes a process to start.
type Spec struct {
	Name string   // for errors
	Argv []string // the command and its arguments
	CPU  string   // taskset core list, e.g. "0" or "0,1"; "" runs it unpinned
	Log  string   // stderr, and stdout unless Out is set, go here
	Out  string   // if set, stdout goes to this file alone (Expect sees none of it)
	Env  []string // added to this process's environment
}

// Proc is a running process.
type Proc struct {
	Name string
	Log  string
	cmd  *exec.Cmd

	mu      sync.Mutex
	lines   []string      // stdout lines seen so far, for Expect
	changed chan struct{} // closed and replaced when lines grows
	done    chan struct{} // closed once the process is reaped
	err     error         // its exit status, set before done closes
}

// Start runs s. Its stdout is copied to the log line by line, and kept
// for Expect.
func Start(s Spec) (*Proc, error) {
	logFile, err := os.Create(s.Log)
	if err != nil {
		return nil, fmt.Errorf("%s: create log: %w", s.Name, err)
	}
	argv := s.Argv
	if s.CPU != "" {
		// taskset execs the command, so the pid is the command's.
		argv = append([]string{"taskset", "-c", s.CPU}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logFile
	var stdout io.Reader = eofReader{}
	if s.Out != "" {
		out, err := os.Create(s.Out)
		if err != nil {
			logFile.Close()
			return nil, fmt.Errorf("%s: create %s: %w", s.Name, s.Out, err)
		}
		defer out.Close() // the child has its own copy once started
		cmd.Stdout = out
	}
	if len(s.Env) > 0 {
		cmd.Env = append(os.Environ(), s.Env...)
	}
	// If this program dies without cleaning up, the kernel ends the process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if s.Out == "" {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			logFile.Close()
			return nil, fmt.Errorf("%s: stdout: %w", s.Name, err)
		}
		stdout = pipe
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start: %w", s.Name, err)
	}
	p := &Proc{Name: s.Name, Log: s.Log, cmd: cmd, changed: make(chan struct{}), done: make(chan struct{})}
	go p.readStdout(stdout, logFile)
	return p, nil
}

// eofReader is the stdout of a process whose stdout goes to a file.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// maxKeptLines bounds what Expect can look back at; later lines only go
// to the log.
const maxKeptLines = 64

func (p *Proc) readStdout(stdout io.Reader, logFile *os.File) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		fmt.Fprintln(logFile, sc.Text())
		p.mu.Lock()
		if len(p.lines) < maxKeptLines {
			p.lines = append(p.lines, sc.Text())
			close(p.changed)
			p.changed = make(chan struct{})
		}
		p.mu.Unlock()
	}
	_, _ = io.Copy(logFile, stdout)
	err := p.cmd.Wait()
	logFile.Close()
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(p.done)
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the exit status, once Done is closed.
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Expect waits up to StartTimeout for a stdout line that starts with
// prefix (printed at any time since the start) and returns the rest of it,
// trimmed.
func (p *Proc) Expect(prefix string) (string, error) {
	timeout := time.NewTimer(StartTimeout)
	defer timeout.Stop()
	for seen := 0; ; {
		p.mu.Lock()
		lines, changed := p.lines, p.changed
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if rest, ok := strings.CutPrefix(lines[seen], prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		}
		select {
		case <-changed:
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before printing %q; log: %s", p.Name, p.Err(), prefix, Tail(p.Log))
		case <-timeout.C:
			return "", fmt.Errorf("%s printed no %q within %v; log: %s", p.Name, prefix, StartTimeout, Tail(p.Log))
		}
	}
}

// Signal sends sig to the process, if it is still running.
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("%s has exited", p.Name)
	default:
	}
	return p.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM, and SIGKILL if the process is still there after
// StopTimeout; it returns once the process has been reaped.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(StopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// RunClient runs argv (a bench client) pinned to cpu ("" for none) and
// returns its stdout, the report; its stderr goes to logPath. The context
// bounds it: on expiry the client gets SIGINT, which ends its run early,
// then SIGKILL. An exit status of 1 only says the run was not ok, which the
// report tells, so it is not an error here.
func RunClient(ctx context.Context, cpu string, argv []string, logPath string) ([]byte, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", logPath, err)
	}
	defer logFile.Close()
	if cpu != "" {
		argv = append([]string{"taskset", "-c", cpu}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = clientWaitDelay
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench client: %w; log: %s", err, Tail(logPath))
	}
	return out, nil
}

// Tail returns the last lines of a log file, for an error message.
func Tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-3):], " | ")
}
