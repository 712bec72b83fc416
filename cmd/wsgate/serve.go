package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/cli"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/register"
)

// joinWait bounds the wait at start for a register's answer: a refused
// secret fails the command; a register that does not answer in time may
// be down, and the node serves and keeps trying.
const joinWait = 5 * time.Second

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate serve", flag.ContinueOnError)
	var (
		listen   = fs.String("listen", poller.DefaultAddr, "address to serve WebSocket and HTTP on")
		path     = fs.String("path", poller.DefaultPath, `WebSocket path ("*" for any)`)
		appName  = fs.String("app", "chat", "built-in application: "+appNames())
		maxConns = fs.Int("max-conns", poller.DefaultMaxConns, "most connections at once")
		perIP    = fs.Int("max-conns-per-ip", 0, "most connections at once from one client address, an IPv6 /64 counting as one (0: no bound; behind a proxy every client shares its address)")
		ipRate   = fs.Float64("connect-rate-per-ip", 0, "most new connections per second from one client address (0: no bound)")
		ipBurst  = fs.Int("connect-burst-per-ip", 0, "new connections one address may open at once before -connect-rate-per-ip paces it (0: one second's worth)")
		msgRate  = fs.Float64("message-rate", 0, "most messages per second from one connection (0: no bound)")
		msgBurst = fs.Int("message-burst", 0, "messages a connection may send at once before -message-rate paces it (0: one second's worth)")
		ratePol  = fs.String("message-rate-policy", "drop", "what a message over -message-rate gets: drop (counted, the connection stays) or close (1008)")
		maxMsg   = fs.Int64("max-message", 16<<20, "largest message in bytes (close 1009 above)")
		budget   = fs.Int("outbound-budget", poller.DefaultOutboundBudget, "bytes queued per connection before the overflow policy applies")
		inbound  = fs.Int64("inbound-budget", poller.DefaultInboundBudget, "bytes all connections together may hold in partial frames and messages; a frame over it closes its connection with 1013 (negative: no bound)")
		ping     = fs.Duration("ping-interval", poller.DefaultPingInterval, "time between pings (negative disables)")
		missed   = fs.Int("max-missed-pongs", poller.DefaultMaxMissedPongs, "unanswered pings before closing")
		idle     = fs.Duration("idle-timeout", 0, "close connections silent this long (0 disables)")
		origins  = fs.String("allowed-origins", "", "origins whose pages may connect, comma-separated host[:port] or scheme://host[:port], \"*\" for any (default: the request's own Host only)")
		msgTime  = fs.Duration("message-timeout", poller.DefaultMessageTimeout, "time allowed from a message's first bytes to its last (negative disables)")
		hsTime   = fs.Duration("handshake-timeout", poller.DefaultHandshakeTimeout, "time allowed for the opening handshake")
		drain    = fs.Duration("drain-timeout", 10*time.Second, "time allowed for closing connections on SIGTERM")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
		metrics  = fs.String("metrics-listen", "", "internal address for /metrics, /healthz and /debug/pprof/, e.g. 127.0.0.1:9100 (empty: off)")
		backend  = fs.String("poller", string(poller.BackendEpoll), "event loop beneath the connections: epoll (our own loops, small idle connections) or netpoll (cloudwego/netpoll)")
		loops    = fs.Int("loops", 0, "epoll event loops (0: one per CPU)")
		compress = fs.Bool("compression", false, "accept permessage-deflate (RFC 7692) when a client offers it, as browsers do; no compression state is kept between messages, and a broadcast is compressed once for all its recipients")
		zThresh  = fs.Int("compression-threshold", poller.DefaultCompressionThreshold, "with --compression, the smallest message in bytes sent compressed")
		zLevel   = fs.Int("compression-level", poller.DefaultCompressionLevel, "with --compression, the compress/flate level: 1 (fastest) to 9 (smallest)")
		inline   = fs.Bool("inline-handlers", false, "run handlers on the event loop's goroutine (poller.Options.InlineHandlers); default: the app's choice, on for echo and broadcast, off for chat")
		cluster  = addClusterFlags(fs)
	)
	help := cli.Usage(fs, "usage: wsgate serve [flags]\n\nruns a gateway node: WebSocket clients on -listen, the built-in -app, and the node's place in a cluster\n")
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	if err := cli.NoArgs(fs.Args()); err != nil {
		return cli.UsageError(stderr, fs.Name(), err)
	}
	nodeID, clusterOpts, generatedSecret, err := cluster.options()
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}

	pollerBackend, err := poller.ParseBackend(*backend)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: --poller %q: want epoll or netpoll\n", *backend)
		return 2
	}
	ratePolicy, err := parseMessageRatePolicy(*ratePol)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	builtin, err := lookupApp(*appName)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	app, page := builtin.new(*path)
	inlineHandlers := builtin.inlineHandlers(fs, *inline)
	files, err := raiseOpenFiles()
	if err != nil {
		log.Warn("cannot raise the open files limit", "err", err)
	}
	if clusterOpts != nil {
		clusterOpts.Logger = log
	}
	gw, err := api.NewGateway(api.Options{NodeID: nodeID, Cluster: clusterOpts, Logger: log, Server: poller.Options{
		Addr:                 *listen,
		Path:                 *path,
		HTTPFallback:         page,
		MaxConns:             *maxConns,
		MaxConnsPerIP:        *perIP,
		ConnectRatePerIP:     *ipRate,
		ConnectBurstPerIP:    *ipBurst,
		MessageRate:          *msgRate,
		MessageBurst:         *msgBurst,
		MessageRatePolicy:    ratePolicy,
		MaxMessageSize:       *maxMsg,
		MaxFrameSize:         *maxMsg,
		OutboundBudget:       *budget,
		InboundBudget:        *inbound,
		PingInterval:         *ping,
		MaxMissedPongs:       *missed,
		IdleTimeout:          *idle,
		HandshakeTimeout:     *hsTime,
		MessageTimeout:       *msgTime,
		AllowedOrigins:       splitList(*origins),
		Compression:          *compress,
		CompressionThreshold: *zThresh,
		CompressionLevel:     *zLevel,
		InlineHandlers:       inlineHandlers,
		Backend:              pollerBackend,
		Loops:                *loops,
	}}, app)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n%s", err, addrInUseHint(err, clusterOpts))
		return 2
	}
	stopMetrics, err := serveMetrics(*metrics, gw, log, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 1
	}
	defer stopMetrics()
	if err := gw.Start(); err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n%s", err, addrInUseHint(err, clusterOpts))
		return 1
	}
	if clusterOpts != nil {
		warnPlaintext(log, "rpc", gw.RPCAddr().String(), clusterOpts.ServerTLS != nil)
		if addr := gw.RegisterAddr(); addr != nil {
			warnPlaintext(log, "the embedded register", addr.String(), clusterOpts.ServerTLS != nil)
		}
	}
	if clusterOpts != nil && len(clusterOpts.Registers) > 0 {
		// A wrong secret is a mistake to report at once, not a lone node
		// serving and retrying forever.
		ctx, cancel := context.WithTimeout(context.Background(), joinWait)
		err := gw.Joined(ctx)
		cancel()
		if errors.Is(err, register.ErrSecretRefused) {
			fmt.Fprintf(stderr, "wsgate serve: %v: the cluster secret (-secret-file, WSGATE_SECRET or -secret) must be the register's\n", err)
			sctx, scancel := context.WithTimeout(context.Background(), *drain)
			gw.Shutdown(sctx)
			scancel()
			return 1
		}
	}
	log.Info("serving", "addr", gw.Addr().String(), "path", *path, "app", *appName, "poller", *backend, "compression", *compress, "open_files", files, "node", gw.NodeID().String())
	fmt.Fprintf(stdout, "listening on %s\n", gw.Addr())
	if *path != "*" {
		fmt.Fprintf(stdout, "WebSocket at ws://%s%s\n", gw.Addr(), *path)
	}
	if page != nil {
		fmt.Fprintf(stdout, "open http://%s/ in a browser\n", gw.Addr())
	}
	if clusterOpts != nil {
		fmt.Fprintf(stdout, "node %s, rpc on %s\n", gw.NodeID(), gw.RPCAddr())
		if addr := gw.RegisterAddr(); addr != nil {
			fmt.Fprintf(stdout, "register on %s\n", addr)
		}
		if generatedSecret {
			// Printed once, so that other nodes can join this one's register.
			fmt.Fprintf(stdout, "cluster secret (generated; pass -secret to choose one): %s\n", clusterOpts.Secret)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	log.Info("draining", "conns", gw.Stats().Conns)
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil {
		log.Warn("drain incomplete", "err", err)
	}
	st := gw.Stats()
	log.Info("stopped", "accepted", st.Accepted, "protocol_errors", st.ProtocolErrors, "overflows", st.Overflows)
	return 0
}

// inlineHandlers says whether the app's handlers run inline: its own
// choice, unless the command line gave --inline-handlers (whose value is v).
func (b builtinApp) inlineHandlers(fs *flag.FlagSet, v bool) bool {
	if flagGiven(fs, "inline-handlers") {
		return v
	}
	return b.inline
}

// flagGiven reports whether the command line set the named flag, so that a
// flag whose default depends on other flags can tell "not given" from its
// zero value.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
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
	return "  the address is taken, perhaps by another wsgate: choose another with --listen (WebSocket), --rpc or --metrics-listen\n"
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
