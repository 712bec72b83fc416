package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/httpserve"
)

// Handler serves a node's operator endpoints:
//
//	/metrics       Prometheus text: the node's gauges and counters (wsgate_*),
//	               the Go runtime's (go_goroutines, go_memstats_*, ...) and
//	               the process's (process_resident_memory_bytes, ...).
//	/healthz       200 "ok" while the node accepts clients; 503 "draining"
//	               before Start and from the moment Shutdown begins, so a
//	               load balancer stops sending new clients at once.
//	/readyz        200 "ready" while the node serves and, in a cluster, once
//	               it has its first peer list; 503 with the reason otherwise
//	               (draining, no peer list yet, a register now refuses the
//	               secret, the etcd lease is not being renewed). A register
//	               lost later leaves it ready: the node keeps delivering with
//	               its last list. Losing etcd does not stop delivery either,
//	               but the node's lease lapses and its peers drop it.
//	/cluster       a live page of every node of the cluster: connections,
//	               clients, uids, groups, messages in and out per second,
//	               outbound overflows and peer links (from /cluster.json,
//	               every node's figures as this node gathered them).
//	/debug/pprof/  the runtime profiles of net/http/pprof.
//
// Everything is registered on a mux and a Prometheus registry of its own.
// (Importing net/http/pprof also registers its handlers on
// http.DefaultServeMux; wsgate never serves that mux, so they stay
// unreachable there.)
func Handler(gw *api.Gateway) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		newCollector(gw),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register collector: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	handleCluster(mux, gw)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !gw.Serving() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "draining")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := gw.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	// pprof.Index serves the named profiles (heap, goroutine, ...) below
	// its path; the other four are handlers of their own.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// No /debug/pprof/cmdline: the command line may carry --secret.
	mux.HandleFunc("/debug/pprof/cmdline", http.NotFound)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux, nil
}

// Server is the operator listener of one node.
type Server struct{ srv *httpserve.Server }

// Listen binds addr (e.g. "127.0.0.1:9100") and serves Handler(gw) on it
// in the background until Close. The address should be internal: pprof
// shows the process's memory and command line to whoever asks.
func Listen(addr string, gw *api.Gateway, log *slog.Logger) (*Server, error) {
	h, err := Handler(gw)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return &Server{httpserve.Start("metrics", ln, srv, log)}, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.srv.Addr() }

// Close stops the listener, lets requests in flight finish for up to a
// second (a CPU profile in progress is cut short), and waits for the
// serving goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.srv.Close(ctx)
}
