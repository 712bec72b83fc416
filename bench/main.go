// Package bench is the load generator behind `wsgate bench`: it opens many
// WebSocket connections to one or more ws:// endpoints and measures the
// connect rate, echo round trips or broadcast fan-out, with latency from
// HDR histograms. Connections live on epoll loops with no goroutine and no
// read buffer per connection, spread over worker processes and loopback
// source addresses so that the client is never the bottleneck.
package bench

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/internal/cli"
)

// connsPerProc is how many connections one worker process takes when
// -procs is automatic; a process may open about 20,000 files.
const connsPerProc = 19000

// connsPerSource is how many connections to one target one source address
// takes when -sources is automatic. The ephemeral port range holds about
// 28,000, but connect(2) looks for a free port in one half of it (the even
// ports) before the other: past ~14,000 connections between one pair of
// addresses every connect scans that full half, and the connect rate falls
// below 3,000/s with handshakes queueing for hundreds of milliseconds.
const connsPerSource = 10000

// Options configure a run. Main fills them from flags; the defaults are the
// flag defaults.
type Options struct {
	Workload         string        // conns, echo or bcast
	URLs             []string      // targets, used round robin
	Conns            int           // connections (bcast: subscribers); default 100
	ConnectRate      float64       // new connections per second in all; default 5000, 0 is unpaced
	Duration         time.Duration // measurement window; default 10s
	Size             int           // message size in bytes, at least 16; default 64
	Rate             float64       // echo: messages/s in all, 0 for closed loop; bcast: publishes/s; default 0 (bcast 10)
	Messages         int64         // most messages sent in all; 0 is no limit
	Procs            int           // worker processes; 0 is ceil(conns/19000)
	Sources          int           // source addresses 127.0.0.2...; 0 is automatic, -1 is none
	Loops            int           // event loops per worker; 0 is the number of CPUs
	HandshakeTimeout time.Duration // default 10s
	Drain            time.Duration // wait for answers after the window; default 5s
	Settle           time.Duration // wait after every connection is open before the window; default 0
	ServerPID        int           // sample this process's RSS and CPU; 0 is none
	ServerMetrics    string        // or sample the server's Prometheus metrics at this URL (RSS, CPU, goroutines); "" is none
	Group            string        // bcast: add ?group=Group to every URL (publish to a group); default none
	APIRegister      string        // bcast: publish through an api.Client that joins this register; "" publishes from a connection
	APISecret        string        // the cluster secret for APIRegister; default env WSGATE_SECRET
	UIDs             int           // bcast with APIRegister: connect as users u0...u(UIDs-1) and publish with SendToUIDs to all of them; 0 is none
	Churn            float64       // bcast: percent of the connections closed and dialed again per second of the window; 0 is none
	ChurnGrace       time.Duration // bcast with Churn: how long a message may be in flight (spans.go); default 1s
	Compression      bool          // offer permessage-deflate as browsers do, and inflate what the server compressed
	JSON             bool          // print the report as JSON
	HTML             string        // also write the report with plots to this file; "" is none
}

// writeHTMLFile writes the report's page to path.
func writeHTMLFile(rep *Report, path, command string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := rep.WriteHTML(f, command); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// Main runs `wsgate bench` with args (the arguments after "bench") and
// returns the exit code: 0 when every connection opened and every message
// arrived, 1 on errors or missing deliveries, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate bench", flag.ContinueOnError)
	var o Options
	var urls stringList
	var worker string
	fs.Var(&urls, "url", "target `ws://host:port/path`; repeat or separate with commas to spread connections over several (default ws://127.0.0.1:8080/ws)")
	fs.IntVar(&o.Conns, "conns", 100, "connections (bcast: subscribers)")
	fs.Float64Var(&o.ConnectRate, "connect-rate", 5000, "new connections per second in all (0: as fast as possible)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measurement window")
	fs.IntVar(&o.Size, "size", 64, "message size in bytes (at least 16)")
	o.Rate = -1 // unset: the workload's default
	fs.Var(rateFlag{&o.Rate}, "rate", "echo: `N` messages/s in all, 0 for a closed loop; bcast: N messages/s published (default: echo 0, bcast 10)")
	fs.Int64Var(&o.Messages, "messages", 0, "most messages to send in all (0: bounded by -duration only)")
	fs.IntVar(&o.Procs, "procs", 0, "client processes (0: one per 19000 connections)")
	fs.IntVar(&o.Sources, "sources", 0, "source addresses 127.0.0.2 and up (0: one per 10000 connections to a target, -1: none)")
	fs.IntVar(&o.Loops, "loops", 0, "event loops per process (0: number of CPUs)")
	fs.DurationVar(&o.HandshakeTimeout, "handshake-timeout", 10*time.Second, "fail a connection whose handshake takes longer")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "after the window, wait this long at most for answers in flight")
	fs.DurationVar(&o.Settle, "settle", 0, "after every connection is open, wait this long before the window starts and the server is sampled (lets its memory settle)")
	fs.StringVar(&o.Group, "group", "", "bcast: connect with ?group=`G` added to every URL, so that the server (--app broadcast) publishes to group G instead of to all")
	fs.StringVar(&o.APIRegister, "api-register", "", "bcast: publish with SendToAll (SendToGroup with -group) from a connection-less cluster member that joins the register at `host:port`, instead of from a client connection; the cluster secret comes from WSGATE_SECRET")
	fs.IntVar(&o.UIDs, "uids", 0, "bcast with -api-register: connection i connects with ?uid=u(i mod `N`) (the server binds it), so every user has clients on every -url, and each message is published with SendToUIDs to all N users")
	fs.Float64Var(&o.Churn, "churn", 0, "bcast: close `P` percent of the connections every second of the window (round robin, spread over the second) and dial each again; a re-dialed connection owes only the messages published from -churn-grace after its handshake, a chosen one none published later than -churn-grace before its close")
	fs.BoolVar(&o.Compression, "compression", false, "offer permessage-deflate (as browsers do: client_max_window_bits) and inflate compressed messages; the report counts the bytes on the wire. Messages are sent uncompressed (every message carries JSON-like text after its stamp, so that it compresses as real traffic does)")
	fs.DurationVar(&o.ChurnGrace, "churn-grace", time.Second, "bcast with -churn: the longest a message may take to reach every connection")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "server process to sample for RSS and CPU (0: none)")
	fs.StringVar(&o.ServerMetrics, "server-metrics", "", "instead of -server-pid, sample RSS, CPU and goroutines from the server's Prometheus `URL` (e.g. http://127.0.0.1:9100/metrics, from wsgate serve -metrics-listen)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.HTML, "html", "", "also write the report to this `file` as a page with plots (latency by percentile, connections and messages/s over time)")
	fs.StringVar(&worker, workerFlag, "", "internal: run as a worker process with this configuration")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: wsgate bench [flags] conns|echo|bcast\n\n")
		fmt.Fprintf(w, "  conns  open -conns connections at -connect-rate and hold them for -duration\n")
		fmt.Fprintf(w, "  echo   round trips of -size bytes, closed loop or at -rate messages/s\n")
		fmt.Fprintf(w, "  bcast  one publisher at -rate messages/s, -conns subscribers (server: --app broadcast);\n")
		fmt.Fprintf(w, "         with several -url (the nodes of a cluster) the subscribers are spread over them\n")
		fmt.Fprintf(w, "         and the publisher is on the first; with -churn, connections close and reconnect meanwhile\n\n")
		printFlags(fs, w)
	}
	if code, done := cli.Parse(fs, args, usage, stdout, stderr); done {
		return code
	}
	if worker != "" {
		return workerMain(worker, stderr)
	}
	switch {
	case fs.NArg() == 0:
		return cli.UsageError(stderr, fs.Name(), errors.New("name one workload: conns, echo or bcast"))
	case fs.NArg() > 1:
		// The flags end at the workload; any after it would be ignored.
		return cli.UsageError(stderr, fs.Name(), fmt.Errorf("unexpected argument %q after the workload (flags go before it)", fs.Arg(1)))
	}
	o.Workload = fs.Arg(0)
	o.URLs = urls
	if err := o.complete(); err != nil {
		fmt.Fprintf(stderr, "wsgate bench: %v\n", err)
		return 2
	}
	rep, err := Run(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate bench: %v\n", err)
		return 1
	}
	if o.JSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err == nil && o.HTML != "" {
		err = writeHTMLFile(rep, o.HTML, "wsgate bench "+strings.Join(args, " "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "wsgate bench: %v\n", err)
		return 1
	}
	if !rep.OK {
		return 1
	}
	return 0
}

// complete checks the options and fills in the automatic values.
func (o *Options) complete() error {
	switch o.Workload {
	case "conns", "echo", "bcast":
	default:
		return fmt.Errorf("unknown workload %q (have: conns, echo, bcast)", o.Workload)
	}
	if len(o.URLs) == 0 {
		o.URLs = []string{"ws://127.0.0.1:8080/ws"}
	}
	if o.Group != "" {
		if o.Workload != "bcast" {
			return errors.New("-group applies to bcast only")
		}
		for i, raw := range o.URLs {
			u, err := url.Parse(raw)
			if err != nil {
				return fmt.Errorf("parse url %q: %w", raw, err)
			}
			q := u.Query()
			q.Set("group", o.Group)
			u.RawQuery = q.Encode()
			o.URLs[i] = u.String()
		}
	}
	for _, u := range o.URLs {
		if _, err := ParseTarget(u); err != nil {
			return err
		}
	}
	if o.Conns < 0 || o.Duration <= 0 || o.Size < 0 || o.Messages < 0 || o.ConnectRate < 0 || o.Settle < 0 {
		return errors.New("-conns, -duration, -size, -messages, -connect-rate and -settle must not be negative")
	}
	if o.UIDs < 0 {
		return errors.New("-uids must not be negative")
	}
	if o.UIDs > 0 && (o.APIRegister == "" || o.Group != "") {
		return errors.New("-uids needs -api-register and no -group")
	}
	if o.APIRegister != "" {
		if o.Workload != "bcast" {
			return errors.New("-api-register applies to bcast only")
		}
		if o.APISecret == "" {
			o.APISecret = os.Getenv("WSGATE_SECRET")
		}
		if o.APISecret == "" {
			return errors.New("-api-register needs the cluster secret in WSGATE_SECRET")
		}
	}
	if o.Workload == "bcast" && o.Conns == 0 {
		return errors.New("bcast needs at least one subscriber")
	}
	if o.ServerMetrics != "" {
		if o.ServerPID > 0 {
			return errors.New("-server-pid and -server-metrics name the same figures: give one")
		}
		if u, err := url.Parse(o.ServerMetrics); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-server-metrics %q: want an http:// URL", o.ServerMetrics)
		}
	}
	if o.Rate < 0 {
		o.Rate = 0
		if o.Workload == "bcast" {
			o.Rate = 10
		}
	}
	if o.Workload == "bcast" && o.Rate == 0 {
		return errors.New("bcast needs -rate above 0")
	}
	if err := o.completeChurn(); err != nil {
		return err
	}
	o.Size = max(o.Size, minPayload)
	if o.Procs <= 0 {
		o.Procs = max(1, int(math.Ceil(float64(o.Conns)/connsPerProc)))
	}
	o.Procs = min(o.Procs, max(o.Conns, 1))
	switch {
	case o.Sources == 0:
		if n := o.Conns / len(o.URLs); n > connsPerSource {
			o.Sources = int(math.Ceil(float64(n) / connsPerSource))
		}
	case o.Sources < 0:
		o.Sources = 0
	}
	if o.Loops <= 0 {
		o.Loops = runtime.NumCPU()
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 5 * time.Second
	}
	return nil
}

// completeChurn checks -churn and -churn-grace; the rate is known.
func (o *Options) completeChurn() error {
	if o.Churn == 0 {
		return nil
	}
	if o.Workload != "bcast" {
		return errors.New("-churn applies to bcast only")
	}
	if o.Churn < 0 || o.Churn > 100 {
		return fmt.Errorf("-churn %g: want a percent from 0 to 100", o.Churn)
	}
	if o.ChurnGrace <= 0 {
		o.ChurnGrace = time.Second
	}
	// Every message's publish time is kept (spans.go).
	n := o.Rate * o.Duration.Seconds()
	if o.Messages > 0 {
		n = min(n, float64(o.Messages))
	}
	if n > maxChurnMessages {
		return fmt.Errorf("-churn follows at most %d messages: lower -rate × -duration (%.0f) or set -messages", maxChurnMessages, n)
	}
	return nil
}

// workerMain is the entry point of a worker process: commands on stdin,
// events on stdout, SIGINT stops it like the stop command.
func workerMain(js string, stderr io.Writer) int {
	var cfg WorkerConfig
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintf(stderr, "wsgate bench worker: bad configuration: %v\n", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := runWorker(cfg, os.Stdin, os.Stdout, sig); err != nil {
		fmt.Fprintf(stderr, "wsgate bench worker: %v\n", err)
		return 1
	}
	return 0
}

// stringList is a flag that may be repeated and holds comma-separated items.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*s = append(*s, item)
		}
	}
	return nil
}

// rateFlag is -rate, whose default depends on the workload: unset (-1), it
// shows no default of its own in the help.
type rateFlag struct{ v *float64 }

func (r rateFlag) String() string {
	if r.v == nil || *r.v < 0 {
		return ""
	}
	return strconv.FormatFloat(*r.v, 'g', -1, 64)
}

func (r rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("want a rate of 0 or more, got %q", s)
	}
	*r.v = v
	return nil
}

// printFlags prints the flags' help as PrintDefaults does, leaving out the
// internal one that makes a worker process.
func printFlags(fs *flag.FlagSet, w io.Writer) {
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != workerFlag {
			shown.Var(f.Value, f.Name, f.Usage)
		}
	})
	shown.PrintDefaults()
}
