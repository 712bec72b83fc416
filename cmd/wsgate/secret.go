package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
)

// secretFlags are where the cluster secret comes from: -secret-file (best:
// not in the process list or shell history), the WSGATE_SECRET environment
// variable, or -secret.
type secretFlags struct {
	value *secretValue
	file  *string
}

const secretFlag, secretFileFlag = "secret", "secret-file"

func addSecretFlags(fs *flag.FlagSet) secretFlags {
	f := secretFlags{value: new(secretValue), file: fs.String(secretFileFlag, "", "file holding the cluster secret (surrounding whitespace ignored)")}
	fs.Var(f.value, secretFlag, "cluster `secret`; prefer -secret-file or WSGATE_SECRET, as a flag shows in the process list")
	return f
}

// resolve returns the secret, "" if none was given. from says where each
// flag was set: when both -secret and -secret-file are, the one from the
// stronger source wins (a -secret-file on the command line over a
// WSGATE_SECRET in the environment), and two from the same source are a
// mistake.
func (f secretFlags) resolve(from sources) (string, error) {
	value, file := *f.value != "", *f.file != ""
	if value && file {
		switch v, fl := from.of(secretFlag), from.of(secretFileFlag); {
		case v > fl:
			file = false
		case fl > v:
			value = false
		default:
			return "", fmt.Errorf("-secret and -secret-file both given (both from %s): give one", v)
		}
	}
	switch {
	case file:
		b, err := os.ReadFile(*f.file)
		if err != nil {
			return "", fmt.Errorf("-secret-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("-secret-file %s is empty", *f.file)
		}
		return s, nil
	case value:
		return string(*f.value), nil
	}
	return os.Getenv("WSGATE_SECRET"), nil
}

// warnPlaintext warns when a cluster port (rpc, register) listens beyond
// loopback without TLS: the secret and every message would cross the
// network in clear.
func warnPlaintext(log *slog.Logger, what, addr string, withTLS bool) {
	if withTLS {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return
	}
	log.Warn(what+" listens beyond loopback without TLS: the cluster secret and all traffic travel in clear; use -tls-cert and -tls-key", "addr", addr)
}
