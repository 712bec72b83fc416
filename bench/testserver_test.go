package bench

import (
	"bufio"

	"net"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// testServer is a small WebSocket server on a plain net.Listener, one
// goroutine per connection, built on wsproto only. broadcast sends every
// message to every connection; otherwise it echoes. dropEvery, when above 0,
// makes a broadcast skip one receiver every dropEvery messages, so that a
// test can check that missing deliveries are found.
type testServer struct {
	ln        net.Listener
	broadcast bool
	dropEvery int
	answer    []byte // if set, every message is answered with this text instead

	mu    sync.Mutex
	conns map[*serverConn]struct{}
	n     int
	wg    sync.WaitGroup
}

type serverConn struct {
	c  net.Conn
	mu sync.Mutex // serialises writes
}

func (s *serverConn) write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.c.Write(p)
}

func startTestServer(t *testing.T, broadcast bool, dropEvery int) *testServer {
	return serveTest(t, &testServer{broadcast: broadcast, dropEvery: dropEvery})
}

// startAnsweringServer answers every message with the same text, as an
// application that is not an echo (the chat's error replies) does.
func startAnsweringServer(t *testing.T, answer string) *testServer {
	return serveTest(t, &testServer{answer: []byte(answer)})
}

func serveTest(t *testing.T, s *testServer) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.conns = ln, map[*serverConn]struct{}{}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) URL() string { return "ws://" + s.ln.Addr().String() + "/ws" }

func (s *testServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.serve(c) })
	}
}

type serverHandler struct {
	s  *testServer
	sc *serverConn
}

func (h serverHandler) HandleMessage(op wsproto.OpCode, p []byte) error {
	if h.s.answer != nil {
		h.sc.write(wsproto.AppendFrame(nil, wsproto.OpText, true, h.s.answer))
		return nil
	}
	frame := wsproto.AppendFrame(nil, op, true, p)
	if !h.s.broadcast {
		h.sc.write(frame)
		return nil
	}
	h.s.mu.Lock()
	h.s.n++
	n := h.s.n
	targets := make([]*serverConn, 0, len(h.s.conns))
	for c := range h.s.conns {
		targets = append(targets, c)
	}
	h.s.mu.Unlock()
	for i, c := range targets {
		if h.s.dropEvery > 0 && n%h.s.dropEvery == 0 && i == 0 && c != h.sc {
			continue
		}
		c.write(frame)
	}
	return nil
}

func (h serverHandler) HandleControl(op wsproto.OpCode, p []byte) error {
	if op == wsproto.OpClose {
		h.sc.write(wsproto.AppendFrame(nil, wsproto.OpClose, true, p[:min(len(p), 2)]))
	}
	return nil
}

func (s *testServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var head []byte
	for wsproto.HeadEnd(head) < 0 {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		head = append(head, line...)
	}
	req, herr := wsproto.ParseRequest(head)
	if herr != nil {
		_, _ = c.Write(wsproto.AppendRefusal(nil, herr))
		return
	}
	sc := &serverConn{c: c}
	sc.write(wsproto.AppendAccept(nil, req.Key, "", nil))
	s.mu.Lock()
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	var dec wsproto.Decoder
	defer dec.Release()
	buf := make([]byte, 4096)
	h := serverHandler{s: s, sc: sc}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, ferr := dec.Feed(buf[:n], h); ferr != nil || dec.Closed() {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// openConns returns how many connections the server holds.
func (s *testServer) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
