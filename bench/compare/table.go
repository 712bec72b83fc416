package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wsgate/wsgate/bench"
)

// isReference reports whether server s is a reference point rather than a
// peer wsgate is measured against: netpoll and gnet are engines on gobwas/ws
// written in bench/peers, not libraries set up as their docs recommend.
func isReference(s string) bool { return s == "netpoll" || s == "gnet" }

// label is the name of server s in the tables.
func label(s string) string {
	if isReference(s) {
		return s + " (reference)"
	}
	return s
}

// machine describes where the figures come from.
type machine struct {
	desc     string // CPUs, model, kernel, Go version
	load     string // load averages when the comparison began
	revision string // the commit measured
}

// median of the values; the mean of the middle two for an even count.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// med is the median of one figure over an outcome's reports.
func med(o *outcome, f func(r *bench.Report) float64) float64 {
	v := make([]float64, 0, len(o.reports))
	for _, r := range o.reports {
		v = append(v, f(r))
	}
	return median(v)
}

// Figures of a report that several tables show.
func perSecond(r *bench.Report) float64           { return r.PerSecond }
func p50(r *bench.Report) float64                 { return float64(r.Latency.P50) }
func p99(r *bench.Report) float64                 { return float64(r.Latency.P99) }
func serverCPUPerMessage(r *bench.Report) float64 { return r.Server.CPUPerMessage }

// clientCores is the bench client's CPU use, 0 in a report without it.
func clientCores(r *bench.Report) float64 {
	if r.Client == nil {
		return 0
	}
	return r.Client.CPUUtilization
}

// okRuns counts the runs the bench client judged ok, as "ok/runs".
func okRuns(o *outcome) string {
	n := 0
	for _, r := range o.reports {
		if r.OK {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(o.reports))
}

// renderTable writes the section that goes between the markers.
func renderTable(cfg config, m machine, command string, at time.Time, results map[string]map[string]*outcome) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if cfg.quick {
		p("**Quick smoke run**: small sizes that check the harness end to end; these figures are not a comparison.\n\n")
	}
	p("- Date: %s\n", at.UTC().Format("2006-01-02 15:04 UTC"))
	p("- Command: `%s`\n", command)
	p("- Code: commit %s\n", m.revision)
	p("- Machine: %s; load average %s when the run began\n", m.desc, m.load)
	p("- Pinning: server `taskset -c %s`, bench client `taskset -c %s` (%d processes, %d source addresses); loopback\n",
		cfg.serverCPU, cfg.clientCPU, cfg.procs, cfg.sources)
	p("- Runs: %d per workload and server, a fresh server each run; figures are medians. \"ok\" counts runs with every connection open and every message answered or delivered.\n\n", cfg.runs)

	// rows writes a table's header and a row per server for workload key
	// (n/a for a server without reports), then the reason of each n/a.
	rows := func(key, header, notePrefix string, cells func(o *outcome) string) {
		if !slices.Contains(cfg.workloads, key) {
			return
		}
		p("%s", header)
		cols := strings.Count(header[:strings.IndexByte(header, '\n')], "|") - 1
		for _, s := range cfg.servers {
			o := results[s][key]
			if len(o.reports) == 0 {
				p("| %s | n/a |%s\n", label(s), strings.Repeat(" |", cols-2))
				continue
			}
			p("| %s | %s |\n", label(s), cells(o))
		}
		for _, s := range cfg.servers {
			if o := results[s][key]; o.note != "" {
				p("\n%s%s: %s\n", s, notePrefix, firstLine(o.note))
			}
		}
	}

	ran := func(key string) bool { return slices.Contains(cfg.workloads, key) }
	if ran("idle") {
		p("Idle: %d connections held, server sampled %s after the last one opened.\n\n", cfg.idleConns, cfg.settle)
	}
	rows("idle", "| server | RSS idle | RSS with conns | RSS per conn | threads | connect/s | ok |\n|---|---:|---:|---:|---:|---:|---|\n", "",
		func(o *outcome) string {
			return fmt.Sprintf("%.1f MiB | %.1f MiB | %.0f B | %.0f | %.0f | %s",
				med(o, func(r *bench.Report) float64 { return float64(r.Server.RSSIdle) / (1 << 20) }),
				med(o, func(r *bench.Report) float64 { return float64(r.Server.RSSLoaded) / (1 << 20) }),
				med(o, func(r *bench.Report) float64 { return r.Server.RSSPerConn }),
				med(o, func(r *bench.Report) float64 { return float64(r.Server.Threads) }),
				med(o, func(r *bench.Report) float64 { return r.ConnectRate }), okRuns(o))
		})

	if ran("storm") {
		p("\nConnect storm: %d connections asked at %g/s, held %s: the rate reached and how long handshakes took.\n\n",
			cfg.idleConns, cfg.stormRate, cfg.idleHold)
	}
	rows("storm", "| server | connect/s | handshake p50 | p90 | p99 | max | connect errors | ok |\n|---|---:|---:|---:|---:|---:|---:|---|\n", " storm",
		func(o *outcome) string {
			return fmt.Sprintf("%.0f | %s | %s | %s | %s | %.0f | %s",
				med(o, func(r *bench.Report) float64 { return r.ConnectRate }),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Handshake.P50) })),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Handshake.P90) })),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Handshake.P99) })),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Handshake.Max) })),
				med(o, func(r *bench.Report) float64 { return float64(r.ConnectErrors) }), okRuns(o))
		})

	for _, e := range []struct{ key, size string }{{"echo64", "64 B"}, {"echo1k", "1 KiB"}} {
		if ran(e.key) {
			p("\nEcho %s: %d connections, closed loop (each sends its next message when the echo arrives), %s window. "+
				"Client CPU near 1 core means the client, not the server, set the pace. "+
				"RSS per conn is sampled at the end of the window, every connection echoing.\n\n", e.size, cfg.echoConns, cfg.duration)
		}
		rows(e.key, "| server | round trips/s | p50 | p99 | server CPU per echo | server cores | client cores | RSS per conn | ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n", " "+e.size,
			func(o *outcome) string {
				return fmt.Sprintf("%.0f | %s | %s | %.1f µs | %.2f | %.2f | %.0f B | %s",
					med(o, perSecond), usText(med(o, p50)), usText(med(o, p99)), med(o, serverCPUPerMessage),
					med(o, func(r *bench.Report) float64 { return r.Server.CPUUtilization }),
					med(o, clientCores), med(o, func(r *bench.Report) float64 { return r.Server.RSSPerConnEnd }), okRuns(o))
			})
	}

	if ran("echoOpen") {
		p("\nEcho at equal load: %d connections, 64 B, open loop at %g messages/s in all, %s window: "+
			"latency and CPU when no server is saturated.\n\n", cfg.echoConns, cfg.echoRate, cfg.duration)
	}
	rows("echoOpen", "| server | round trips/s | p50 | p99 | p99.9 | max | server CPU per echo | ok |\n|---|---:|---:|---:|---:|---:|---:|---|\n", " open loop",
		func(o *outcome) string {
			return fmt.Sprintf("%.0f | %s | %s | %s | %s | %.1f µs | %s",
				med(o, perSecond), usText(med(o, p50)), usText(med(o, p99)),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Latency.P999) })),
				usText(med(o, func(r *bench.Report) float64 { return float64(r.Latency.Max) })),
				med(o, serverCPUPerMessage), okRuns(o))
		})

	rates := make([]string, len(cfg.bcastRates))
	for i, r := range cfg.bcastRates {
		rates[i] = fmt.Sprintf("%g", r)
	}
	how := fmt.Sprintf("the highest of %s/s with nothing missing in a trial run", strings.Join(rates, ", "))
	if len(rates) == 1 {
		how = "fixed at " + rates[0] + "/s"
	}
	if ran("bcast") {
		p("\nBroadcast: %d subscribers, 128 B messages from one publisher, %s window; publish rate %s.\n\n",
			cfg.bcastConns, cfg.duration, how)
	}
	rows("bcast", "| server | publish rate | deliveries/s | p50 | p99 | missing | server CPU per delivery | ok |\n|---|---:|---:|---:|---:|---:|---:|---|\n", "",
		func(o *outcome) string {
			return fmt.Sprintf("%g/s | %.0f | %s | %s | %.0f | %.2f µs | %s", o.rate,
				med(o, func(r *bench.Report) float64 { return r.Broadcast.DeliveriesPerS }),
				usText(med(o, p50)), usText(med(o, p99)),
				med(o, func(r *bench.Report) float64 { return float64(r.Broadcast.Missing) }),
				med(o, serverCPUPerMessage), okRuns(o))
		})
	if slices.ContainsFunc(cfg.servers, isReference) {
		p("\nnetpoll and gnet are reference points, not targets: netpoll + gobwas/ws written plainly is the floor wsgate's engine is built on; " +
			"gnet + gobwas/ws shows what an engine with its own event loop reaches. The peers wsgate is compared with are nbio, gws and gorilla.\n")
	}
	p("\nRaw reports: `%s/` (one JSON file per run).\n", cfg.outDir)
	return b.String()
}

// usText formats microseconds with a readable unit.
func usText(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f ms", v/1e3)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
