package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/connlimit"
	"github.com/wsgate/wsgate/internal/httpserve"
)

// Server is the HTTP Api's own listener.
type Server struct{ *httpserve.Server }

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
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // a body trickled in slowly
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	return &Server{httpserve.Start("httpapi", connlimit.New(h.o.MaxConns).Listener(ln, 0), srv, log)}, nil
}
