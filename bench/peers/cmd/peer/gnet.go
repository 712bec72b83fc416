package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// gnetServer implements gnet.EventHandler. Every callback for a connection
// runs on that connection's event loop; with multicore there is one loop
// per CPU.
type gnetServer struct {
	gnet.BuiltinEventEngine
	upgrader ws.Upgrader
	hub      *hub[gnet.Conn] // nil for echo
	booted   chan gnet.Engine
}

// gnetConn is the per-connection state kept in the gnet.Conn context.
type gnetConn struct {
	upgraded bool
	msgs     messageReader
	hdr      bytes.Buffer // the header of an echo reply
	hr       bytes.Reader // what ws.ReadHeader reads a peeked header from
}

// startGnet serves with gnet's own event loops as its docs recommend:
// multicore, all work in OnTraffic, which parses what has arrived in the
// connection's inbound buffer and leaves an unfinished handshake or frame
// there (Peek, then Discard once whole) for the next OnTraffic. Replies to
// the sender use the synchronous Write inside OnTraffic; broadcast reaches
// connections on other loops with AsyncWrite. gobwas/ws does the handshake
// and the frame headers.
func startGnet(addr, app string) (net.Addr, func() error, error) {
	s := &gnetServer{upgrader: newUpgrader(), booted: make(chan gnet.Engine, 1)}
	if app == "broadcast" {
		s.hub = newHub[gnet.Conn]()
	}
	ran := make(chan error, 1)
	go func() {
		ran <- gnet.Run(s, "tcp://"+addr,
			gnet.WithMulticore(true),
			gnet.WithLogger(gnetLogger{log.New(os.Stderr, "gnet: ", 0)}), // its default logger writes to stdout
		)
	}()
	var eng gnet.Engine
	select {
	case eng = <-s.booted:
	case err := <-ran:
		return nil, nil, fmt.Errorf("gnet: %w", err)
	}
	bound, err := gnetListenAddr(eng)
	if err != nil {
		_ = eng.Stop(context.Background())
		<-ran
		return nil, nil, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			return fmt.Errorf("stop gnet: %w", err)
		}
		return <-ran
	}
	return bound, stop, nil
}

// gnetListenAddr returns the address gnet's listener is bound to (the port
// may have been 0), read off a duplicate of its socket.
func gnetListenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, fmt.Errorf("gnet listener: %w", err)
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("gnet listener address: %w", err)
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("gnet listener address: unexpected %T", sa)
}

func (s *gnetServer) OnBoot(eng gnet.Engine) gnet.Action {
	s.booted <- eng
	return gnet.None
}

func (s *gnetServer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&gnetConn{})
	return nil, gnet.None
}

func (s *gnetServer) OnClose(c gnet.Conn, _ error) gnet.Action {
	if s.hub != nil {
		s.hub.remove(c)
	}
	return gnet.None
}

// OnTraffic handles everything complete in the inbound buffer: the
// handshake, then one frame after another.
func (s *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*gnetConn)
	if !st.upgraded {
		done, err := s.handshake(c)
		if err != nil {
			return gnet.Close
		}
		if !done {
			return gnet.None
		}
		st.upgraded = true
		if s.hub != nil {
			s.hub.add(c)
		}
	}
	for {
		more, err := s.frame(c, st)
		if err != nil {
			return gnet.Close
		}
		if !more {
			return gnet.None
		}
	}
}

// handshake answers the opening handshake once it has fully arrived; until
// then it reports not done and leaves the bytes buffered.
func (s *gnetServer) handshake(c gnet.Conn) (done bool, err error) {
	buf, _ := c.Peek(-1) // all that is buffered
	end := handshakeEnd(buf)
	if end < 0 {
		if len(buf) >= maxHandshake {
			return false, errHandshakeTooLarge
		}
		return false, nil
	}
	err = upgrade(&s.upgrader, buf[:end], c)
	_, _ = c.Discard(end)
	return err == nil, err
}

// frame handles the next frame if it has fully arrived. It reports whether
// it did; a partial frame stays in the inbound buffer.
func (s *gnetServer) frame(c gnet.Conn, st *gnetConn) (handled bool, err error) {
	start, err := c.Peek(2)
	if err != nil {
		return false, nil
	}
	hlen := headerLen([2]byte(start))
	hb, err := c.Peek(hlen)
	if err != nil {
		return false, nil
	}
	st.hr.Reset(hb)
	h, err := ws.ReadHeader(&st.hr)
	if err != nil {
		return false, fmt.Errorf("frame header: %w", err)
	}
	if closeFrame, ok := st.msgs.check(h); !ok {
		_, _ = c.Write(closeFrame)
		return false, fmt.Errorf("bad frame (opcode %d, %d bytes)", h.OpCode, h.Length)
	}
	n := hlen + int(h.Length)
	if c.InboundBuffered() < n {
		return false, nil // the rest has not arrived; read limit checked above
	}
	whole, err := c.Peek(n)
	if err != nil {
		return false, fmt.Errorf("peek frame: %w", err)
	}
	// The peeked bytes are gnet's until Discard; unmask them in place.
	p := whole[hlen:]
	ws.Cipher(p, h.Mask, 0)
	res := st.msgs.frame(h, p)
	switch {
	case res.reply != nil:
		_, err = c.Write(res.reply)
	case res.op == 0:
	case s.hub == nil:
		_, err = c.Writev([][]byte{encodeHeader(&st.hdr, res.op, len(res.payload)), res.payload})
	default:
		s.broadcast(res.op, res.payload)
	}
	// Write copies what the socket does not take at once, and broadcast
	// encodes its own frame, so p may go now.
	_, _ = c.Discard(n)
	if err != nil {
		return false, fmt.Errorf("write: %w", err)
	}
	if res.close {
		return false, fmt.Errorf("closed by peer")
	}
	return true, nil
}

// broadcast encodes the message once and queues the frame on every open
// connection. AsyncWrite is safe from any goroutine and hands the write to
// the receiver's own event loop; the frame is only read from then on.
func (s *gnetServer) broadcast(op ws.OpCode, payload []byte) {
	frame := ws.MustCompileFrame(ws.NewFrame(op, true, payload))
	s.hub.each(func(o gnet.Conn) { _ = o.AsyncWrite(frame, nil) })
}

// gnetLogger adapts a standard logger to gnet's logging.Logger.
type gnetLogger struct{ *log.Logger }

func (l gnetLogger) Debugf(format string, args ...any) {}
func (l gnetLogger) Infof(format string, args ...any)  { l.Printf(format, args...) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.Printf(format, args...) }
func (l gnetLogger) Errorf(format string, args ...any) { l.Printf(format, args...) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.Logger.Fatalf(format, args...) }
