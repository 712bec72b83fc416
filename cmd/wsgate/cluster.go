package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/rpc"
)

// clusterFlags are the serve flags that place a node in a cluster.
type clusterFlags struct {
	registers      *listValue
	registerListen *string
	secret         secretFlags
	rpc            *string
	advertise      *string
	maxConns       *int
	nodeID         *string
	heartbeat      *time.Duration
	timeout        *time.Duration
	joinTimeout    *time.Duration
	tls            tlsFlags
	discovery      discoveryFlags
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	f := &clusterFlags{
		registers: new(listValue),
		registerListen: fs.String("register-listen", DefaultRegisterAddr,
			`address of the embedded register when -register is not given ("" runs a node with no cluster)`),
		secret:    addSecretFlags(fs),
		rpc:       fs.String("rpc", api.DefaultRPCListen, "address the node-to-node rpc server binds"),
		advertise: fs.String("advertise", "", "rpc address peers dial, if not the bound one (e.g. behind NAT or when binding 0.0.0.0)"),
		maxConns: fs.Int("rpc-max-conns", rpc.DefaultMaxConns,
			"most connections the rpc server, and the embedded register, each hold at once, from peers or not; over it a connection is closed at once (make it a few times the cluster's size)"),
		nodeID:    fs.String("node-id", "", "node id, 1 to 4294967295 (decimal or 0x hex); default random"),
		heartbeat: fs.Duration("heartbeat", register.DefaultHeartbeatInterval, "heartbeat interval with the registers and peers"),
		timeout:   fs.Duration("heartbeat-timeout", register.DefaultHeartbeatTimeout, "a node silent this long leaves the cluster"),
		joinTimeout: fs.Duration("join-timeout", api.DefaultJoinTimeout,
			"at start, wait this long for the first peer list before listening; past it the node listens anyway and /readyz stays 503 until the list comes (negative: do not wait)"),
		tls:       addTLSFlags(fs),
		discovery: addDiscoveryFlags(fs),
	}
	fs.Var(f.registers, "register", "`registers` to join, host:port[,host:port...]; without it the node runs an embedded register on -register-listen")
	return f
}

// options turns the flags into the node id and cluster options; nil
// options mean a node with no cluster. generated reports a secret made up
// here, which the operator needs to let other nodes join.
func (f *clusterFlags) options(from sources) (id api.NodeID, o *api.ClusterOptions, generated bool, err error) {
	if *f.nodeID != "" {
		n, err := strconv.ParseUint(*f.nodeID, 0, 32)
		if err != nil || n == 0 {
			return 0, nil, false, fmt.Errorf("-node-id %q: want 1 to 4294967295", *f.nodeID)
		}
		id = api.NodeID(n)
	}
	registers := f.registers.list()
	if *f.discovery.discovery != "" {
		return f.discoveryOptions(id, registers, from)
	}
	if len(registers) == 0 && *f.registerListen == "" {
		return id, nil, false, nil
	}
	secret, err := f.secret.resolve(from)
	if err != nil {
		return 0, nil, false, err
	}
	o = f.common(secret)
	o.Registers = registers
	if len(registers) == 0 {
		o.EmbeddedRegister = *f.registerListen
	}
	if o.Secret == "" {
		if len(registers) > 0 {
			return 0, nil, false, errors.New("a cluster secret (-secret-file, WSGATE_SECRET or -secret) is required to join a register")
		}
		var b [16]byte
		rand.Read(b[:])
		o.Secret, generated = hex.EncodeToString(b[:]), true
	}
	o.ServerTLS, o.ClientTLS, err = f.tls.configs()
	if err != nil {
		return 0, nil, false, err
	}
	return id, o, generated, nil
}

// common are the cluster options every source of peers shares.
func (f *clusterFlags) common(secret string) *api.ClusterOptions {
	return &api.ClusterOptions{
		Secret:            secret,
		RPCListen:         *f.rpc,
		Advertise:         *f.advertise,
		MaxConns:          *f.maxConns,
		HeartbeatInterval: *f.heartbeat,
		HeartbeatTimeout:  *f.timeout,
		JoinTimeout:       *f.joinTimeout,
	}
}

// discoveryOptions are the cluster options of a node that learns its peers
// from -discovery: no register, and a secret given by the operator, as
// every node must share it.
func (f *clusterFlags) discoveryOptions(id api.NodeID, registers []string, from sources) (api.NodeID, *api.ClusterOptions, bool, error) {
	if len(registers) > 0 {
		return 0, nil, false, errors.New("-discovery and -register both given: give one")
	}
	secret, err := f.secret.resolve(from)
	if err != nil {
		return 0, nil, false, err
	}
	if secret == "" {
		return 0, nil, false, errors.New("-discovery: a cluster secret (-secret-file, WSGATE_SECRET or -secret) is required, the same on every node")
	}
	o := f.common(secret)
	if o.Source, err = f.discovery.source(id, o, from); err != nil {
		return 0, nil, false, err
	}
	if o.ServerTLS, o.ClientTLS, err = f.tls.configs(); err != nil {
		return 0, nil, false, err
	}
	return id, o, false, nil
}

// tlsFlags are the certificate flags of the register and of node rpc.
type tlsFlags struct {
	cert, key, ca *string
}

func addTLSFlags(fs *flag.FlagSet) tlsFlags {
	return tlsFlags{
		cert: fs.String("tls-cert", "", "PEM certificate for register and rpc TLS (with -tls-key)"),
		key:  fs.String("tls-key", "", "PEM private key of -tls-cert"),
		ca:   fs.String("tls-ca", "", "PEM CA bundle: verify peers with it and require their certificates (mutual TLS)"),
	}
}

// configs loads the certificates: server is for what this process serves
// (register, rpc), client for what it dials. Both nil without -tls-cert.
// With -tls-ca, servers require a client certificate signed by it and
// clients verify servers against it; without, clients use the system
// roots.
func (f tlsFlags) configs() (server, client *tls.Config, err error) {
	if *f.cert == "" && *f.key == "" && *f.ca == "" {
		return nil, nil, nil
	}
	if *f.cert == "" || *f.key == "" {
		return nil, nil, errors.New("-tls-cert and -tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(*f.cert, *f.key)
	if err != nil {
		return nil, nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if *f.ca != "" {
		pem, err := os.ReadFile(*f.ca)
		if err != nil {
			return nil, nil, fmt.Errorf("-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("-tls-ca %s: no PEM certificate in it", *f.ca)
		}
		server.ClientCAs, server.ClientAuth = pool, tls.RequireAndVerifyClientCert
		client.RootCAs = pool
	}
	return server, client, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
