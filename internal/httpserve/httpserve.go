// Package httpserve runs an http.Server in the background on a listener
// of its own, for a node's side listeners: the operator's and the HTTP
// Api's.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// Server is an http.Server serving one listener until Close.
type Server struct {
	name string
	http *http.Server
	ln   net.Listener
	done chan struct{}
}

// Start serves srv on ln in the background. name prefixes the errors and
// log lines; srv's own errors (a bad request, a failed accept) are logged
// at warn level on log.
func Start(name string, ln net.Listener, srv *http.Server, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	s := &Server{name: name, http: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+": serve stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return s
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
		return fmt.Errorf("%s: close: %w", s.name, err)
	}
	return nil
}
