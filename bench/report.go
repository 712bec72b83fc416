package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency is a latency distribution in microseconds.
type Latency struct {
	Count int64 `json:"count"`
	P50   int64 `json:"p50_us"`
	P90   int64 `json:"p90_us"`
	P99   int64 `json:"p99_us"`
	P999  int64 `json:"p999_us"`
	Max   int64 `json:"max_us"`
	Mean  int64 `json:"mean_us"`
}

func latencyOf(h *Hist) Latency {
	us := func(d time.Duration) int64 { return d.Microseconds() }
	if h.Count() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.Count(), P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)),
		P99: us(h.Quantile(0.99)), P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: us(h.Mean()),
	}
}

// Percentile is the latency, in microseconds, below which P percent of the
// samples fall.
type Percentile struct {
	P  float64 `json:"p"`
	US int64   `json:"us"`
}

// curvePercentiles are the points of a latency plot: dense in the tail,
// where the interesting part of a distribution is.
var curvePercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99,
	99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999, 100}

// curveOf samples h at curvePercentiles; nil if h is empty.
func curveOf(h *Hist) []Percentile {
	if h.Count() == 0 {
		return nil
	}
	c := make([]Percentile, len(curvePercentiles))
	for i, p := range curvePercentiles {
		c[i] = Percentile{P: p, US: h.Quantile(p / 100).Microseconds()}
	}
	return c
}

// Broadcast holds the fan-out figures of a bcast run.
type Broadcast struct {
	Published      int64   `json:"published"`
	Subscribers    int64   `json:"subscribers"`
	Expected       int64   `json:"expected"`  // published × subscribers − excused
	Delivered      int64   `json:"delivered"` // distinct deliveries of what was expected
	Missing        int64   `json:"missing"`   // expected − delivered, must be 0
	Duplicates     int64   `json:"duplicates"`
	OutOfOrder     int64   `json:"out_of_order"`
	DeliveriesPerS float64 `json:"deliveries_per_s"` // every delivery, expected or not
}

// Churn holds the figures of a bcast run with -churn: connections closed
// and dialed again during the window, and what that excused them from.
type Churn struct {
	Percent         float64 `json:"percent_per_s"`
	Grace           float64 `json:"grace_s"`
	Closed          int64   `json:"closed"`
	Reconnects      int64   `json:"reconnects"` // re-dials that opened
	ReconnectErrors int64   `json:"reconnect_errors"`
	ReconnectsPerS  float64 `json:"reconnects_per_s"`
	Handshake       Latency `json:"handshake"` // of the re-dials: connect and handshake
	Excused         int64   `json:"excused"`   // deliveries not expected: published while a connection was leaving, closed or re-dialing
	Outside         int64   `json:"outside"`   // of those, delivered anyway
}

// Report is the outcome of a run, as printed by Main.
type Report struct {
	Workload    string   `json:"workload"`
	URLs        []string `json:"urls"`
	Procs       int      `json:"procs"`
	Loops       int      `json:"loops_per_proc"`
	Sources     int      `json:"sources"`
	Size        int      `json:"size"`
	Rate        float64  `json:"rate,omitempty"`
	Window      float64  `json:"window_s"` // measurement window, seconds
	Settle      float64  `json:"settle_s"` // wait between the last connection and the window
	Interrupted bool     `json:"interrupted,omitempty"`

	Requested     int     `json:"conns_requested"`
	Opened        int64   `json:"conns_opened"`
	ConnectErrors int64   `json:"connect_errors"`
	Errors        int64   `json:"conn_errors"`
	ConnectRate   float64 `json:"connect_per_s"`
	Handshake     Latency `json:"handshake"`

	Sent       int64 `json:"sent"`
	Received   int64 `json:"received"`
	Unanswered int64 `json:"unanswered,omitempty"`
	Invalid    int64 `json:"invalid,omitempty"` // echo: replies that were not echoes
	// Compression says the client offered permessage-deflate; WireIn is
	// the bytes read from the server once connections were open (frames,
	// headers included), WireInPerMessage that over Received.
	Compression      bool       `json:"compression,omitempty"`
	WireIn           int64      `json:"wire_in_bytes"`
	WireInPerMessage float64    `json:"wire_in_per_message"`
	PerSecond        float64    `json:"msgs_per_s"`
	Latency          Latency    `json:"latency"`
	Broadcast        *Broadcast `json:"broadcast,omitempty"`
	Churn            *Churn     `json:"churn,omitempty"`

	// Timeline has the run's totals at each whole second from its start;
	// the window is the part from WindowFrom to WindowTo (seconds on the
	// same clock).
	Timeline   []TimelinePoint `json:"timeline,omitempty"`
	WindowFrom float64         `json:"window_from_s,omitempty"`
	WindowTo   float64         `json:"window_to_s,omitempty"`
	// Percentiles of the latency and handshake distributions, for plots.
	LatencyCurve   []Percentile `json:"latency_percentiles,omitempty"`
	HandshakeCurve []Percentile `json:"handshake_percentiles,omitempty"`

	Server       *ServerFigures `json:"server,omitempty"`
	Client       *ClientFigures `json:"client,omitempty"`
	ErrorSamples []string       `json:"error_samples,omitempty"`
	WorkerErrors []string       `json:"worker_errors,omitempty"`
	OK           bool           `json:"ok"`
}

// newReport derives the figures from the merged counters and the window.
func newReport(o Options, r *Result, window time.Duration, interrupted bool) *Report {
	rep := &Report{
		Workload: o.Workload, URLs: o.URLs, Procs: o.Procs, Loops: o.Loops, Sources: o.Sources,
		Size: o.Size, Rate: o.Rate, Window: window.Seconds(), Settle: o.Settle.Seconds(), Interrupted: interrupted,
		Requested: o.Conns, Opened: r.Opened, ConnectErrors: r.ConnectErrors, Errors: r.Errors,
		Handshake: latencyOf(r.Handshake), Sent: r.Sent, Received: r.Received, Unanswered: r.Unanswered, Invalid: r.Invalid,
		Latency: latencyOf(r.Latency), ErrorSamples: r.ErrorSamples, Compression: o.Compression, WireIn: r.WireIn,
		LatencyCurve: curveOf(r.Latency), HandshakeCurve: curveOf(r.Handshake), Timeline: r.Timeline,
	}
	if r.LastOpen > r.FirstDial && r.FirstDial > 0 {
		rep.ConnectRate = float64(r.Opened) / time.Duration(r.LastOpen-r.FirstDial).Seconds()
	}
	if window > 0 {
		rep.PerSecond = float64(r.Received) / window.Seconds()
	}
	if r.Received > 0 {
		rep.WireInPerMessage = float64(r.WireIn) / float64(r.Received)
	}
	if o.Workload == "bcast" {
		b := &Broadcast{
			Published: r.Published, Subscribers: r.Subscribers, Expected: r.Published*r.Subscribers - r.Excused,
			Delivered: r.Unique, Duplicates: r.Duplicates, OutOfOrder: r.OutOfOrder,
		}
		b.Missing = b.Expected - b.Delivered
		if window > 0 {
			b.DeliveriesPerS = float64(b.Delivered+r.Outside+b.Duplicates) / window.Seconds()
		}
		rep.Broadcast = b
		rep.PerSecond = b.DeliveriesPerS
	}
	if o.Churn > 0 {
		c := &Churn{
			Percent: o.Churn, Grace: o.ChurnGrace.Seconds(), Closed: r.Closed, Reconnects: r.Reconnects,
			ReconnectErrors: r.ReconnectErrors, Handshake: latencyOf(r.Reconnect), Excused: r.Excused, Outside: r.Outside,
		}
		if window > 0 {
			c.ReconnectsPerS = float64(c.Reconnects) / window.Seconds()
		}
		rep.Churn = c
	}
	if window > 0 {
		rep.Client = clientFigures(r.CPU, window, rep.windowMessages(), clientCPUs())
	}
	return rep
}

// windowMessages is the count the server's and the client's CPU time is
// divided by: round trips for echo, deliveries for bcast, nothing for conns.
func (r *Report) windowMessages() int64 {
	switch {
	case r.Broadcast != nil:
		n := r.Broadcast.Delivered + r.Broadcast.Duplicates
		if r.Churn != nil {
			n += r.Churn.Outside
		}
		return n
	case r.Workload == "echo":
		return r.Received
	}
	return 0
}

// judge sets OK: every connection opened and stayed up, every message was
// answered and every broadcast arrived once, and the run was not cut short
// by a worker failing. With churn, every connection closed also opened
// again.
func (r *Report) judge() {
	r.OK = r.ConnectErrors == 0 && r.Errors == 0 && r.Unanswered == 0 && r.Invalid == 0 && len(r.WorkerErrors) == 0 &&
		r.Opened >= int64(r.Requested) && r.Window > 0
	if b := r.Broadcast; b != nil {
		r.OK = r.OK && b.Missing == 0 && b.Duplicates == 0 && b.Subscribers > 0
	}
	if c := r.Churn; c != nil {
		r.OK = r.OK && c.ReconnectErrors == 0 && c.Reconnects == c.Closed
	}
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteText writes the report as an aligned two-column table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	lat := func(l Latency) string {
		if l.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
			us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max), l.Count)
	}
	row("workload", "%s", r.Workload)
	row("targets", "%s", strings.Join(r.URLs, ", "))
	row("clients", "%d procs × %d loops, %d source addrs", r.Procs, r.Loops, r.Sources)
	row("window", "%.2fs%s", r.Window, map[bool]string{true: " (interrupted)"}[r.Interrupted])
	row("connections", "%d/%d open, %d connect errors, %d dropped", r.Opened, r.Requested, r.ConnectErrors, r.Errors)
	row("connect rate", "%.0f/s", r.ConnectRate)
	row("handshake", "%s", lat(r.Handshake))
	if r.Workload != "conns" {
		row("messages", "%d sent, %d received, %d unanswered (%d bytes)", r.Sent, r.Received, r.Unanswered, r.Size)
		if r.Invalid > 0 {
			row("not echoes", "%d replies were not the echo of a message sent: the server does not echo (wsgate serve --app echo does)", r.Invalid)
		}
		row("throughput", "%.0f msgs/s", r.PerSecond)
		row("wire", "%d bytes from the server, %.0f per message received (%s)", r.WireIn, r.WireInPerMessage,
			map[bool]string{true: "permessage-deflate offered", false: "no compression offered"}[r.Compression])
		row("latency", "%s", lat(r.Latency))
	}
	if c := r.Churn; c != nil {
		row("churn", "%g%% of the connections a second: %d closed, %d reconnected (%.1f/s), %d reconnect errors", c.Percent, c.Closed, c.Reconnects, c.ReconnectsPerS, c.ReconnectErrors)
		row("reconnect", "%s", lat(c.Handshake))
	}
	if b := r.Broadcast; b != nil {
		if c := r.Churn; c != nil {
			row("broadcast", "%d published × %d subscribers − %d excused by churn = %d expected (%d of the excused delivered anyway; grace %gs)",
				b.Published, b.Subscribers, c.Excused, b.Expected, c.Outside, c.Grace)
		} else {
			row("broadcast", "%d published × %d subscribers = %d expected", b.Published, b.Subscribers, b.Expected)
		}
		row("deliveries", "%d delivered, %d missing, %d duplicates, %d out of order", b.Delivered, b.Missing, b.Duplicates, b.OutOfOrder)
		if b.Published > 0 && b.Delivered == 0 {
			row("note", "nothing published came back: the server does not broadcast (wsgate serve --app broadcast does)")
		}
	}
	if s := r.Server; s != nil {
		row("server rss", "%s idle, %s loaded, %.0f B/conn, %d threads", mib(s.RSSIdle), mib(s.RSSLoaded), s.RSSPerConn, s.Threads)
		perMsg := ""
		if s.CPUPerMessage > 0 {
			perMsg = fmt.Sprintf(", %.2f µs/msg", s.CPUPerMessage)
		}
		row("server cpu", "%.2fs (%.2f cores)%s", s.CPUSeconds, s.CPUUtilization, perMsg)
		if s.GoroutinesLoaded > 0 {
			row("server goroutines", "%d idle, %d loaded, %d at the end", s.GoroutinesIdle, s.GoroutinesLoaded, s.GoroutinesEnd)
		}
	}
	if c := r.Client; c != nil {
		perMsg := ""
		if c.CPUPerMessage > 0 {
			perMsg = fmt.Sprintf(", %.2f µs/msg", c.CPUPerMessage)
		}
		row("client cpu", "%.2fs (%.2f cores of %d usable)%s", c.CPUSeconds, c.CPUUtilization, c.CPUs, perMsg)
		if c.NearSaturation {
			row("note", "the client was near saturation: the throughput may be its limit, not the server's")
		}
	}
	for _, e := range countSame(r.ErrorSamples) {
		row("error", "%s", e)
	}
	for _, e := range r.WorkerErrors {
		row("worker error", "%s", e)
	}
	row("result", "%s", map[bool]string{true: "ok", false: "FAILED"}[r.OK])
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// us formats microseconds with a unit that keeps three digits or so.
func us(v int64) string {
	switch {
	case v >= 10_000_000:
		return fmt.Sprintf("%.1fs", float64(v)/1e6)
	case v >= 10_000:
		return fmt.Sprintf("%.1fms", float64(v)/1e3)
	}
	return fmt.Sprintf("%dµs", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// countSame lists each distinct message once, in first-seen order, with
// how many times it came when more than once.
func countSame(msgs []string) []string {
	counts := map[string]int{}
	var order []string
	for _, m := range msgs {
		if counts[m] == 0 {
			order = append(order, m)
		}
		counts[m]++
	}
	for i, m := range order {
		if n := counts[m]; n > 1 {
			order[i] = fmt.Sprintf("%s (×%d)", m, n)
		}
	}
	return order
}
