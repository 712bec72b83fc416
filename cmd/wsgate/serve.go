package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/poller"
)

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen   = fs.String("listen", poller.DefaultAddr, "address to serve WebSocket and HTTP on")
		path     = fs.String("path", poller.DefaultPath, `WebSocket path ("*" for any)`)
		appName  = fs.String("app", "echo", "built-in application: echo")
		maxConns = fs.Int("max-conns", poller.DefaultMaxConns, "most connections at once")
		maxMsg   = fs.Int64("max-message", 16<<20, "largest message in bytes (close 1009 above)")
		budget   = fs.Int("outbound-budget", poller.DefaultOutboundBudget, "bytes queued per connection before the overflow policy applies")
		ping     = fs.Duration("ping-interval", poller.DefaultPingInterval, "time between pings (negative disables)")
		missed   = fs.Int("max-missed-pongs", poller.DefaultMaxMissedPongs, "unanswered pings before closing")
		idle     = fs.Duration("idle-timeout", 0, "close connections silent this long (0 disables)")
		hsTime   = fs.Duration("handshake-timeout", poller.DefaultHandshakeTimeout, "time allowed for the opening handshake")
		drain    = fs.Duration("drain-timeout", 10*time.Second, "time allowed for closing connections on SIGTERM")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}

	handler, err := builtinApp(*appName)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	files, err := raiseOpenFiles()
	if err != nil {
		log.Warn("cannot raise the open files limit", "err", err)
	}
	srv, err := poller.NewServer(poller.Options{
		Addr:             *listen,
		Path:             *path,
		Handler:          handler,
		MaxConns:         *maxConns,
		MaxMessageSize:   *maxMsg,
		MaxFrameSize:     *maxMsg,
		OutboundBudget:   *budget,
		PingInterval:     *ping,
		MaxMissedPongs:   *missed,
		IdleTimeout:      *idle,
		HandshakeTimeout: *hsTime,
		Logger:           log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 2
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "wsgate serve: %v\n", err)
		return 1
	}
	log.Info("serving", "addr", srv.Addr().String(), "path", *path, "app", *appName, "open_files", files)
	fmt.Fprintf(stdout, "listening on %s\n", srv.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	log.Info("draining", "conns", srv.Len())
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("drain incomplete", "err", err)
	}
	st := srv.Stats()
	log.Info("stopped", "accepted", st.Accepted, "protocol_errors", st.ProtocolErrors, "overflows", st.Overflows)
	return 0
}
