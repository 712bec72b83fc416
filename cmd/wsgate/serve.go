package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/cli"
	"github.com/wsgate/wsgate/internal/httpapi"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/wsproto"
)

// Drain defaults: clients are closed over drainWindow, and the whole drain
// (leaving the register, the closes, their handshakes, the last OnClose)
// must fit in drainTimeout. A supervisor's stop timeout (systemd's
// TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds) must exceed
// drainTimeout: see deploy/.
const (
	defaultDrainWindow  = 10 * time.Second
	defaultDrainTimeout = 15 * time.Second
)

// serveFlags are the flags of wsgate serve. They are also the keys of its
// config file and the names of its WSGATE_* variables (config.go), so a
// flag added here is configurable everywhere at once.
type serveFlags struct {
	listen, path, appName *string
	maxConns, perIP       *int
	ipRate                *float64
	ipBurst               *int
	msgRate               *float64
	msgBurst              *int
	ratePol               *string
	maxMsg                *int64
	budget                *int
	inbound               *int64
	ping                  *time.Duration
	missed                *int
	idle                  *time.Duration
	origins               *listValue
	msgTime, hsTime       *time.Duration
	drain, window         *time.Duration
	logs                  logFlags
	metrics               *string
	api                   apiFlags
	backend               *string
	loops                 *int
	compress              *bool
	zThresh               *int
	zLevel                *int
	inline                *autoBool
	cluster               *clusterFlags
}

// newServeFlags defines serve's flags on a fresh FlagSet.
func newServeFlags() (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet("wsgate serve", flag.ContinueOnError)
	f := &serveFlags{
		listen:   fs.String("listen", poller.DefaultAddr, "address to serve WebSocket and HTTP on"),
		path:     fs.String("path", poller.DefaultPath, `WebSocket path ("*" for any)`),
		appName:  fs.String("app", "chat", "built-in application: "+appNames()),
		maxConns: fs.Int("max-conns", poller.DefaultMaxConns, "most connections at once"),
		perIP:    fs.Int("max-conns-per-ip", 0, "most connections at once from one client address, an IPv6 /64 counting as one (0: no bound; behind a proxy every client shares its address)"),
		ipRate:   fs.Float64("connect-rate-per-ip", 0, "most new connections per second from one client address (0: no bound)"),
		ipBurst:  fs.Int("connect-burst-per-ip", 0, "new connections one address may open at once before -connect-rate-per-ip paces it (0: one second's worth)"),
		msgRate:  fs.Float64("message-rate", 0, "most messages per second from one connection (0: no bound)"),
		msgBurst: fs.Int("message-burst", 0, "messages a connection may send at once before -message-rate paces it (0: one second's worth)"),
		ratePol:  fs.String("message-rate-policy", "drop", "what a message over -message-rate gets: drop (counted, the connection stays) or close (1008)"),
		maxMsg:   fs.Int64("max-message", 16<<20, "largest message in bytes (close 1009 above)"),
		budget:   fs.Int("outbound-budget", poller.DefaultOutboundBudget, "bytes queued per connection before the overflow policy applies"),
		inbound:  fs.Int64("inbound-budget", poller.DefaultInboundBudget, "bytes all connections together may hold in partial frames and messages; a frame over it closes its connection with 1013 (negative: no bound)"),
		ping:     fs.Duration("ping-interval", poller.DefaultPingInterval, "time between pings (negative disables)"),
		missed:   fs.Int("max-missed-pongs", poller.DefaultMaxMissedPongs, "unanswered pings before closing"),
		idle:     fs.Duration("idle-timeout", 0, "close connections silent this long (0 disables)"),
		origins:  new(listValue),
		msgTime:  fs.Duration("message-timeout", poller.DefaultMessageTimeout, "time allowed from a message's first bytes to its last (negative disables)"),
		hsTime:   fs.Duration("handshake-timeout", poller.DefaultHandshakeTimeout, "time allowed for the opening handshake"),
		drain:    fs.Duration("drain-timeout", defaultDrainTimeout, "time allowed for the whole drain on SIGTERM; connections still open then are dropped"),
		window:   fs.Duration("drain-window", defaultDrainWindow, "on SIGTERM, close the clients spread evenly over this long, so they do not all reconnect elsewhere at once (0: all at once; cut to fit -drain-timeout)"),
		logs:     addLogFlags(fs),
		metrics:  fs.String("metrics-listen", "", "internal address for /metrics, /healthz and /debug/pprof/, e.g. 127.0.0.1:9100 (empty: off)"),
		api:      addAPIFlags(fs),
		backend:  fs.String("poller", string(poller.BackendEpoll), "event loop beneath the connections: epoll (our own loops, small idle connections) or netpoll (cloudwego/netpoll)"),
		loops:    fs.Int("loops", 0, "epoll event loops (0: one per CPU)"),
		compress: fs.Bool("compression", false, "accept permessage-deflate (RFC 7692) when a client offers it, as browsers do; no compression state is kept between messages, and a broadcast is compressed once for all its recipients"),
		zThresh:  fs.Int("compression-threshold", poller.DefaultCompressionThreshold, "with --compression, the smallest message in bytes sent compressed"),
		zLevel:   fs.Int("compression-level", poller.DefaultCompressionLevel, "with --compression, the compress/flate level: 1 (fastest) to 9 (smallest)"),
		inline:   new(autoBool),
		cluster:  addClusterFlags(fs),
	}
	fs.Var(f.origins, "allowed-origins", "`origins` whose pages may connect, comma-separated host[:port] or scheme://host[:port], \"*\" for any (default: the request's own Host only)")
	fs.Var(f.inline, "inline-handlers", "run handlers on the event loop's goroutine (poller.Options.InlineHandlers): true, false, or auto, the app's choice (on for echo and broadcast, off for chat)")
	addConfigFlag(fs)
	return fs, f
}

// serveConfig is what serve's flags come to once checked: everything the
// node needs, nothing yet bound or listening.
type serveConfig struct {
	out             *output
	nodeID          api.NodeID
	cluster         *api.ClusterOptions // nil: a node with no cluster
	generatedSecret bool
	app             api.Application
	page            func(*wsproto.Request) (int, http.Header, []byte) // nil: none
	server          poller.Options
	api             *httpapi.Options // nil: no HTTP Api
}

// check turns the flags into the node's configuration, or says which flag
// is wrong. It is all the checking serve does before it binds, and all
// that wsgate config check does. from says where each flag was set; out
// is where the node's output will go.
func (f *serveFlags) check(from sources, out io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	var err error
	if c.nodeID, c.cluster, c.generatedSecret, err = f.cluster.options(from); err != nil {
		return nil, err
	}
	if c.out, err = f.logs.newOutput(out); err != nil {
		return nil, err
	}
	pollerBackend, err := poller.ParseBackend(*f.backend)
	if err != nil {
		return nil, fmt.Errorf("-poller %q: want epoll or netpoll", *f.backend)
	}
	ratePolicy, err := parseMessageRatePolicy(*f.ratePol)
	if err != nil {
		return nil, err
	}
	if c.api, err = f.api.options(); err != nil {
		return nil, err
	}
	builtin, err := lookupApp(*f.appName)
	if err != nil {
		return nil, err
	}
	c.app, c.page = builtin.new(*f.path)
	if c.cluster != nil {
		c.cluster.Logger = c.out.log
	}
	c.server = poller.Options{
		Addr:                 *f.listen,
		Path:                 *f.path,
		HTTPFallback:         c.page,
		MaxConns:             *f.maxConns,
		MaxConnsPerIP:        *f.perIP,
		ConnectRatePerIP:     *f.ipRate,
		ConnectBurstPerIP:    *f.ipBurst,
		MessageRate:          *f.msgRate,
		MessageBurst:         *f.msgBurst,
		MessageRatePolicy:    ratePolicy,
		MaxMessageSize:       *f.maxMsg,
		MaxFrameSize:         *f.maxMsg,
		OutboundBudget:       *f.budget,
		InboundBudget:        *f.inbound,
		PingInterval:         *f.ping,
		MaxMissedPongs:       *f.missed,
		IdleTimeout:          *f.idle,
		HandshakeTimeout:     *f.hsTime,
		MessageTimeout:       *f.msgTime,
		AllowedOrigins:       f.origins.list(),
		Compression:          *f.compress,
		CompressionThreshold: *f.zThresh,
		CompressionLevel:     *f.zLevel,
		InlineHandlers:       f.inline.or(builtin.inline),
		Backend:              pollerBackend,
		Loops:                *f.loops,
		DrainWindow:          *f.window,
	}
	return c, nil
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, f := newServeFlags()
	help := cli.Usage(fs, "usage: wsgate serve [flags]\n\nruns a gateway node: WebSocket clients on -listen, the built-in -app, and the node's place in a cluster\n\n"+
		"every flag may also come from the environment, -metrics-listen as WSGATE_METRICS_LISTEN, or from the YAML\n"+
		"file that -config names, metrics-listen: as the key (wsgate config default prints one); flags win over\n"+
		"the environment, which wins over the file. Logs and the listening lines go to stdout.\n")
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	if err := cli.NoArgs(fs.Args()); err != nil {
		return cli.UsageError(stderr, fs.Name(), err)
	}
	from, err := layer(fs, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	cfg, err := f.check(from, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	out, log, clusterOpts := cfg.out, cfg.out.log, cfg.cluster
	logEffective(log, fs, from)
	files, err := raiseOpenFiles()
	if err != nil {
		log.Warn("cannot raise the open files limit", "err", err)
	}
	gw, err := api.NewGateway(api.Options{NodeID: cfg.nodeID, Cluster: clusterOpts, Logger: log, Server: cfg.server}, cfg.app)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n%s", err, addrInUseHint(err, clusterOpts))
		return 2
	}
	stopMetrics, err := serveMetrics(*f.metrics, gw, out)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 1
	}
	defer stopMetrics()
	if err := gw.Start(); err != nil {
		// A wrong secret is a mistake to report at once, not a lone node
		// serving and retrying forever: Start fails on it.
		if errors.Is(err, register.ErrSecretRefused) {
			fmt.Fprintf(stderr, "wsgate serve: %v: the cluster secret (-secret-file, WSGATE_SECRET or -secret) must be the register's\n", err)
			return 1
		}
		// Likewise a node id another live node holds in etcd, or etcd
		// credentials it refuses.
		if errors.Is(err, register.ErrNodeIDTaken) || errors.Is(err, register.ErrCredentialsRefused) {
			fmt.Fprintf(stderr, "wsgate serve: -discovery: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "wsgate serve: %v\n%s", err, addrInUseHint(err, clusterOpts))
		return 1
	}
	if clusterOpts != nil {
		warnPlaintext(log, "rpc", gw.RPCAddr().String(), clusterOpts.ServerTLS != nil)
		if addr := gw.RegisterAddr(); addr != nil {
			warnPlaintext(log, "the embedded register", addr.String(), clusterOpts.ServerTLS != nil)
		}
	}
	if *f.window > 0 && *f.window >= *f.drain {
		log.Warn("-drain-window is not shorter than -drain-timeout: the closes will be squeezed into nine tenths of the timeout",
			"drain_window", f.window.String(), "drain_timeout", f.drain.String())
	}
	// Catch the signals before saying where the node listens: whoever
	// waits for that line may stop the node at once, and should see it
	// drain, not die.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	stopAPI, err := serveAPI(*f.api.listen, cfg.api, gw.Api(), out)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		gw.Shutdown(context.Background())
		return 1
	}
	log.Info("serving", "addr", gw.Addr().String(), "path", *f.path, "app", *f.appName, "poller", *f.backend, "compression", *f.compress, "open_files", files, "node", gw.NodeID().String())
	out.announce("listening on "+gw.Addr().String(), "addr", gw.Addr().String())
	if *f.path != "*" {
		url := "ws://" + gw.Addr().String() + *f.path
		out.announce("WebSocket at "+url, "url", url)
	}
	if cfg.page != nil {
		url := "http://" + gw.Addr().String() + "/"
		out.announce("open "+url+" in a browser", "url", url)
	}
	if clusterOpts != nil {
		out.announce(fmt.Sprintf("node %s, rpc on %s", gw.NodeID(), gw.RPCAddr()), "node", gw.NodeID().String(), "rpc", gw.RPCAddr().String())
		if addr := gw.RegisterAddr(); addr != nil {
			out.announce("register on "+addr.String(), "addr", addr.String())
		}
		if cfg.generatedSecret {
			// Announced once, so that other nodes can join this one's
			// register; the effective config redacts it like any secret.
			out.announce("cluster secret (generated; pass -secret to choose one): "+clusterOpts.Secret, "secret", clusterOpts.Secret)
		}
	}

	<-sig
	// No Api call starts once the node drains.
	stopAPI()
	// Shutdown leaves the register first (peers stop routing here, /readyz
	// turns 503), then closes the clients over -drain-window.
	log.Info("draining", "conns", gw.Stats().Conns, "window", f.window.String(), "timeout", f.drain.String())
	ctx, cancel := context.WithTimeout(context.Background(), *f.drain)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil {
		log.Warn("drain incomplete", "err", err)
	}
	st := gw.Stats()
	log.Info("stopped", "accepted", st.Accepted, "protocol_errors", st.ProtocolErrors, "overflows", st.Overflows)
	return 0
}

// addrInUseHint says what to do when an address is taken, most often by a
// node already running here: "" for other errors.
func addrInUseHint(err error, cluster *api.ClusterOptions) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	if cluster != nil && cluster.EmbeddedRegister != "" && strings.Contains(err.Error(), "register") {
		return fmt.Sprintf("  another node's register runs on %s: join it with --register %s (and its secret), or run alone with --register-listen=\n",
			cluster.EmbeddedRegister, cluster.EmbeddedRegister)
	}
	return "  the address is taken, perhaps by another wsgate: choose another with --listen (WebSocket), --rpc, --metrics-listen or --api-listen\n"
}

// parseMessageRatePolicy reads -message-rate-policy.
func parseMessageRatePolicy(s string) (poller.MessageRatePolicy, error) {
	switch s {
	case "drop":
		return poller.MessageRateDrop, nil
	case "close":
		return poller.MessageRateClose, nil
	}
	return 0, fmt.Errorf("-message-rate-policy %q: want drop or close", s)
}
