package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsgate/wsgate/internal/cli"
	"github.com/wsgate/wsgate/register"
)

// DefaultRegisterAddr is where a register listens unless told otherwise, and
// where a node without --register runs its embedded one.
const DefaultRegisterAddr = "127.0.0.1:1238"

func registerCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate register", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", DefaultRegisterAddr, "address to serve the register on")
		secretSrc = addSecretFlags(fs)
		heartbeat = fs.Duration("heartbeat", register.DefaultHeartbeatInterval, "heartbeat interval")
		timeout   = fs.Duration("heartbeat-timeout", register.DefaultHeartbeatTimeout, "a node silent this long leaves the cluster")
		maxConns  = fs.Int("max-conns", register.DefaultMaxConns, "most connections held at once, from nodes or not; over it a connection is closed at once (make it a few times the cluster's size)")
		logs      = addLogFlags(fs)
		tlsOpts   = addTLSFlags(fs)
	)
	help := cli.Usage(fs, "usage: wsgate register [flags]\n\nruns a cluster register: the nodes that share its secret find each other through it; logs and the listening line go to stdout\n")
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	if err := cli.NoArgs(fs.Args()); err != nil {
		return cli.UsageError(stderr, fs.Name(), err)
	}
	secret, err := secretSrc.resolve(commandLine(fs))
	if err != nil {
		fmt.Fprintf(stderr, "wsgate register: %v\n", err)
		return 2
	}
	if secret == "" {
		// register.NewServer would say ServerOptions.Secret; on the command
		// line the secret comes from these.
		fmt.Fprintln(stderr, "wsgate register: a cluster secret is required: -secret-file, WSGATE_SECRET or -secret")
		return 2
	}
	serverTLS, _, err := tlsOpts.configs()
	if err != nil {
		fmt.Fprintf(stderr, "wsgate register: %v\n", err)
		return 2
	}
	out, err := logs.newOutput(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate register: %v\n", err)
		return 2
	}
	log := out.log
	warnPlaintext(log, "the register", *listen, serverTLS != nil)
	srv, err := register.NewServer(register.ServerOptions{
		Secret:            secret,
		HeartbeatInterval: *heartbeat,
		HeartbeatTimeout:  *timeout,
		MaxConns:          *maxConns,
		TLS:               serverTLS,
		Logger:            log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "wsgate register: %v\n", err)
		return 2
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "wsgate register: %v\n", err)
		return 1
	}
	// Catch the signals before saying where it listens: whoever waits
	// for that line may stop it at once.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	out.announce("register listening on "+lis.Addr().String(), "addr", lis.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case <-sig:
		srv.GracefulStop()
		return 0
	case err := <-done:
		if err != nil {
			log.Error("register stopped", "err", err)
			return 1
		}
		return 0
	}
}
