package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/register"
)

// etcdPasswordFlag holds the etcd password when it comes from
// WSGATE_ETCD_PASSWORD or the config file; on the command line it is
// refused, as the process list would show it.
const etcdPasswordFlag = "etcd-password"

// discoveryFlags choose where a node learns its peers when it is not
// the registers: etcd or a static list.
type discoveryFlags struct {
	discovery    *string
	cert, key    *string
	ca           *string
	username     *string
	password     *secretValue
	passwordFile *string
	ttl          *time.Duration
}

func addDiscoveryFlags(fs *flag.FlagSet) discoveryFlags {
	f := discoveryFlags{
		discovery:    fs.String("discovery", "", "where the node learns its peers instead of registers: etcd://host:2379[,host:2379...]/prefix, or static://id@host:port,... (ids as -node-id, which must be one of them)"),
		cert:         fs.String("etcd-cert", "", "PEM client certificate for etcd (with -etcd-key)"),
		key:          fs.String("etcd-key", "", "PEM private key of -etcd-cert"),
		ca:           fs.String("etcd-ca", "", "PEM CA bundle to verify etcd with (any -etcd-* certificate flag turns on TLS)"),
		username:     fs.String("etcd-username", "", "etcd user, when etcd has auth on; the password comes from -etcd-password-file, "+envName(etcdPasswordFlag)+" or the config file"),
		password:     new(secretValue),
		passwordFile: fs.String("etcd-password-file", "", "file holding the etcd password (surrounding whitespace ignored)"),
		ttl:          fs.Duration("etcd-ttl", 3*time.Second, "etcd lease TTL, whole seconds: a node that stops renewing it leaves every peer list within it"),
	}
	fs.Var(f.password, etcdPasswordFlag, "etcd `password`, from "+envName(etcdPasswordFlag)+" or the config file only (refused on the command line, which the process list shows)")
	return f
}

// source turns -discovery into the cluster's source of peers; nil without
// -discovery. self is the node id from -node-id (0 when random); o.Logger
// is read when the source is made, after serve has set it.
func (f discoveryFlags) source(self api.NodeID, o *api.ClusterOptions, from sources) (func(register.Peer) (register.Source, error), error) {
	v := *f.discovery
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "etcd://"):
		return f.etcd(strings.TrimPrefix(v, "etcd://"), o, from)
	case strings.HasPrefix(v, "static://"):
		return staticSource(strings.TrimPrefix(v, "static://"), self)
	}
	return nil, fmt.Errorf("-discovery %q: want etcd://host:port[,host:port...]/prefix or static://id@host:port,...", v)
}

// etcd reads "host:port[,host:port...]/prefix".
func (f discoveryFlags) etcd(rest string, o *api.ClusterOptions, from sources) (func(register.Peer) (register.Source, error), error) {
	hosts, prefix, _ := strings.Cut(rest, "/")
	endpoints := splitList(hosts)
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("-discovery etcd://%s: no etcd endpoint", rest)
	}
	for _, ep := range endpoints {
		if _, _, err := net.SplitHostPort(ep); err != nil {
			return nil, fmt.Errorf("-discovery etcd://%s: endpoint %q: want host:port", rest, ep)
		}
	}
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		prefix = "/" + prefix + "/"
	}
	tlsConfig, err := f.tls()
	if err != nil {
		return nil, err
	}
	password, err := f.resolvePassword(from)
	if err != nil {
		return nil, err
	}
	if *f.ttl < time.Second {
		return nil, fmt.Errorf("-etcd-ttl %v: want at least 1s", *f.ttl)
	}
	return func(self register.Peer) (register.Source, error) {
		if password != "" && tlsConfig == nil && o.Logger != nil && !allLoopback(endpoints) {
			o.Logger.Warn("the etcd password travels in clear: give -etcd-ca (and -etcd-cert) for TLS", "endpoints", strings.Join(endpoints, ","))
		}
		return register.NewEtcd(register.EtcdOptions{
			Endpoints: endpoints,
			Prefix:    prefix,
			Self:      self,
			TTL:       *f.ttl,
			TLS:       tlsConfig,
			Username:  *f.username,
			Password:  password,
			Logger:    o.Logger,
		})
	}, nil
}

// tls loads the etcd certificates; nil without any -etcd-* certificate
// flag.
func (f discoveryFlags) tls() (*tls.Config, error) {
	if *f.cert == "" && *f.key == "" && *f.ca == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if *f.cert != "" || *f.key != "" {
		if *f.cert == "" || *f.key == "" {
			return nil, errors.New("-etcd-cert and -etcd-key go together")
		}
		cert, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return nil, fmt.Errorf("-etcd-cert/-etcd-key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if *f.ca != "" {
		pem, err := os.ReadFile(*f.ca)
		if err != nil {
			return nil, fmt.Errorf("-etcd-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-etcd-ca %s: no PEM certificate in it", *f.ca)
		}
	}
	return c, nil
}

// resolvePassword reads the etcd password: from -etcd-password-file, or
// -etcd-password as WSGATE_ETCD_PASSWORD or the config file set it; ""
// without -etcd-username.
func (f discoveryFlags) resolvePassword(from sources) (string, error) {
	value, file := *f.password != "", *f.passwordFile != ""
	switch {
	case value && from.of(etcdPasswordFlag) == fromFlag:
		return "", fmt.Errorf("-%s on the command line shows in the process list: give it in %s, the config file or -etcd-password-file", etcdPasswordFlag, envName(etcdPasswordFlag))
	case (value || file) && *f.username == "":
		return "", errors.New("an etcd password needs -etcd-username")
	case value && file:
		return "", fmt.Errorf("-%s and -etcd-password-file both given: give one", etcdPasswordFlag)
	case file:
		b, err := os.ReadFile(*f.passwordFile)
		if err != nil {
			return "", fmt.Errorf("-etcd-password-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case value:
		return string(*f.password), nil
	case *f.username != "":
		return "", fmt.Errorf("-etcd-username %s: give its password in -etcd-password-file, %s or the config file", *f.username, envName(etcdPasswordFlag))
	}
	return "", nil
}

// staticSource reads "id@host:port,...", ids as -node-id takes them. The
// node must be one of them, so -node-id is required.
func staticSource(rest string, self api.NodeID) (func(register.Peer) (register.Source, error), error) {
	if self == 0 {
		return nil, errors.New("-discovery static://...: give this node's -node-id, one of the list's")
	}
	var peers []register.Peer
	found := false
	for _, item := range splitList(rest) {
		idText, addr, ok := strings.Cut(item, "@")
		n, err := strconv.ParseUint(idText, 0, 32)
		if !ok || err != nil || n == 0 {
			return nil, fmt.Errorf("-discovery static://: %q: want id@host:port, id 1 to 4294967295", item)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("-discovery static://: %q: want id@host:port", item)
		}
		found = found || api.NodeID(n) == self
		peers = append(peers, register.Peer{ID: api.NodeID(n).String(), Addr: addr, Incarnation: 1})
	}
	if !found {
		return nil, fmt.Errorf("-discovery static://...: -node-id %d is not in the list", self)
	}
	// Check the list now, so that a mistake stops the command at once.
	if _, err := register.NewStatic(register.Peer{ID: self.String()}, peers); err != nil {
		return nil, fmt.Errorf("-discovery: %w", err)
	}
	return func(me register.Peer) (register.Source, error) { return register.NewStatic(me, peers) }, nil
}

// allLoopback reports whether every host:port is on loopback.
func allLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}
