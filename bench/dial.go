package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/wsproto"
)

// Target is one ws:// endpoint resolved to a socket address.
type Target struct {
	URL  string
	addr unix.SockaddrInet4
	host string // Host header
	path string // request target: path and query
}

// ParseTarget resolves a ws:// URL. Only IPv4 literal or localhost hosts are
// accepted: bench connects to loopback addresses only, and resolving once
// keeps name lookups out of the dial path.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("parse url %q: %w", raw, err)
	}
	if u.Scheme != "ws" {
		return Target{}, fmt.Errorf("url %q: only ws:// is supported", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return Target{}, fmt.Errorf("url %q: host must be an IPv4 address", raw)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return Target{}, fmt.Errorf("url %q: bad port", raw)
	}
	t := Target{URL: raw, host: u.Host, path: u.RequestURI()}
	t.addr.Port = p
	copy(t.addr.Addr[:], ip)
	return t, nil
}

// SourceAddr returns the i-th local source address, 127.0.0.2 upwards. Each
// source address has its own ~28k ephemeral ports towards one target, so
// spreading over several lifts the per-target connection ceiling.
func SourceAddr(i int) (unix.SockaddrInet4, error) {
	n := i + 2
	if n > 254*256 {
		return unix.SockaddrInet4{}, fmt.Errorf("source address %d out of 127.0.0.0/8", i)
	}
	return unix.SockaddrInet4{Addr: [4]byte{127, 0, byte(n / 256), byte(n % 256)}}, nil
}

// dialNonblocking opens a non-blocking TCP socket, binds it to src when given
// and starts connecting. It returns the fd once connect is in progress; the
// caller learns the outcome from EPOLLOUT and SO_ERROR.
func dialNonblocking(t *Target, src *unix.SockaddrInet4) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set TCP_NODELAY: %w", err)
	}
	if src != nil {
		// Without IP_BIND_ADDRESS_NO_PORT, bind picks a port that must be
		// unique for the source address alone; with it, the port is chosen at
		// connect time per (source, destination), so ports are reused across
		// destinations.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("set IP_BIND_ADDRESS_NO_PORT: %w", err)
		}
		if err := unix.Bind(fd, src); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("bind %v: %w", src.Addr, err)
		}
	}
	// Connect encodes into the sockaddr it is given: use a copy, as loops
	// share the target.
	addr := t.addr
	err = unix.Connect(fd, &addr)
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", t.URL, err)
	}
	return fd, nil
}

// newKey returns a random Sec-WebSocket-Key.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// deflateOffer is what browsers offer: permessage-deflate, with a window
// of the client's own that the server may bound.
const deflateOffer = wsproto.DeflateExtension + "; client_max_window_bits"

// appendUpgrade appends the opening handshake request for t, offering
// permessage-deflate if compression is set.
func appendUpgrade(dst []byte, t *Target, key string, compression bool) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, t.path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, t.host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	if compression {
		dst = append(dst, "\r\nSec-WebSocket-Extensions: "+deflateOffer...)
	}
	return append(dst, "\r\n\r\n"...)
}

// checkUpgradeResponse checks a complete response head for a 101 with the
// right Sec-WebSocket-Accept, and reports whether the server accepted
// permessage-deflate (offered says the client did offer it).
func checkUpgradeResponse(head []byte, key string, offered bool) (compressed bool, err error) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		return false, fmt.Errorf("handshake refused: %q", line)
	}
	want := wsproto.AcceptKey(key)
	accepted := false
	var extensions []string
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(l, []byte(":"))
		name = bytes.TrimSpace(name)
		switch {
		case !ok:
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			if string(bytes.TrimSpace(value)) != want {
				return false, fmt.Errorf("handshake: wrong Sec-WebSocket-Accept")
			}
			accepted = true
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			extensions = append(extensions, string(bytes.TrimSpace(value)))
		}
	}
	if !accepted {
		return false, fmt.Errorf("handshake: no Sec-WebSocket-Accept")
	}
	if len(extensions) == 0 {
		return false, nil
	}
	// The answer names one extension, permessage-deflate, with the
	// parameters a server may send; anything else we did not offer.
	_, ok := wsproto.NegotiateDeflate(extensions)
	if !offered || !ok {
		return false, fmt.Errorf("handshake: extensions %q not offered", extensions)
	}
	return true, nil
}
