package poller

import (
	"fmt"
	"net"
)

// Backend names the readiness source beneath the WebSocket engine. The
// engine (handshake, decoder, outbound queue and its budget, flushers,
// timing wheel) is the same over either; the backend accepts connections,
// tells the engine when one is readable, reads its bytes, waits for a full
// socket to drain and closes the descriptor.
type Backend string

const (
	// BackendEpoll is an event loop of the package's own on Linux epoll:
	// a few loops with a bounded event batch and one read buffer each; an
	// idle connection holds no buffer at all. Default.
	BackendEpoll Backend = "epoll"
	// BackendNetpoll runs on github.com/cloudwego/netpoll, whose
	// connections keep about 3.4 KB of buffers and state each.
	BackendNetpoll Backend = "netpoll"
)

// backends are the backends a Server can run on.
var backends = [...]Backend{BackendEpoll, BackendNetpoll}

// ParseBackend returns the backend named s ("epoll" or "netpoll").
func ParseBackend(s string) (Backend, error) {
	for _, b := range backends {
		if string(b) == s {
			return b, nil
		}
	}
	return "", fmt.Errorf("poller: unknown backend %q: want epoll or netpoll", s)
}

// transport is one backend serving one Server. The engine calls it from
// any goroutine.
type transport interface {
	// listen binds Options.Addr; serve then accepts in the background.
	listen() error
	serve()
	addr() net.Addr
	// stopAccepting closes the listener; stop ends the loops once every
	// connection is gone.
	stopAccepting()
	stop()

	// closeConn closes c's TCP connection, dropping what is queued. It may
	// be called more than once and from any goroutine, a handler on the
	// read path included; the transport ends with c.markClosed and then
	// c.onDisconnect once the read path has let go of c.
	closeConn(c *Conn)
	// waitWritable is called by the writer of c (c.writing is set) when the
	// socket took less than it was given: the transport calls c.flush again
	// once the socket is writable, or closes c after WriteTimeout.
	waitWritable(c *Conn)
	remoteAddr(c *Conn) net.Addr
	localAddr(c *Conn) net.Addr
}

func newTransport(s *Server) (transport, error) {
	switch s.opts.Backend {
	case BackendEpoll:
		return newEpollTransport(s)
	case BackendNetpoll:
		return newNetpollTransport(s), nil
	}
	return nil, fmt.Errorf("poller: unknown backend %q: want epoll or netpoll", s.opts.Backend)
}
