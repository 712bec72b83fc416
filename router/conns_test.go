package router

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsproto"
)

// The router's tests run on real poller connections: the router itself
// names no connection package, and this is where that seam is checked.
var _ Conn = (*poller.Conn)(nil)

// liveNode is a real poller server whose connections are added to a router
// as they open, with the client ends dialled over loopback and drained.
type liveNode struct {
	r       *Router
	srv     *poller.Server
	opened  chan *Client
	gen     *IDGenerator
	clients []net.Conn
	read    atomic.Int64 // bytes the client ends have read
	readers sync.WaitGroup
}

type liveHandler struct{ n *liveNode }

func (h liveHandler) OnHandshake(*poller.Conn, *wsproto.Request) error { return nil }
func (h liveHandler) OnOpen(c *poller.Conn) {
	cl, err := h.n.r.Add(h.n.gen.Next(), c, "", nil)
	if err != nil {
		panic(err)
	}
	c.SetValue(cl)
	h.n.opened <- cl
}
func (h liveHandler) OnMessage(*poller.Conn, wsproto.OpCode, []byte) {}
func (h liveHandler) OnClose(c *poller.Conn, _ wsproto.StatusCode, _ string) {
	if cl, ok := c.Value().(*Client); ok {
		h.n.r.Closing(cl)
		h.n.r.Remove(cl)
	}
}

// startLiveNode opens n real connections and returns their router entries.
func startLiveNode(tb testing.TB, n int) (*liveNode, []*Client) {
	tb.Helper()
	ln := &liveNode{r: New(Options{}), opened: make(chan *Client, n), gen: NewIDGenerator(1)}
	srv, err := poller.NewServer(poller.Options{
		Addr: "127.0.0.1:0", Handler: liveHandler{ln}, Logger: discardLogger(),
		OutboundBudget: 64 << 20,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	ln.srv = srv
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, c := range ln.clients {
			c.Close()
		}
		ln.readers.Wait()
		srv.Shutdown(ctx)
	})
	url := "ws://" + srv.Addr().String() + "/ws"
	out := make([]*Client, 0, n)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, br, _, err := ws.Dial(ctx, url)
		cancel()
		if err != nil {
			tb.Fatalf("dial %d: %v", i, err)
		}
		if br != nil {
			ws.PutReader(br)
		}
		ln.clients = append(ln.clients, conn)
		ln.readers.Add(1)
		go func() {
			defer ln.readers.Done()
			buf := make([]byte, 32<<10)
			for {
				k, err := conn.Read(buf)
				ln.read.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
		select {
		case cl := <-ln.opened:
			out = append(out, cl)
		case <-time.After(10 * time.Second):
			tb.Fatalf("connection %d never opened", i)
		}
	}
	return ln, out
}
