package main

import (
	"io"
	"log/slog"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/metrics"
)

// serveMetrics starts the operator listener (/metrics, /healthz,
// /debug/pprof/) on addr, or nothing when addr is empty. The returned stop
// closes it; call it once the node has drained, so a last scrape still
// sees the end of the drain.
func serveMetrics(addr string, gw *api.Gateway, log *slog.Logger, stdout io.Writer) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	srv, err := metrics.Listen(addr, gw, log)
	if err != nil {
		return nil, err
	}
	log.Info("metrics", "addr", srv.Addr().String())
	io.WriteString(stdout, "metrics on http://"+srv.Addr().String()+"/metrics\n")
	return func() {
		if err := srv.Close(); err != nil {
			log.Warn("metrics listener", "err", err)
		}
	}, nil
}
