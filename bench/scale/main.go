// Command scale measures the cluster at scale on one machine: it checks
// that the run fits (memory, file limits, ephemeral ports), starts a
// register and N gateway nodes (--app broadcast, each on a loopback address
// of its own, pinned to no core), opens C connections spread over them with
// `wsgate bench`, and runs the cluster workloads against every connection:
//
//   - all: the connections are held idle while the nodes' memory, the
//     kernel's slab and the cluster's idle CPU are read, then one SendToAll
//     from a connection-less api.Client reaches each of them;
//   - group: the same through SendToGroup, every connection in one group
//     whose members are on every node;
//   - uid: the same through SendToUIDs, users with clients on every node;
//   - churn: SendToAll at -churn-rate messages/s through the window while
//     1% of the connections a second close and reconnect (bench -churn 1);
//   - membership: with no connection open, the idle CPU of the register
//     and the mesh, then how long every node takes to see a node killed
//     (SIGKILL), a node joining, a node frozen (SIGSTOP) and thawed.
//
// Each workload opens its connections anew; everything started is stopped
// by pid at the end (and dies with this program if it is killed). Run it
// from the repository root:
//
//	go run ./bench/scale -nodes 5 -conns 10000
//	go run ./bench/scale -nodes 52 -conns 1000000 -markdown BENCHMARKS.md
//
// With -markdown the step's row goes into the file's scale table (a row per
// nodes × connections, replaced when run again). Raw reports and logs go to
// bench/out/.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
	"github.com/wsgate/wsgate/bench/internal/proc"
)

// maxNodes bounds -nodes: node i listens on 127.0.(1+i/254).(1+i%254).
const maxNodes = 254 * 8

// workloads are the ones this command knows, in the order they run.
var workloads = []string{"all", "group", "uid", "churn", "membership"}

type config struct {
	nodes       int
	conns       int
	connectRate float64
	hold        time.Duration
	workloads   []string
	users       int
	churnRate   float64
	grace       time.Duration // churn: 0 derives it from conns (churnGrace)
	size        int
	nodeArgs    []string
	regArgs     []string
	nodeEnv     []string
	clientArgs  []string
	outDir      string
	markdown    string
	checkOnly   bool
	from        []string // step.json files to write into -markdown instead of running
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return 2
	}
	if len(cfg.from) > 0 {
		if err := writeSaved(cfg.markdown, cfg.from); err != nil {
			fmt.Fprintf(os.Stderr, "scale: %v\n", err)
			return 1
		}
		return 0
	}
	m, err := readMachine()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return 1
	}
	if err := m.check(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "scale: %d connections on %d nodes need about %s; %s available\n",
		cfg.conns, cfg.nodes, gib(memoryNeeded(cfg)), gib(m.memAvailable))
	if cfg.checkOnly {
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return 1
	}
	load, revision := mdsection.LoadAverage(), mdsection.Revision()
	bin, err := proc.BuildWsgate(ctx, cfg.outDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v", err)
		return 1
	}
	st := &step{
		Nodes: cfg.nodes, Conns: cfg.conns, ConnectRate: cfg.connectRate,
		Command: mdsection.Command("./bench/scale", args), Revision: revision,
		Machine: mdsection.Machine(), Load: load, Began: time.Now().UTC(),
	}
	err = runStep(ctx, cfg, bin, st)
	if b, jerr := json.MarshalIndent(st, "", "  "); jerr == nil {
		os.WriteFile(filepath.Join(cfg.outDir, "step.json"), append(b, '\n'), 0o644)
	}
	fmt.Print(st.text())
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return 1
	}
	if cfg.markdown != "" {
		if err := writeMarkdown(cfg.markdown, st); err != nil {
			fmt.Fprintf(os.Stderr, "scale: %v\n", err)
			return 1
		}
	}
	if !st.ok() {
		return 1
	}
	return 0
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	var cfg config
	var wl, nodeArgs, regArgs, nodeEnv, clientArgs string
	fs.IntVar(&cfg.nodes, "nodes", 5, "gateway nodes")
	fs.IntVar(&cfg.conns, "conns", 10000, "connections in all, spread evenly over the nodes")
	fs.Float64Var(&cfg.connectRate, "connect-rate", 5000, "new connections per second in all")
	fs.DurationVar(&cfg.hold, "hold", 15*time.Second, "all: how long every connection is held idle before the SendToAll (the idle figures are read in it)")
	fs.StringVar(&wl, "workloads", strings.Join(workloads, ","), "workloads to run, among: "+strings.Join(workloads, ", ")+" (always in that order)")
	fs.IntVar(&cfg.users, "users", 0, "uid: users, each with clients on every node (0: one per 10 connections)")
	fs.IntVar(&cfg.size, "size", 64, "message size in bytes")
	fs.Float64Var(&cfg.churnRate, "churn-rate", 10, "churn: messages/s published during the window (each to every connection: lower it at hundreds of thousands)")
	fs.DurationVar(&cfg.grace, "churn-grace", 0, "churn: how long a message may take to reach every connection (0: 1s + 40µs per connection, above the last delivery of one SendToAll at every step in BENCHMARKS.md)")
	fs.StringVar(&regArgs, "register-args", "", "more `arguments` for the register's wsgate register, space-separated (e.g. \"--heartbeat-timeout 10s\")")
	fs.StringVar(&nodeArgs, "node-args", "", "more `arguments` for every node's wsgate serve, space-separated (e.g. \"--poller netpoll\")")
	fs.StringVar(&nodeEnv, "node-env", "", "environment `variables` for every node, space-separated (e.g. \"GOMAXPROCS=1\")")
	fs.StringVar(&clientArgs, "client-args", "", "more `arguments` for every wsgate bench client, space-separated (e.g. \"-sources -1\")")
	fs.StringVar(&cfg.outDir, "out", "", "directory for reports and logs (default bench/out/scale-NxC-TIME)")
	fs.StringVar(&cfg.markdown, "markdown", "", "write the step's row into the scale table of this Markdown `file` (e.g. BENCHMARKS.md)")
	fs.BoolVar(&cfg.checkOnly, "check", false, "only check whether the run fits on this machine")
	var from string
	fs.StringVar(&from, "from", "", "instead of running, write the steps saved in these step.json `files` (comma-separated; later ones add their workloads to earlier ones of the same step) into -markdown")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if from != "" {
		cfg.from = strings.Split(from, ",")
		if cfg.markdown == "" {
			return cfg, fmt.Errorf("-from needs -markdown")
		}
		return cfg, nil
	}
	switch {
	case cfg.nodes < 1:
		return cfg, fmt.Errorf("-nodes must be at least 1")
	case cfg.conns < cfg.nodes:
		return cfg, fmt.Errorf("-conns must be at least -nodes")
	case cfg.connectRate <= 0:
		return cfg, fmt.Errorf("-connect-rate must be above 0")
	case cfg.hold < 10*time.Second:
		return cfg, fmt.Errorf("-hold must be at least 10s (the idle figures take 8s to read)")
	case cfg.size < 16:
		return cfg, fmt.Errorf("-size must be at least 16")
	case cfg.churnRate <= 0:
		return cfg, fmt.Errorf("-churn-rate must be above 0")
	}
	for _, w := range strings.Split(wl, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if !slices.Contains(workloads, w) {
			return cfg, fmt.Errorf("unknown workload %q (have: %s)", w, strings.Join(workloads, ", "))
		}
		cfg.workloads = append(cfg.workloads, w)
	}
	if len(cfg.workloads) == 0 {
		return cfg, fmt.Errorf("-workloads names none")
	}
	// membership changes the cluster, so it goes last.
	slices.SortFunc(cfg.workloads, func(a, b string) int { return slices.Index(workloads, a) - slices.Index(workloads, b) })
	if slices.Contains(cfg.workloads, "membership") && cfg.nodes < 3 {
		return cfg, fmt.Errorf("membership needs -nodes 3 or more")
	}
	if cfg.users <= 0 {
		cfg.users = max(1, cfg.conns/10)
	}
	cfg.nodeArgs, cfg.nodeEnv, cfg.clientArgs = strings.Fields(nodeArgs), strings.Fields(nodeEnv), strings.Fields(clientArgs)
	cfg.regArgs = strings.Fields(regArgs)
	if cfg.outDir == "" {
		cfg.outDir = filepath.Join("bench", "out", fmt.Sprintf("scale-%dx%d-%s", cfg.nodes, cfg.conns, time.Now().UTC().Format("20060102-150405")))
	}
	return cfg, nil
}

// newSecret makes the run's cluster secret.
func newSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// churnGrace is how long a churn run lets a message take to reach every
// connection: -churn-grace, or derived from the connections, since the last
// delivery of one SendToAll grows with them (0.2 s at 19,000 and 39 s at a
// million on 2 cores: BENCHMARKS.md).
func (c *config) churnGrace() time.Duration {
	if c.grace > 0 {
		return c.grace
	}
	return time.Second + time.Duration(c.conns)*40*time.Microsecond
}
