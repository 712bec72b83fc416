package testutil

import (
	"net"
	"sync"
	"testing"
)

// FreezeProxy forwards TCP connections to a target and can freeze them:
// bytes stop flowing both ways while every connection stays open, as with a
// peer whose machine hangs or whose network drops packets.
type FreezeProxy struct {
	lis    net.Listener
	target string

	mu       sync.Mutex
	thawed   chan struct{} // closed while not frozen
	conns    []net.Conn
	accepted int
	closed   bool
}

// StartProxy listens on ip (port chosen by the system) and forwards to
// target; the test's cleanup closes it.
func StartProxy(t testing.TB, ip, target string) *FreezeProxy {
	t.Helper()
	lis, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FreezeProxy{lis: lis, target: target, thawed: make(chan struct{})}
	close(p.thawed)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's listening address.
func (p *FreezeProxy) Addr() string { return p.lis.Addr().String() }

// Accepted is how many connections the proxy has forwarded so far.
func (p *FreezeProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *FreezeProxy) accept() {
	for {
		in, err := p.lis.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.accepted++
		p.mu.Unlock()
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

// pipe copies src to dst, holding each chunk while the proxy is frozen.
func (p *FreezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			dst.Close()
			return
		}
		p.mu.Lock()
		thawed := p.thawed
		p.mu.Unlock()
		<-thawed
		if _, err := dst.Write(buf[:n]); err != nil {
			src.Close()
			return
		}
	}
}

// Freeze stops bytes in both directions; connections stay open.
func (p *FreezeProxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default: // already frozen
	}
}

// Thaw lets bytes flow again.
func (p *FreezeProxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

// Close stops listening and closes every connection.
func (p *FreezeProxy) Close() {
	p.lis.Close()
	p.Thaw()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
}

// Reset closes every connection open so far, both sides, as a network
// failure would; new connections are still accepted.
func (p *FreezeProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
