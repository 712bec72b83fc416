package main

import (
	"net"
	"net/http"
	"os"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// startNbio serves with an nbhttp.Engine in IOModNonBlocking: all
// connections are driven by nbio's epoll pollers and OnMessage runs on the
// engine's executor, the mode nbio recommends for many connections.
func startNbio(addr, app string) (net.Addr, func() error, error) {
	logging.Output = os.Stderr // keep stdout for the "listening on" line

	u := websocket.NewUpgrader()
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.MessageLengthLimit = maxMessage // default is 4 MiB
	u.KeepaliveTime = 0               // no idle read deadline, like the other peers
	// Compression is off unless u.EnableCompression(true) is called.

	switch app {
	case "echo":
		u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
			_ = c.WriteMessage(mt, data)
		})
	case "broadcast":
		h := newHub[*websocket.Conn]()
		u.OnOpen(h.add)
		u.OnClose(func(c *websocket.Conn, _ error) { h.remove(c) })
		u.OnMessage(func(_ *websocket.Conn, mt websocket.MessageType, data []byte) {
			// WriteMessage never blocks on the socket: nbio queues what the
			// kernel does not take and flushes it from the poller.
			h.each(func(c *websocket.Conn) { _ = c.WriteMessage(mt, data) })
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		_, _ = u.Upgrade(w, r, nil) // on error the response is already written
	})

	var bound net.Addr
	e := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{addr},
		Handler:                 mux,
		IOMod:                   nbhttp.IOModNonBlocking,
		ReleaseWebsocketPayload: true,           // payload buffers go back to the pool after OnMessage
		ReadLimit:               4 * maxMessage, // buffered-input cap (the default); must exceed maxMessage
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				bound = ln.Addr()
			}
			return ln, err
		},
	})
	u.Engine = e
	if err := e.Start(); err != nil {
		return nil, nil, err
	}
	return bound, func() error { e.Stop(); return nil }, nil
}
