package main

import (
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// gorillaConn is a broadcast client: gorilla allows one concurrent writer,
// so all data writes go through the writer goroutine fed by send.
type gorillaConn struct {
	ws   *websocket.Conn
	send chan *websocket.PreparedMessage
	done chan struct{} // closed when the reader exits
}

const gorillaSendQueue = 256

// startGorilla serves with net/http and a goroutine per connection reading.
// Echo streams each message back with NextReader/NextWriter (the reader
// goroutine is the only writer). Broadcast encodes once with a
// PreparedMessage and hands it to each connection's writer goroutine.
func startGorilla(addr, app string) (net.Addr, func() error, error) {
	u := &websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		// Share write buffers between connections between writes, as the
		// docs suggest for many connections with a modest write volume.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
		// EnableCompression is false.
	}
	var serve func(*websocket.Conn)
	switch app {
	case "echo":
		serve = gorillaEcho
	case "broadcast":
		h := newHub[*gorillaConn]()
		serve = func(ws *websocket.Conn) { gorillaBroadcast(h, ws) }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(maxMessage)
		serve(ws)
	})
	return serveHTTP(addr, mux)
}

func gorillaEcho(ws *websocket.Conn) {
	defer ws.Close()
	for {
		mt, r, err := ws.NextReader()
		if err != nil {
			return
		}
		w, err := ws.NextWriter(mt)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			return
		}
		if err := w.Close(); err != nil {
			return
		}
	}
}

func gorillaBroadcast(h *hub[*gorillaConn], ws *websocket.Conn) {
	c := &gorillaConn{
		ws:   ws,
		send: make(chan *websocket.PreparedMessage, gorillaSendQueue),
		done: make(chan struct{}),
	}
	go c.writeLoop()
	h.add(c)
	defer func() {
		h.remove(c)
		close(c.done)
		ws.Close()
	}()
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(mt, data)
		if err != nil {
			return
		}
		h.each(func(o *gorillaConn) {
			// Block (backpressure) rather than drop when o's queue is full.
			select {
			case o.send <- pm:
			case <-o.done:
			}
		})
	}
}

// writeLoop writes queued messages until the reader exits. After a write
// error it closes the conn (which ends the reader) and keeps draining send so
// that broadcasters never block on a dead connection.
func (c *gorillaConn) writeLoop() {
	var err error
	for {
		select {
		case pm := <-c.send:
			if err == nil {
				if err = c.ws.WritePreparedMessage(pm); err != nil {
					c.ws.Close()
				}
			}
		case <-c.done:
			return
		}
	}
}
