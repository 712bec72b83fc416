package poller

import (
	"errors"
	"net/http"
	"slices"

	"github.com/valyala/bytebufferpool"
	"github.com/wsgate/wsgate/internal/safecall"
	"github.com/wsgate/wsgate/wsproto"
)

// readHead collects the request head, which may arrive in any number of
// pieces, and answers it once complete. Bytes after the head are frames the
// client sent without waiting for the 101.
func (c *Conn) readHead(p []byte) {
	limit := c.srv.opts.MaxHeaderBytes
	buf, from := p, 0
	if c.head != nil {
		from = max(len(c.head.B)-3, 0) // the end marker may straddle reads
		c.head.B = append(c.head.B, p...)
		buf = c.head.B
	}
	end := wsproto.HeadEnd(buf[from:])
	if end < 0 {
		if len(buf) > limit {
			c.refuse(wsproto.ErrHeadTooLarge)
			return
		}
		if c.head == nil {
			c.head = bytebufferpool.Get()
			c.head.B = append(c.head.B[:0], p...)
		}
		return
	}
	end += from
	if end > limit {
		c.refuse(wsproto.ErrHeadTooLarge)
		return
	}
	if c.handshake(buf[:end]) && end < len(buf) {
		c.readFrames(buf[end:])
	}
	if c.head != nil {
		bytebufferpool.Put(c.head)
		c.head = nil
	}
}

// handshake answers a complete request head and reports whether the
// connection is now open.
func (c *Conn) handshake(head []byte) bool {
	s := c.srv
	o := &s.opts
	req := s.requests.Get().(*wsproto.Request)
	defer func() {
		req.Reset()
		s.requests.Put(req)
	}()
	if herr := req.Parse(head); herr != nil {
		c.refuse(herr)
		return false
	}
	if o.Path == "*" && !req.IsUpgrade() || o.Path != "*" && req.Path != o.Path {
		c.serveHTTP(req)
		return false
	}
	if herr := req.CheckUpgrade(); herr != nil {
		c.refuse(herr)
		return false
	}
	if !wsproto.OriginAllowed(req.Header.Get("Origin"), req.Host, o.AllowedOrigins) {
		c.refuse(wsproto.ErrOriginRefused)
		return false
	}
	if p := wsproto.SelectProtocol(o.Subprotocols, req.Protocols); p != "" {
		c.proto = uint8(slices.Index(o.Subprotocols, p) + 1)
	}
	extensions := ""
	if o.Compression {
		if offer, ok := wsproto.NegotiateDeflate(req.Header["Sec-Websocket-Extensions"]); ok {
			c.deflate = offer.WindowBits()
			extensions = wsproto.DeflateResponse(offer)
		}
	}
	if err := c.callOnHandshake(req); err != nil {
		var herr *wsproto.HTTPError
		if !errors.As(err, &herr) {
			herr = &wsproto.HTTPError{Status: http.StatusForbidden, Reason: "handshake refused"}
		}
		c.refuse(herr)
		return false
	}

	// The open connection's timers replace the handshake deadline before
	// it opens: a close that comes once it is open (Shutdown) sets its own
	// deadline, which must not be overwritten by these.
	now := s.wheel.now.Load()
	c.lastRead.Store(now)
	c.nextPing = now + int64(o.PingInterval)
	c.scheduleOpenTimer(now)
	if o.PingInterval <= 0 && o.IdleTimeout <= 0 {
		s.wheel.cancel(c) // drop the handshake deadline
	}
	resp := wsproto.NewSharedBytes(func(b []byte) []byte {
		return wsproto.AppendAcceptExtensions(b, req.Key, c.Subprotocol(), extensions, nil)
	})
	accepted := c.accept(resp)
	resp.Release()
	if !accepted {
		return false
	}
	s.stats.opened.Add(1)
	if c.deflate != 0 {
		s.stats.compressedConns.Add(1)
	}
	if p := safecall.Run(func() { o.Handler.OnOpen(c) }); p != nil {
		c.handlerPanicked(p, "OnOpen")
	}
	return true
}

// callOnHandshake runs the handler's hook; a panic refuses with 500.
func (c *Conn) callOnHandshake(req *wsproto.Request) (err error) {
	if p := safecall.Run(func() { err = c.srv.opts.Handler.OnHandshake(c, req) }); p != nil {
		p.Log(c.srv.opts.Logger, "OnHandshake", "conn", c.id)
		return &wsproto.HTTPError{Status: http.StatusInternalServerError, Reason: "internal error"}
	}
	return err
}

// refuse answers the handshake with an HTTP error and closes.
func (c *Conn) refuse(e *wsproto.HTTPError) {
	c.srv.stats.handshakesRefused.Add(1)
	c.respondAndClose(wsproto.NewSharedBytes(func(b []byte) []byte { return wsproto.AppendRefusal(b, e) }))
}

// serveHTTP answers a request that is not for the WebSocket endpoint.
func (c *Conn) serveHTTP(req *wsproto.Request) {
	status, header, body := http.StatusNotFound, http.Header(nil), []byte("not found\n")
	if fb := c.srv.opts.HTTPFallback; fb != nil {
		status, header, body = fb(req)
	}
	c.respondAndClose(wsproto.NewSharedBytes(func(b []byte) []byte {
		return wsproto.AppendResponse(b, status, header, body)
	}))
}

func (c *Conn) respondAndClose(f *wsproto.SharedFrame) {
	c.mu.Lock()
	if c.state == stateHandshake {
		// The rest of what the client sent (the head over the limit, a
		// body) is not WebSocket frames: it is never decoded.
		c.state = stateResponded
	}
	c.mu.Unlock()
	c.enqueue(f, true, true)
	f.Release()
}
