package main

import (
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/metrics"
)

// serveMetrics starts the operator listener (/metrics, /healthz,
// /debug/pprof/) on addr, or nothing when addr is empty. The returned stop
// closes it; call it once the node has drained, so a last scrape still
// sees the end of the drain.
func serveMetrics(addr string, gw *api.Gateway, out *output) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	srv, err := metrics.Listen(addr, gw, out.log)
	if err != nil {
		return nil, err
	}
	url := "http://" + srv.Addr().String() + "/metrics"
	out.announce("metrics on "+url, "url", url)
	return func() {
		if err := srv.Close(); err != nil {
			out.log.Warn("metrics listener", "err", err)
		}
	}, nil
}
