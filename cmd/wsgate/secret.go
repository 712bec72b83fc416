package main

import (
	"errors"
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
	value, file *string
}

func addSecretFlags(fs *flag.FlagSet) secretFlags {
	return secretFlags{
		value: fs.String("secret", "", "cluster secret; prefer -secret-file or WSGATE_SECRET, as a flag shows in the process list"),
		file:  fs.String("secret-file", "", "file holding the cluster secret (surrounding whitespace ignored)"),
	}
}

// resolve returns the secret, "" if none was given.
func (f secretFlags) resolve() (string, error) {
	switch {
	case *f.value != "" && *f.file != "":
		return "", errors.New("-secret and -secret-file both given: give one")
	case *f.file != "":
		b, err := os.ReadFile(*f.file)
		if err != nil {
			return "", fmt.Errorf("-secret-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("-secret-file %s is empty", *f.file)
		}
		return s, nil
	case *f.value != "":
		return *f.value, nil
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
