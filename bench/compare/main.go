// Command compare runs the same bench workloads against wsgate and the
// comparison peers (bench/peers), one server after another, with the server
// pinned to one core and the bench client to another, and writes a table of
// medians into BENCHMARKS.md. Run it from the repository root:
//
//	go run ./bench/compare          # full comparison, 3 runs per workload
//	go run ./bench/compare -quick   # smoke run: 500 connections, ~1 minute
//
// Every run starts a fresh server on a new loopback port and keeps the bench
// client's JSON report in bench/out/.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/bench/internal/mdsection"
)

// config holds the flags; the defaults are the full comparison.
type config struct {
	runs       int           // runs of every workload per server; default 3
	quick      bool          // smoke sizes and durations
	servers    []string      // wsgate and peer names; default all, the reference peers included
	workloads  []string      // workload keys; default all
	stormRate  float64       // connects/s asked by the storm workload; default 10000
	idleConns  int           // conns workload; default 19000
	echoConns  int           // echo workload; default 10000
	bcastConns int           // bcast subscribers; default 10000
	echoRate   float64       // open-loop echo, messages/s in all; default 40000
	duration   time.Duration // echo and bcast window; default 10s
	idleHold   time.Duration // conns window; default 2s
	settle     time.Duration // conns wait before sampling RSS; default 5s
	bcastRates []float64     // publish rates tried in rising order; default 5,10,20,50,100
	procs      int           // bench client processes; default 2
	sources    int           // bench source addresses; default 2
	serverCPU  string        // taskset list for servers; default 0
	clientCPU  string        // taskset list for the client; default 1
	portBase   int           // first port; every run takes the next; default 19100
	outDir     string        // raw reports; default bench/out/compare-TIMESTAMP
	markdown   string        // file with the markers; default BENCHMARKS.md
}

// workloadKeys name the workloads, in table order.
var workloadKeys = []string{"idle", "storm", "echo64", "echo1k", "echoOpen", "bcast"}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseFlags(args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 2
	}
	m := machine{desc: mdsection.Machine(), load: mdsection.LoadAverage(), revision: mdsection.Revision()} // before the builds, so that the load is the machine's own
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := newComparison(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	defer os.RemoveAll(c.binDir)
	results, err := c.runAll()
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	command := mdsection.Command("./bench/compare", args)
	table := renderTable(cfg, m, command, time.Now(), results)
	fmt.Print(table)
	if err := mdsection.Write(cfg.markdown, "compare", "", table); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "compare: table written to %s, raw reports in %s\n", cfg.markdown, cfg.outDir)
	return 0
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	servers := fs.String("servers", "wsgate,wsgate-netpoll,nbio,gws,gorilla,netpoll,gnet", "servers to compare: wsgate (its default epoll backend), wsgate-netpoll (--poller netpoll) and bench/peers names (netpoll and gnet are reference points)")
	workloads := fs.String("workloads", strings.Join(workloadKeys, ","), "workloads to run, a subset of "+strings.Join(workloadKeys, ","))
	fs.Float64Var(&cfg.stormRate, "storm-rate", 10000, "storm workload: connections per second asked of the client")
	rates := fs.String("bcast-rates", "", "bcast publish rates (messages/s) tried in rising order; the highest with nothing missing is kept (default 5,10,20,50,100; quick 100). One rate skips the search")
	fs.IntVar(&cfg.runs, "runs", 3, "runs of every workload per server; the table shows medians")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: 500 connections, 2s windows, 1 run unless -runs is given")
	fs.IntVar(&cfg.idleConns, "idle-conns", 19000, "connections held by the idle workload")
	fs.IntVar(&cfg.echoConns, "echo-conns", 10000, "connections of the echo workloads")
	fs.IntVar(&cfg.bcastConns, "bcast-conns", 10000, "subscribers of the bcast workload")
	fs.Float64Var(&cfg.echoRate, "echo-rate", 40000, "open-loop echo: messages/s in all, a load every server sustains, for latency and CPU at equal load")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement window of echo and bcast")
	fs.DurationVar(&cfg.idleHold, "idle-hold", 2*time.Second, "window of the idle workload, after the settle wait")
	fs.DurationVar(&cfg.settle, "settle", 5*time.Second, "idle workload: wait after the last connection before sampling the server")
	fs.IntVar(&cfg.procs, "procs", 2, "bench client processes (one holds about 19,900 sockets)")
	fs.IntVar(&cfg.sources, "sources", 2, "loopback source addresses for the bench client")
	fs.StringVar(&cfg.serverCPU, "server-cpu", "0", "cores for the server (taskset -c)")
	fs.StringVar(&cfg.clientCPU, "client-cpu", "1", "cores for the bench client (taskset -c)")
	fs.IntVar(&cfg.portBase, "port", 19100, "first loopback port; each run takes the next one")
	fs.StringVar(&cfg.outDir, "out", "", "directory for the raw JSON reports and logs (default bench/out/compare-TIMESTAMP)")
	fs.StringVar(&cfg.markdown, "md", "BENCHMARKS.md", "file whose compare markers receive the table")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		quickInt := func(name string, p *int, v int) {
			if !set[name] {
				*p = v
			}
		}
		quickDur := func(name string, p *time.Duration, v time.Duration) {
			if !set[name] {
				*p = v
			}
		}
		quickInt("runs", &cfg.runs, 1)
		quickInt("idle-conns", &cfg.idleConns, 500)
		quickInt("echo-conns", &cfg.echoConns, 500)
		quickInt("bcast-conns", &cfg.bcastConns, 500)
		if !set["echo-rate"] {
			cfg.echoRate = 5000
		}
		quickDur("duration", &cfg.duration, 2*time.Second)
		quickDur("idle-hold", &cfg.idleHold, time.Second)
		quickDur("settle", &cfg.settle, time.Second)
		if *rates == "" {
			*rates = "100"
		}
	}
	if *rates == "" {
		*rates = "5,10,20,50,100"
	}
	for _, r := range strings.Split(*rates, ",") {
		var v float64
		if _, err := fmt.Sscan(strings.TrimSpace(r), &v); err != nil || v <= 0 {
			return cfg, fmt.Errorf("bad -bcast-rates item %q", r)
		}
		if n := len(cfg.bcastRates); n > 0 && v <= cfg.bcastRates[n-1] {
			return cfg, fmt.Errorf("-bcast-rates must rise: %q", *rates)
		}
		cfg.bcastRates = append(cfg.bcastRates, v)
	}
	for _, s := range strings.Split(*servers, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "wsgate", "wsgate-netpoll", "nbio", "gws", "gorilla", "netpoll", "gnet":
			cfg.servers = append(cfg.servers, s)
		default:
			return cfg, fmt.Errorf("unknown server %q (have: wsgate, wsgate-netpoll, nbio, gws, gorilla, netpoll, gnet)", s)
		}
	}
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(workloadKeys, w) {
			return cfg, fmt.Errorf("unknown workload %q (have: %s)", w, strings.Join(workloadKeys, ", "))
		}
		cfg.workloads = append(cfg.workloads, w)
	}
	if cfg.stormRate <= 0 {
		return cfg, fmt.Errorf("-storm-rate must be positive")
	}
	if cfg.echoRate <= 0 {
		return cfg, fmt.Errorf("-echo-rate must be positive")
	}
	if cfg.runs < 1 || cfg.runs > 20 {
		return cfg, fmt.Errorf("-runs must be between 1 and 20")
	}
	if cfg.outDir == "" {
		cfg.outDir = filepath.Join("bench", "out", "compare-"+time.Now().UTC().Format("20060102-150405"))
	}
	return cfg, nil
}
