package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsgate/wsgate/bench"
)

// step is one run: a cluster size, what holding its connections cost, and
// each workload's deliveries.
type step struct {
	Nodes       int       `json:"nodes"`
	Conns       int       `json:"conns"`
	ConnectRate float64   `json:"connect_rate"`
	Command     string    `json:"command"`
	Revision    string    `json:"revision"`
	Machine     string    `json:"machine"`
	Load        string    `json:"load_average"`
	Began       time.Time `json:"began"`

	MemAvailableBefore int64       `json:"mem_available_before"`
	SlabBefore         int64       `json:"slab_before"`
	NodeIdleRSS        int64       `json:"node_idle_rss"` // all nodes, before any connection
	Hold               *hold       `json:"hold,omitempty"`
	Workloads          []workload  `json:"workloads"`
	Membership         *membership `json:"membership,omitempty"`
}

// hold is what the cluster costs with every connection open and idle.
type hold struct {
	Sockets           int64   `json:"sockets"` // TCP sockets the run added (two a connection)
	NodeRSS           int64   `json:"node_rss"`
	NodeRSSPerConn    float64 `json:"node_rss_per_conn"` // above the nodes' idle RSS
	MinNodeRSSPerConn float64 `json:"min_node_rss_per_conn"`
	MaxNodeRSSPerConn float64 `json:"max_node_rss_per_conn"`
	NodeThreads       int     `json:"node_threads"`
	ClientRSS         int64   `json:"client_rss"`
	ClientThreads     int     `json:"client_threads"`
	IdleCores         float64 `json:"idle_cores"` // the nodes' and the register's CPU while held
	MemAvailable      int64   `json:"mem_available"`
	Slab              int64   `json:"slab"`
	TCPMemPages       int64   `json:"tcp_mem_pages"`
}

// workload is one bench client's run: its connections and the one message
// published to all of them.
type workload struct {
	Name          string  `json:"name"`
	Opened        int64   `json:"opened"`
	ConnectErrors int64   `json:"connect_errors"`
	Dropped       int64   `json:"dropped"`
	ConnectRate   float64 `json:"connect_per_s"`
	HandshakeP99  int64   `json:"handshake_p99_us"`
	Expected      int64   `json:"expected"`
	Delivered     int64   `json:"delivered"`
	Missing       int64   `json:"missing"`
	LatencyP50    int64   `json:"latency_p50_us"`
	LatencyMax    int64   `json:"latency_max_us"` // publish to the last delivery
	OK            bool    `json:"ok"`

	// churn only: the window's reconnects and deliveries.
	Reconnects      int64   `json:"reconnects,omitempty"`
	ReconnectErrors int64   `json:"reconnect_errors,omitempty"`
	ReconnectsPerS  float64 `json:"reconnects_per_s,omitempty"`
	ReconnectP99    int64   `json:"reconnect_p99_us,omitempty"` // connect and handshake of a re-dial
	DeliveriesPerS  float64 `json:"deliveries_per_s,omitempty"`
	Excused         int64   `json:"excused,omitempty"`       // deliveries not owed: the connection was closing, closed or re-dialing
	ChurnRate       float64 `json:"churn_rate,omitempty"`    // messages/s published through the window
	ChurnGrace      float64 `json:"churn_grace_s,omitempty"` // how long a message was allowed to reach every connection
}

func newWorkload(name string, r *bench.Report) *workload {
	w := &workload{
		Name: name, Opened: r.Opened, ConnectErrors: r.ConnectErrors, Dropped: r.Errors,
		ConnectRate: r.ConnectRate, HandshakeP99: r.Handshake.P99,
		Expected: r.Broadcast.Expected, Delivered: r.Broadcast.Delivered, Missing: r.Broadcast.Missing,
		LatencyP50: r.Latency.P50, LatencyMax: r.Latency.Max, OK: r.OK,
	}
	if c := r.Churn; c != nil {
		w.Reconnects, w.ReconnectErrors, w.ReconnectsPerS = c.Reconnects, c.ReconnectErrors, c.ReconnectsPerS
		w.ReconnectP99, w.Excused = c.Handshake.P99, c.Excused
		w.DeliveriesPerS = r.Broadcast.DeliveriesPerS
		w.ChurnRate, w.ChurnGrace = r.Rate, c.Grace
	}
	return w
}

// callOf names the Api call a workload publishes with.
var callOf = map[string]string{"all": "SendToAll", "group": "SendToGroup", "uid": "SendToUIDs", "churn": "SendToAll"}

func (w *workload) text() string {
	if w.Name == "churn" {
		return fmt.Sprintf("%-6s %d open, %d connect errors, %d dropped; %d reconnects (%.1f/s), %d reconnect errors, reconnect p99 %s; %s: %.0f deliveries/s, %d of %d delivered, %d missing (%d excused by churn), p50 %s, ok %v\n",
			w.Name, w.Opened, w.ConnectErrors, w.Dropped, w.Reconnects, w.ReconnectsPerS, w.ReconnectErrors, us(w.ReconnectP99), callOf[w.Name],
			w.DeliveriesPerS, w.Delivered, w.Expected, w.Missing, w.Excused, us(w.LatencyP50), w.OK)
	}
	return fmt.Sprintf("%-6s %d open, %d connect errors, %d dropped, %.0f/s, handshake p99 %s; %s: %d of %d delivered, %d missing, p50 %s, last %s, ok %v\n",
		w.Name, w.Opened, w.ConnectErrors, w.Dropped, w.ConnectRate, us(w.HandshakeP99), callOf[w.Name],
		w.Delivered, w.Expected, w.Missing, us(w.LatencyP50), us(w.LatencyMax), w.OK)
}

func (m *membership) text() string {
	return fmt.Sprintf("membership: idle %.3f cores (register %.3f); every node saw a kill -9 in %v, a join in %v, a freeze in %v, a thaw in %v (one sweep %v)\n",
		m.IdleCores, m.RegisterCPU, m.Kill.Round(time.Millisecond), m.Join.Round(time.Millisecond),
		m.Freeze.Round(time.Millisecond), m.Thaw.Round(time.Millisecond), m.Sweep.Round(time.Millisecond))
}

func (s *step) ok() bool {
	for _, w := range s.Workloads {
		if !w.OK {
			return false
		}
	}
	return len(s.Workloads) > 0 || s.Membership != nil
}

// key names the step in tables: nodes × connections.
func (s *step) key() string { return fmt.Sprintf("%d × %s", s.Nodes, thousands(int64(s.Conns))) }

func (s *step) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s, connect rate %.0f/s requested\n", s.key(), s.ConnectRate)
	if h := s.Hold; h != nil {
		fmt.Fprintf(&b, "held: %d sockets; nodes %s RSS, %.0f B per connection above idle (nodes %.0f-%.0f B), %d threads; clients %s RSS, %d threads\n",
			h.Sockets, mib(h.NodeRSS), h.NodeRSSPerConn, h.MinNodeRSSPerConn, h.MaxNodeRSSPerConn, h.NodeThreads, mib(h.ClientRSS), h.ClientThreads)
		fmt.Fprintf(&b, "held: slab %s (+%s, %.0f B per connection), TCP memory %d pages, MemAvailable %s -> %s, idle CPU %.3f cores\n",
			mib(h.Slab), mib(h.Slab-s.SlabBefore), s.slabPerConn(), h.TCPMemPages, mib(s.MemAvailableBefore), mib(h.MemAvailable), h.IdleCores)
	}
	for _, w := range s.Workloads {
		b.WriteString(w.text())
	}
	if s.Membership != nil {
		b.WriteString(s.Membership.text())
	}
	return b.String()
}

// slabPerConn is the kernel slab a held connection (both sockets) adds.
func (s *step) slabPerConn() float64 {
	if s.Hold == nil || s.Hold.Sockets == 0 {
		return 0
	}
	return float64(s.Hold.Slab-s.SlabBefore) / float64(s.Hold.Sockets/2)
}

func us(v int64) string {
	d := time.Duration(v) * time.Microsecond
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return d.String()
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// thousands writes n with commas: 1,000,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
