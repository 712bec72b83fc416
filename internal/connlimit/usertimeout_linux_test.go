package connlimit

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestListenerSetsUserTimeout: the wrapped connections keep the
// TCP_USER_TIMEOUT gRPC's server would have set on them unwrapped.
func TestListenerSetsUserTimeout(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := New(1).Listener(inner, 1500*time.Millisecond)
	defer lis.Close()
	client, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := lis.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*conn).Conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	raw.Control(func(fd uintptr) {
		got, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
	})
	if err != nil || got != 1500 {
		t.Fatalf("TCP_USER_TIMEOUT = %d ms (%v), want 1500", got, err)
	}
}
