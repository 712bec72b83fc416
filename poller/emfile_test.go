package poller

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutOfDescriptors: when the process has no descriptor left for an
// accept, the epoll backend refuses the waiting connection (closes it at
// once and counts it) rather than leaving it queued, where the listener
// would wake the loops without end; once descriptors are free again,
// clients are served. The clients are other processes, since the test's
// own would need descriptors too.
func TestOutOfDescriptors(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for its /dev/tcp clients")
	}
	s := startServer(t, Options{Backend: BackendEpoll})
	port := s.Addr().(*net.TCPAddr).Port

	// Each client waits, connects, sends nothing and reads until the
	// server closes: cat ends at EOF, or timeout ends it after 5 s.
	const clients = 3
	script := fmt.Sprintf("sleep 0.5; exec 3<>/dev/tcp/127.0.0.1/%d || exit 9; timeout 5 cat <&3 >/dev/null; echo $?", port)
	cmds := make([]*exec.Cmd, clients)
	outs := make([]*strings.Builder, clients)
	for i := range cmds {
		outs[i] = new(strings.Builder)
		cmds[i] = exec.Command("bash", "-c", script)
		cmds[i].Stdout = outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}

	// Take every descriptor the process may still open: lower the limit
	// to just above the highest one open, then fill the gaps below it.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	highest := 0
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("needs /proc/self/fd")
	}
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > highest {
			highest = n
		}
	}
	tight := old
	tight.Cur = uint64(highest + 1)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &tight); err != nil {
		t.Skipf("cannot lower the open files limit: %v", err)
	}
	var fillers []int
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fillers = append(fillers, fd)
	}
	rejectedBefore := s.Stats().Rejected
	var waitErr error
	for _, c := range cmds {
		if err := c.Wait(); err != nil && waitErr == nil {
			waitErr = err
		}
	}
	for _, fd := range fillers {
		syscall.Close(fd)
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)

	if waitErr != nil {
		t.Fatalf("client: %v", waitErr)
	}
	for i, out := range outs {
		// cat's status: 0 when the server closed, 124 when timeout
		// had to end it.
		if got := strings.TrimSpace(out.String()); got != "0" {
			t.Errorf("client %d: cat ended with %q, want 0: the server did not refuse the connection", i, got)
		}
	}
	if n := s.Stats().Rejected - rejectedBefore; n < clients {
		t.Errorf("Stats().Rejected grew by %d, want %d", n, clients)
	}
	if s.Stats().Accepted != 0 {
		t.Errorf("Stats().Accepted = %d, want 0", s.Stats().Accepted)
	}
	// With descriptors free again the server serves.
	deadline := time.Now().Add(ioTimeout)
	for s.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	checkEcho(t, s)
}
