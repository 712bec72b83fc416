package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/connlimit"
)

// Server is the HTTP Api's own listener.
type Server struct {
	http *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen binds addr and serves NewHandler(a, o) on it in the background
// until Close. Header reads are bounded in size and time, idle keep-alive
// connections are closed after a minute, and at most o.MaxConns are open
// at once.
func Listen(addr string, a api.Api, o Options, log *slog.Logger) (*Server, error) {
	h, err := NewHandler(a, o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listen on %s: %w", addr, err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		ln:   connlimit.New(h.o.MaxConns).Listener(ln, 0),
		done: make(chan struct{}),
		http: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second, // a body trickled in slowly
			IdleTimeout:       time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("httpapi: serve stopped", "addr", addr, "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, lets the requests in flight finish within ctx,
// then drops the rest and waits for the serving goroutine.
func (s *Server) Close(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = s.http.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("httpapi: close: %w", err)
	}
	return nil
}
