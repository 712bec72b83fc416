package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long a server has after SIGTERM before SIGKILL.
const stopTimeout = 15 * time.Second

// startTimeout bounds the wait for a server's "listening on" line.
const startTimeout = 20 * time.Second

// server is one running server process, pinned to a core.
type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // its exit status, set before done closes
}

// startServer runs argv pinned to cpu with taskset (which execs, so the
// process's pid is the server's) and waits for its "listening on ADDR"
// line. Logs go to logPath.
func startServer(name, cpu string, argv []string, logPath string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("server %s: create log: %w", name, err)
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Stderr = logFile
	// If this program dies without cleaning up, the kernel ends the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("server %s: stdout: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("server %s: start: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, done: make(chan struct{})}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				select {
				case addrs <- strings.TrimSpace(a):
				default:
				}
			}
		}
		_, _ = io.Copy(logFile, stdout)
		s.err = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	select {
	case s.addr = <-addrs:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("server %s exited before listening (%v); log: %s", name, s.err, tail(logPath))
	case <-time.After(startTimeout):
		s.stop()
		return nil, fmt.Errorf("server %s: no %q line within %v", name, "listening on", startTimeout)
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, and SIGKILL if the server is still there after
// stopTimeout; it returns once the process has been reaped.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// runClient runs the bench client pinned to cpu, with its stdout (the JSON
// report) into outPath and its stderr into logPath. The context bounds it:
// on expiry the client gets SIGINT, which ends its run early, then SIGKILL.
// A client exit status of 1 only says the run was not ok; the report says
// why, so it is not an error here.
func runClient(ctx context.Context, cpu string, argv []string, outPath, logPath string) error {
	out, err := os.Create(outPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", outPath, err)
	}
	defer out.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Stdout, cmd.Stderr = out, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bench client: %w; log: %s", err, tail(logPath))
	}
	return nil
}

// tail returns the last lines of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-3):], " | ")
}
