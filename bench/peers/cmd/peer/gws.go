package main

import (
	"net"
	"net/http"

	"github.com/lxzan/gws"
)

// gwsHandler implements gws.Event; the embedded BuiltinEventHandler answers
// pings.
type gwsHandler struct {
	gws.BuiltinEventHandler
	hub *hub[*gws.Conn] // nil for echo
}

func (h *gwsHandler) OnOpen(c *gws.Conn) {
	if h.hub != nil {
		h.hub.add(c)
	}
}

func (h *gwsHandler) OnClose(c *gws.Conn, _ error) {
	if h.hub != nil {
		h.hub.remove(c)
	}
}

func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if h.hub == nil {
		_ = c.WriteMessage(m.Opcode, m.Bytes())
		return
	}
	// The Broadcaster encodes the frame once and queues it on every
	// connection's write queue. It reads the payload only for compression
	// (off here), so m may be released before the queued writes run.
	b := gws.NewBroadcaster(m.Opcode, m.Bytes())
	h.hub.each(func(c *gws.Conn) { _ = b.Broadcast(c) })
	_ = b.Close()
}

// startGws follows gws's README "Best Practice": a gws.Upgrader on a net/http
// server, ParallelEnabled, one ReadLoop goroutine per connection. (gws.Server's
// own accept loop never returns after its listener is closed, so net/http is
// used for a clean shutdown.) With ParallelEnabled, messages of one connection
// are handled concurrently, so echoes may come back out of order.
func startGws(addr, app string) (net.Addr, func() error, error) {
	h := &gwsHandler{}
	if app == "broadcast" {
		h.hub = newHub[*gws.Conn]()
	}
	u := gws.NewUpgrader(h, &gws.ServerOption{
		ParallelEnabled:    true,
		Recovery:           gws.Recovery,
		ReadMaxPayloadSize: maxMessage,
		// PermessageDeflate is disabled by default; gws has no origin check.
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	return serveHTTP(addr, mux)
}

// serveHTTP serves handler with net/http on a new listener at addr.
func serveHTTP(addr string, handler http.Handler) (net.Addr, func() error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr(), srv.Close, nil
}
