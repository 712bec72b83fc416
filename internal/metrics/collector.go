// Package metrics is a gateway node's internal HTTP face for operators:
// Prometheus metrics, a readiness check and the pprof profiles, served on a
// listener of their own, apart from the WebSocket port.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/poller"
)

// collector reads a Gateway's figures when Prometheus scrapes, so that the
// hot path pays nothing for metrics: the engine already keeps its counters
// in atomics, and the router answers its counts with one read lock per
// shard, whatever the number of clients.
type collector struct {
	gw       *api.Gateway
	cluster  bool // whether to report peers and the rpc figures
	register bool // whether to report the embedded register's figures

	node, conns, clients, uids, groups, peers, inbound *prometheus.Desc
	counters                                           []engineCounter
	rpc, reg                                           []clusterFigure
}

// engineCounter is one of the connection engine's counters, named for
// Prometheus.
type engineCounter struct {
	desc  *prometheus.Desc
	value func(*poller.Stats) uint64
}

// clusterFigure is one of the rpc server's or embedded register's
// figures, named for Prometheus.
type clusterFigure struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*api.ClusterStats) float64
}

func newCollector(gw *api.Gateway) *collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wsgate_"+name, help, labels, nil)
	}
	counter := func(name, help string, value func(*poller.Stats) uint64) engineCounter {
		return engineCounter{desc: desc(name, help), value: value}
	}
	figure := func(name, help string, kind prometheus.ValueType, value func(*api.ClusterStats) float64) clusterFigure {
		return clusterFigure{desc: desc(name, help), kind: kind, value: value}
	}
	return &collector{
		gw:       gw,
		cluster:  gw.RPCAddr() != nil,
		register: gw.RegisterAddr() != nil,
		node:     desc("node_info", "This node's id, as a label; the value is always 1.", "node"),
		conns:    desc("connections", "Connections open now, handshakes in progress included."),
		clients:  desc("clients", "Clients this node's router holds, closing ones included."),
		uids:     desc("uids", "Uids with a client on this node."),
		groups:   desc("groups", "Groups with a member on this node."),
		peers:    desc("cluster_peers", "Other gateway nodes this node reaches."),
		inbound:  desc("inbound_bytes", "Bytes the connections hold now in partial frames and messages, of the inbound budget."),
		counters: []engineCounter{
			counter("connections_accepted_total", "TCP connections accepted.",
				func(s *poller.Stats) uint64 { return s.Accepted }),
			counter("connections_opened_total", "WebSocket handshakes completed.",
				func(s *poller.Stats) uint64 { return s.Opened }),
			counter("connections_rejected_total", "Accepts closed at once: the connection limit was reached or the node was draining.",
				func(s *poller.Stats) uint64 { return s.Rejected }),
			counter("handshakes_refused_total", "Handshakes answered with an HTTP error.",
				func(s *poller.Stats) uint64 { return s.HandshakesRefused }),
			counter("handshake_timeouts_total", "Connections closed for sending no complete request head within the handshake timeout.",
				func(s *poller.Stats) uint64 { return s.HandshakeTimeouts }),
			counter("protocol_errors_total", "Connections failed for violating RFC 6455.",
				func(s *poller.Stats) uint64 { return s.ProtocolErrors }),
			counter("overflows_total", "Sends over a connection's outbound budget.",
				func(s *poller.Stats) uint64 { return s.Overflows }),
			counter("ping_timeouts_total", "Connections closed after too many unanswered pings.",
				func(s *poller.Stats) uint64 { return s.PingTimeouts }),
			counter("write_timeouts_total", "Connections closed after their socket stayed full for the write timeout (epoll backend).",
				func(s *poller.Stats) uint64 { return s.WriteTimeouts }),
			counter("inbound_refusals_total", "Connections closed (1013) for a frame over the inbound budget.",
				func(s *poller.Stats) uint64 { return s.InboundRefusals }),
			counter("message_timeouts_total", "Connections closed (1008) for a message not completed within the message timeout.",
				func(s *poller.Stats) uint64 { return s.MessageTimeouts }),
			counter("refused_conns_per_ip_total", "Accepts closed at once: the client's address had the most connections allowed per address.",
				func(s *poller.Stats) uint64 { return s.RefusedConnsPerIP }),
			counter("refused_connect_rate_total", "Accepts closed at once: the client's address opened connections faster than allowed per address.",
				func(s *poller.Stats) uint64 { return s.RefusedConnectRate }),
			counter("message_rate_exceeded_total", "Data messages over a connection's message rate: dropped, or closing it (1008) with the close policy.",
				func(s *poller.Stats) uint64 { return s.MessageRateExceeded }),
			counter("messages_in_total", "Data messages received from clients.",
				func(s *poller.Stats) uint64 { return s.MessagesIn }),
			counter("slow_inline_tasks_total", "Inline read tasks that held the event loop 10 ms or longer (InlineHandlers).",
				func(s *poller.Stats) uint64 { return s.SlowInlineTasks }),
			counter("compressed_connections_total", "Handshakes that negotiated permessage-deflate (--compression).",
				func(s *poller.Stats) uint64 { return s.CompressedConns }),
			counter("messages_deflated_total", "Messages compressed for sending: once per message, however many connections it went to.",
				func(s *poller.Stats) uint64 { return s.MessagesDeflated }),
			counter("deflate_in_bytes_total", "Payload bytes of the messages compressed for sending, before compression.",
				func(s *poller.Stats) uint64 { return s.DeflateBytesIn }),
			counter("deflate_out_bytes_total", "Payload bytes of the messages compressed for sending, after compression.",
				func(s *poller.Stats) uint64 { return s.DeflateBytesOut }),
		},
		rpc: []clusterFigure{
			figure("rpc_connections", "Connections the rpc server holds open now, from peers or not.", prometheus.GaugeValue,
				func(s *api.ClusterStats) float64 { return float64(s.RPC.Conns) }),
			figure("rpc_connections_refused_total", "Connections to the rpc server closed at accept: the connection limit was reached.", prometheus.CounterValue,
				func(s *api.ClusterStats) float64 { return float64(s.RPC.ConnsRefused) }),
			figure("rpc_refused_total", "Streams and calls to the rpc server refused for a wrong or missing secret, before any message was read.", prometheus.CounterValue,
				func(s *api.ClusterStats) float64 { return float64(s.RPC.Refused) }),
		},
		reg: []clusterFigure{
			figure("register_connections", "Connections the embedded register holds open now.", prometheus.GaugeValue,
				func(s *api.ClusterStats) float64 { return float64(s.Register.Conns) }),
			figure("register_connections_refused_total", "Connections to the embedded register closed at accept: the connection limit was reached.", prometheus.CounterValue,
				func(s *api.ClusterStats) float64 { return float64(s.Register.ConnsRefused) }),
		},
	}
}

// Describe sends every metric's description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.node
	ch <- c.conns
	ch <- c.clients
	ch <- c.uids
	ch <- c.groups
	ch <- c.inbound
	if c.cluster {
		ch <- c.peers
	}
	for _, k := range c.counters {
		ch <- k.desc
	}
	for _, f := range c.clusterFigures() {
		ch <- f.desc
	}
}

// clusterFigures are the rpc and register figures this node has.
func (c *collector) clusterFigures() []clusterFigure {
	var fs []clusterFigure
	if c.cluster {
		fs = append(fs, c.rpc...)
	}
	if c.register {
		fs = append(fs, c.reg...)
	}
	return fs
}

// Collect reads one snapshot of the engine's counters and the router's
// counts.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.gw.Stats()
	n := c.gw.Counts()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.node, 1, c.gw.NodeID().String())
	gauge(c.conns, float64(st.Conns))
	gauge(c.clients, float64(n.Clients))
	gauge(c.uids, float64(n.UIDs))
	gauge(c.groups, float64(n.Groups))
	gauge(c.inbound, float64(st.InboundBytes))
	if c.cluster {
		gauge(c.peers, float64(len(c.gw.Peers())))
	}
	for _, k := range c.counters {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, float64(k.value(&st)))
	}
	if figures := c.clusterFigures(); len(figures) > 0 {
		cst := c.gw.ClusterStats()
		for _, f := range figures {
			ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(&cst))
		}
	}
}
