// Command cluster measures what a cluster costs a broadcast: in one run, on
// one machine, it starts a register and three broadcast nodes (subscribers
// spread over the three, the publisher on the first) and one broadcast node
// alone holding every subscriber, runs `wsgate bench bcast` against each
// (publishing to all, then to a group), and writes the figures and the
// ratios cluster/single into BENCHMARKS.md between its markers. Run it from
// the repository root:
//
//	go run ./bench/cluster          # 15,000 subscribers, 10s windows
//	go run ./bench/cluster -quick   # smoke run: 1,500 subscribers, 2s windows
//
// Each mode (publish to all, to a group) runs at rising publish rates until
// a setup fails to sustain one (a connection error, a missing delivery, or
// p99 above -max-p99: the server falls further behind all through the
// window); a setup's capacity is its deliveries/s at the highest rate it
// sustained, and p99 is compared at the highest rate both sustained.
//
// The servers (all four processes of the cluster, or the single node) are
// pinned to -server-cpu and the bench client to -client-cpu, so both setups
// get the same cores. Raw JSON reports and logs go to bench/out/.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/mdsection"
	"github.com/wsgate/wsgate/bench/internal/proc"
)

// The section goes between these markers; the rest of the file is left alone.
const ()

// The targets: the cluster delivers at least this share of the
// single node's deliveries per second, with p99 under this multiple of it.
const (
	targetDeliveries = 0.8
	targetP99        = 2.0
)

const secret = "bench-cluster-secret"

// benchGroup is the group of the group mode.
const benchGroup = "bench"

type config struct {
	subscribers int
	duration    time.Duration
	rates       []float64 // publish rates, rising
	size        int
	runs        int
	quick       bool
	modes       []string      // "all", "group"
	maxP99      time.Duration // a rate whose p99 is above this is not sustained
	procs       int           // bench client processes; 0 is the bench default
	serverCPU   string
	clientCPU   string
	outDir      string
	markdown    string
}

// setups are what each mode runs against, alternating within a run.
var setups = []string{"single", "cluster"}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseFlags(args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 2
	}
	load, revision := mdsection.LoadAverage(), mdsection.Revision() // before the build, so that the load is the machine's own
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	binDir, err := os.MkdirTemp("", "wsgate-cluster-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	bin, err := proc.BuildWsgate(ctx, binDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v", err)
		return 1
	}

	results := results{}
	for round := 1; round <= cfg.runs; round++ {
		for _, mode := range cfg.modes {
			failed := map[string]bool{} // setups that failed a lower rate this round
			for _, rate := range cfg.rates {
				for _, setup := range setups {
					if failed[setup] {
						continue
					}
					tag := fmt.Sprintf("%s-%g-%s-run%d", mode, rate, setup, round)
					rep, err := runOnce(ctx, cfg, bin, mode, setup, rate, tag)
					if err != nil {
						fmt.Fprintf(os.Stderr, "cluster: %s: %v\n", tag, err)
						return 1
					}
					b := rep.Broadcast
					fmt.Fprintf(os.Stderr, "cluster: %s: %.0f deliveries/s, p50 %dµs, p99 %dµs, missing %d, ok %v\n",
						tag, b.DeliveriesPerS, rep.Latency.P50, rep.Latency.P99, b.Missing, rep.OK)
					results.add(mode, setup, rate, rep)
					failed[setup] = !sustained(cfg, rep)
				}
			}
		}
	}
	command := mdsection.Command("./bench/cluster", args)
	section := render(cfg, command, load, revision, results)
	fmt.Print(section)
	if err := mdsection.Write(cfg.markdown, "cluster", "## Cluster fan-out\n\n", section); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: section written to %s, raw reports in %s\n", cfg.markdown, cfg.outDir)
	return 0
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	modes := fs.String("modes", "all,group", "publish modes: all (SendToAll), group (SendToGroup, every subscriber in the group)")
	fs.IntVar(&cfg.subscribers, "subscribers", 15000, "subscribers in all, spread over the three nodes or on the single node")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement window of each run")
	rates := fs.String("rates", "", "publish rates (messages/s) tried in rising order for each mode and setup; a setup's capacity is its deliveries/s at the highest rate it passes (default 5,10,15,20,25,30,40,50; quick 50,75,100,125,150,200): steps of 25% or less, so that the 0.8 target can be told")
	fs.DurationVar(&cfg.maxP99, "max-p99", 500*time.Millisecond, "a setup sustains a rate if nothing is missing and p99 stays under this (above it, queues grow through the window)")
	fs.IntVar(&cfg.size, "size", 128, "message size in bytes")
	fs.IntVar(&cfg.runs, "runs", 1, "runs of every mode and setup; the section shows medians")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: 1,500 subscribers and 2s windows unless given")
	fs.IntVar(&cfg.procs, "procs", 0, "bench client processes (0: the bench's default, one per 15,000)")
	fs.StringVar(&cfg.serverCPU, "server-cpu", "0", "cores for the servers (taskset -c)")
	fs.StringVar(&cfg.clientCPU, "client-cpu", "1", "cores for the bench client (taskset -c)")
	fs.StringVar(&cfg.outDir, "out", "", "directory for the raw JSON reports and logs (default bench/out/cluster-TIMESTAMP)")
	fs.StringVar(&cfg.markdown, "md", "BENCHMARKS.md", "file whose cluster markers receive the section")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		if !set["subscribers"] {
			cfg.subscribers = 1500
		}
		if !set["duration"] {
			cfg.duration = 2 * time.Second
		}
		if *rates == "" {
			*rates = "50,75,100,125,150,200"
		}
	}
	if *rates == "" {
		*rates = "5,10,15,20,25,30,40,50"
	}
	for _, m := range strings.Split(*modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case "all", "group":
			cfg.modes = append(cfg.modes, m)
		default:
			return cfg, fmt.Errorf("unknown mode %q (have: all, group)", m)
		}
	}
	for _, r := range strings.Split(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return cfg, fmt.Errorf("bad -rates item %q", r)
		}
		if n := len(cfg.rates); n > 0 && v <= cfg.rates[n-1] {
			return cfg, fmt.Errorf("-rates must rise: %q", *rates)
		}
		cfg.rates = append(cfg.rates, v)
	}
	switch {
	case cfg.subscribers < 3:
		return cfg, fmt.Errorf("-subscribers must be at least 3")
	case cfg.duration <= 0:
		return cfg, fmt.Errorf("-duration must be above 0")
	case cfg.runs < 1 || cfg.runs > 20:
		return cfg, fmt.Errorf("-runs must be between 1 and 20")
	}
	if cfg.outDir == "" {
		cfg.outDir = filepath.Join("bench", "out", "cluster-"+time.Now().UTC().Format("20060102-150405"))
	}
	return cfg, nil
}

// runOnce starts the servers of setup, runs the bench client against them
// and stops them.
func runOnce(ctx context.Context, cfg config, bin, mode, setup string, rate float64, tag string) (*bench.Report, error) {
	base := filepath.Join(cfg.outDir, tag)
	var procs []*proc.Proc
	defer func() {
		for _, p := range slices.Backward(procs) {
			p.Stop()
		}
	}()
	var urls []string
	startNode := func(name string, args ...string) error {
		argv := append([]string{bin, "serve", "--app", "broadcast", "--log-level", "warn"}, args...)
		p, err := proc.Start(proc.Spec{Name: name, Argv: argv, CPU: cfg.serverCPU, Log: base + "." + name + ".log"})
		if err != nil {
			return err
		}
		procs = append(procs, p)
		addr, err := p.Expect("listening on ")
		if err != nil {
			return err
		}
		urls = append(urls, "ws://"+addr+"/ws")
		return nil
	}
	if setup == "single" {
		if err := startNode("node", "--listen", "127.0.0.1:0", "--register-listen="); err != nil {
			return nil, err
		}
	} else {
		reg, err := proc.Start(proc.Spec{Name: "register", CPU: cfg.serverCPU, Log: base + ".register.log",
			Argv: []string{bin, "register", "--listen", "127.0.0.1:0", "--secret", secret, "--log-level", "warn"}})
		if err != nil {
			return nil, err
		}
		procs = append(procs, reg)
		regAddr, err := reg.Expect("register listening on ")
		if err != nil {
			return nil, err
		}
		for i := 1; i <= 3; i++ {
			ip := fmt.Sprintf("127.0.0.%d", i)
			if err := startNode(fmt.Sprint("node", i), "--listen", ip+":0", "--rpc", ip+":0",
				"--register", regAddr, "--secret", secret); err != nil {
				return nil, err
			}
		}
		if err := proc.WaitMesh(ctx, urls); err != nil {
			return nil, err
		}
	}
	argv := []string{bin, "bench", "-url", strings.Join(urls, ","), "-conns", strconv.Itoa(cfg.subscribers),
		"-rate", strconv.FormatFloat(rate, 'f', -1, 64), "-duration", cfg.duration.String(),
		"-size", strconv.Itoa(cfg.size), "-json"}
	if cfg.procs > 0 {
		argv = append(argv, "-procs", strconv.Itoa(cfg.procs))
	}
	if mode == "group" {
		argv = append(argv, "-group", benchGroup)
	}
	argv = append(argv, "bcast")
	out, err := proc.RunClient(ctx, cfg.clientCPU, argv, base+".client.log")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", out, 0o644); err != nil {
		return nil, err
	}
	var rep bench.Report
	if err := json.Unmarshal(out, &rep); err != nil || rep.Broadcast == nil {
		return nil, fmt.Errorf("bad report %q: %v", out, err)
	}
	return &rep, nil
}

// results are the reports by mode, setup and rate.
type results map[string]map[string]map[float64][]*bench.Report

func (r results) add(mode, setup string, rate float64, rep *bench.Report) {
	if r[mode] == nil {
		r[mode] = map[string]map[float64][]*bench.Report{}
	}
	if r[mode][setup] == nil {
		r[mode][setup] = map[float64][]*bench.Report{}
	}
	r[mode][setup][rate] = append(r[mode][setup][rate], rep)
}

// sustained reports whether a run kept up with its rate: every connection
// open, nothing missing, and p99 under cfg.maxP99.
func sustained(cfg config, rep *bench.Report) bool {
	return rep.OK && time.Duration(rep.Latency.P99)*time.Microsecond < cfg.maxP99
}

// passed reports whether every run of a mode, setup and rate was
// sustained (and there was at least one).
func (r results) passed(cfg config, mode, setup string, rate float64) bool {
	reps := r[mode][setup][rate]
	for _, rep := range reps {
		if !sustained(cfg, rep) {
			return false
		}
	}
	return len(reps) > 0
}

func deliveries(r *bench.Report) float64 { return r.Broadcast.DeliveriesPerS }
func p99(r *bench.Report) float64        { return float64(r.Latency.P99) }

// render writes the section that goes between the markers.
func render(cfg config, command, load, revision string, res results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if cfg.quick {
		p("**Quick smoke run**: small sizes that check the harness end to end; not the issue's figures.\n\n")
	}
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Command: `%s`\n", command)
	p("- Code: commit %s\n", revision)
	p("- Machine: %s; load average %s when the run began\n", mdsection.Machine(), load)
	p("- Setups, in the same run: **cluster** = a register and three nodes (`wsgate serve --app broadcast` on 127.0.0.1, .2, .3), subscribers spread evenly, the publisher on the first node; **single** = one node alone with every subscriber. Servers `taskset -c %s`, bench client `taskset -c %s`; loopback\n",
		cfg.serverCPU, cfg.clientCPU)
	p("- Load: %d subscribers, messages of %d bytes published for %v at each rate in turn until a setup fails to sustain it (a connection error, a missing delivery, or p99 above %v); modes: all = SendToAll, group = SendToGroup with every subscriber in the group\n",
		cfg.subscribers, cfg.size, cfg.duration, cfg.maxP99)
	p("- Runs: %d per mode, rate and setup; figures are medians. Latency is publish to delivery.\n\n", cfg.runs)
	p("| mode | rate | setup | deliveries/s | p50 | p99 | missing | sustained |\n|---|---:|---|---:|---:|---:|---:|---|\n")
	for _, mode := range cfg.modes {
		for _, rate := range cfg.rates {
			for _, setup := range setups {
				reps := res[mode][setup][rate]
				if len(reps) == 0 {
					continue
				}
				ok := 0
				for _, r := range reps {
					if sustained(cfg, r) {
						ok++
					}
				}
				p("| %s | %g/s | %s | %.0f | %s | %s | %.0f | %d/%d |\n", mode, rate, setup,
					median(reps, deliveries),
					us(median(reps, func(r *bench.Report) float64 { return float64(r.Latency.P50) })),
					us(median(reps, p99)),
					median(reps, func(r *bench.Report) float64 { return float64(r.Broadcast.Missing) }),
					ok, len(reps))
			}
		}
	}
	p("\nCluster / single. Deliveries/s: each setup at the highest rate it sustained (target: at least %.2f). p99: at the highest rate both sustained (target: under %.1f×), and at the lowest.\n\n", targetDeliveries, targetP99)
	for _, mode := range cfg.modes {
		best := map[string]float64{}
		common, lowest := 0.0, 0.0
		for _, rate := range cfg.rates {
			for _, setup := range setups {
				if res.passed(cfg, mode, setup, rate) {
					best[setup] = rate
				}
			}
			if res.passed(cfg, mode, "single", rate) && res.passed(cfg, mode, "cluster", rate) {
				common = rate
				if lowest == 0 {
					lowest = rate
				}
			}
		}
		if best["single"] == 0 || best["cluster"] == 0 || common == 0 {
			p("- %s: no ratio: a setup passed no rate (single up to %g/s, cluster up to %g/s)\n", mode, best["single"], best["cluster"])
			continue
		}
		rd := median(res[mode]["cluster"][best["cluster"]], deliveries) / median(res[mode]["single"][best["single"]], deliveries)
		p99Ratio := func(rate float64) float64 {
			return median(res[mode]["cluster"][rate], p99) / median(res[mode]["single"][rate], p99)
		}
		rp := p99Ratio(common)
		verdict := "met"
		if !(rd >= targetDeliveries && rp < targetP99) {
			verdict = "not met"
		}
		capped := ""
		if best["single"] == cfg.rates[len(cfg.rates)-1] && best["cluster"] == best["single"] {
			capped = " (both passed the highest rate tried: add higher -rates to find the capacity)"
		}
		p("- %s: deliveries/s %.2f (single up to %g/s, cluster up to %g/s)%s; p99 %.2f× at %g/s (%.2f× at %g/s) — target %s\n",
			mode, rd, best["single"], best["cluster"], capped, rp, common, p99Ratio(lowest), lowest, verdict)
	}
	p("\nRaw reports: `%s/` (one JSON file per run, with the servers' logs).\n", filepath.ToSlash(cfg.outDir))
	return b.String()
}

func median(reps []*bench.Report, f func(*bench.Report) float64) float64 {
	v := make([]float64, 0, len(reps))
	for _, r := range reps {
		v = append(v, f(r))
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// us formats microseconds as µs or ms.
func us(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}
