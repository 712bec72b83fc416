package bench

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// BenchmarkLoopbackDelivery is the kernel's share of one delivery on this
// machine, with no gateway in the way: a small message written on one end of
// a loopback TCP connection and read on the other, by one thread, so that no
// wake-up, epoll or scheduling is counted. It is the floor under any
// server's "last delivery of a SendToAll" here: a million deliveries cost at
// least a million of these. With many connections, each op uses the next
// one in turn, as a fan-out does, and their kernel state is no longer in
// the cache.
//
//	go test -run '^$' -bench LoopbackDelivery ./bench/
func BenchmarkLoopbackDelivery(b *testing.B) {
	for _, n := range []int{1, 5000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			pairs := loopbackPairs(b, n)
			msg := []byte{0x82, 8, 1, 2, 3, 4, 5, 6, 7, 8} // a 10-byte binary frame
			buf := make([]byte, 64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := pairs[i%n]
				if _, err := syscall.Write(p[0], msg); err != nil {
					b.Fatal(err)
				}
				if _, err := syscall.Read(p[1], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loopbackPairs opens n TCP connections over 127.0.0.1 and returns the raw
// descriptors of each (writer, reader), closed when b ends.
func loopbackPairs(b *testing.B, n int) [][2]int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	pairs := make([][2]int, 0, n)
	for range n {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		// Dup the descriptors out of the runtime's poller, in blocking mode,
		// so that the loop is plain write(2) and read(2).
		pairs = append(pairs, [2]int{rawFD(b, s), rawFD(b, c)})
		c.Close()
		s.Close()
	}
	b.Cleanup(func() {
		for _, p := range pairs {
			syscall.Close(p[0])
			syscall.Close(p[1])
		}
	})
	return pairs
}

func rawFD(b *testing.B, c net.Conn) int {
	f, err := c.(*net.TCPConn).File() // a blocking duplicate
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		b.Fatal(err)
	}
	return fd
}
