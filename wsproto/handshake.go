package wsproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxHeaderBytes bounds the request head of an opening handshake when
// no other limit is given.
const DefaultMaxHeaderBytes = 8 << 10

// maxHeaderLines bounds the number of header fields, so that many tiny
// lines cannot make the parser allocate a map per byte of input.
const maxHeaderLines = 100

// Request is a parsed opening handshake (RFC 6455 section 4.2.1).
type Request struct {
	Method    string      // the request method, e.g. "GET"
	Path      string      // unescaped path, always starting with "/"
	RawQuery  string      // the query without "?", still escaped
	Host      string      // the Host header
	Key       string      // Sec-WebSocket-Key
	Protocols []string    // offered subprotocols, in the client's order
	Header    http.Header // every header field, canonical keys

	values []string // backing of Header's first values, kept by Reset
}

// knownKeys are the canonical names of the fields a handshake usually
// carries: canonicalKey returns these strings rather than a new one each.
var knownKeys = [...]string{
	"Host", "Upgrade", "Connection", "Origin", "User-Agent", "Cookie",
	"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
	"Accept-Encoding", "Accept-Language", "Cache-Control", "Pragma", "Authorization",
	"X-Forwarded-For", "X-Real-Ip",
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey(string(name)), without
// allocating for the names in knownKeys.
func canonicalKey(name []byte) string {
	for _, k := range knownKeys {
		if len(k) == len(name) && bytes.EqualFold(name, []byte(k)) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// Query parses RawQuery; malformed pairs are skipped.
func (r *Request) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
	return v
}

// HTTPError is a handshake refused with an HTTP status.
type HTTPError struct {
	Status int
	Reason string
	Header http.Header // extra response headers, e.g. Sec-WebSocket-Version
}

func (e *HTTPError) Error() string {
	return "websocket handshake: " + strconv.Itoa(e.Status) + " " + e.Reason
}

func httpError(status int, reason string) *HTTPError {
	return &HTTPError{Status: status, Reason: reason}
}

// Handshake failures with a fixed answer.
var (
	ErrHeadTooLarge = httpError(http.StatusRequestHeaderFieldsTooLarge, "request head too large")
)

// HeadEnd returns the length of the request head in b including the blank
// line that ends it, or -1 if b does not yet hold all of it.
func HeadEnd(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

// ParseRequest parses a complete request head (as delimited by HeadEnd) and
// checks it as an opening handshake: ParseHead, then CheckUpgrade.
func ParseRequest(head []byte) (*Request, *HTTPError) {
	r, err := ParseHead(head)
	if err != nil {
		return nil, err
	}
	if err := r.CheckUpgrade(); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseHead parses any HTTP/1.1 request head without the WebSocket checks,
// so that a server can answer plain requests too. It refuses with 400 for a
// malformed request (including more than one Host field) and 431 for too
// many header fields.
func ParseHead(head []byte) (*Request, *HTTPError) {
	r := new(Request)
	if err := r.Parse(head); err != nil {
		return nil, err
	}
	return r, nil
}

// Parse is ParseHead into r, whose header map and slices are reused: a
// server that parses a storm of handshakes keeps Requests in a pool and
// Resets them after use, so that each handshake does not leave a map
// behind for the collector. On error r holds part of the head.
func (r *Request) Parse(head []byte) *HTTPError {
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return httpError(http.StatusBadRequest, "malformed request line")
	}
	method, rest1, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest1, []byte(" "))
	if !ok1 || !ok2 || !validToken(method) || len(target) == 0 {
		return httpError(http.StatusBadRequest, "malformed request line")
	}
	if !validHTTPVersion(proto) {
		return httpError(http.StatusBadRequest, "HTTP/1.1 or later required")
	}
	if bytes.ContainsFunc(target, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		// RFC 3986 has no place for control characters; one kept in Path
		// could reach a log line or a response header.
		return httpError(http.StatusBadRequest, "control character in request target")
	}
	if target[0] != '/' {
		return httpError(http.StatusBadRequest, "request target must be an absolute path")
	}
	rawPath, rawQuery, _ := bytes.Cut(target, []byte("?"))
	path, err := url.PathUnescape(string(rawPath))
	if err != nil {
		return httpError(http.StatusBadRequest, "malformed request path")
	}
	r.Method, r.Path, r.RawQuery = string(method), path, string(rawQuery)
	if r.Header == nil {
		r.Header = make(http.Header, 8)
	}

	lines := 0
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			break // the blank line ending the head
		}
		if lines++; lines > maxHeaderLines {
			return httpError(http.StatusRequestHeaderFieldsTooLarge, "too many header fields")
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validToken(name) {
			return httpError(http.StatusBadRequest, "malformed header field")
		}
		v := string(bytes.Trim(value, " \t"))
		if !validFieldValue(v) {
			return httpError(http.StatusBadRequest, "malformed header field")
		}
		key := canonicalKey(name)
		if vals := r.Header[key]; vals != nil {
			r.Header[key] = append(vals, v)
		} else {
			// A field's first value takes a slot of r's own slab, reused
			// with r, rather than a slice of its own.
			r.values = append(r.values, v)
			n := len(r.values)
			r.Header[key] = r.values[n-1 : n : n]
		}
	}
	// RFC 9112 section 3.2: two Host fields must be refused, as parties that
	// pick different ones disagree about where the request goes.
	if len(r.Header["Host"]) > 1 {
		return httpError(http.StatusBadRequest, "more than one Host field")
	}
	r.Host = r.Header.Get("Host")
	return nil
}

// Reset empties r for another Parse, keeping the storage of its header map
// and Protocols. Whatever r held must no longer be in use.
func (r *Request) Reset() {
	clear(r.Header)
	clear(r.Protocols)
	clear(r.values)
	*r = Request{Header: r.Header, Protocols: r.Protocols[:0], values: r.values[:0]}
}

// IsUpgrade reports whether the request asks for a WebSocket upgrade at all
// (Upgrade: websocket); a server may serve other requests as plain HTTP.
func (r *Request) IsUpgrade() bool {
	return headerHasToken(r.Header["Upgrade"], "websocket")
}

// CheckUpgrade applies RFC 6455 section 4.2.1 to a parsed request: 405 for a
// method other than GET, 400 for a missing Host, Upgrade, Connection or
// Sec-WebSocket-Key, 426 with Sec-WebSocket-Version: 13 for any version
// but 13. On success it fills Key and Protocols.
func (r *Request) CheckUpgrade() *HTTPError {
	if r.Method != http.MethodGet {
		e := httpError(http.StatusMethodNotAllowed, "method not allowed")
		e.Header = http.Header{"Allow": {http.MethodGet}}
		return e
	}
	if r.Host == "" {
		return httpError(http.StatusBadRequest, "missing Host")
	}
	if !r.IsUpgrade() {
		return httpError(http.StatusBadRequest, "missing Upgrade: websocket")
	}
	if !headerHasToken(r.Header["Connection"], "upgrade") {
		return httpError(http.StatusBadRequest, "missing Connection: Upgrade")
	}
	if v := r.Header["Sec-Websocket-Version"]; len(v) != 1 || v[0] != "13" {
		e := httpError(http.StatusUpgradeRequired, "unsupported websocket version")
		// Canonical key, so that e.Header.Get finds it.
		e.Header = http.Header{"Sec-Websocket-Version": {"13"}}
		return e
	}
	keys := r.Header["Sec-Websocket-Key"]
	if len(keys) != 1 || !validKey(keys[0]) {
		return httpError(http.StatusBadRequest, "missing or malformed Sec-WebSocket-Key")
	}
	r.Key = keys[0]
	r.Protocols = r.Protocols[:0]
	for _, v := range r.Header["Sec-Websocket-Protocol"] {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			if p = strings.TrimSpace(p); p != "" {
				r.Protocols = append(r.Protocols, p)
			}
		}
	}
	return nil
}

// SelectProtocol picks the first of the server's supported subprotocols that
// the client offered, or "" if none matches.
func SelectProtocol(supported, offered []string) string {
	for _, s := range supported {
		for _, o := range offered {
			if s == o {
				return s
			}
		}
	}
	return ""
}

// websocketGUID is appended to the key before hashing (RFC 6455 section 1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	return string(appendAcceptKey(nil, key))
}

// appendAcceptKey appends AcceptKey(key) without allocating for a key of
// the valid length (24 characters); every handshake computes one.
func appendAcceptKey(dst []byte, key string) []byte {
	var in [24 + len(websocketGUID)]byte
	var sum [sha1.Size]byte
	if len(key) == 24 {
		copy(in[copy(in[:], key):], websocketGUID)
		sum = sha1.Sum(in[:])
	} else {
		sum = sha1.Sum([]byte(key + websocketGUID))
	}
	var out [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(out[:], sum[:])
	return append(dst, out[:]...)
}

// AppendAccept appends the 101 response that completes a handshake.
// protocol is the chosen subprotocol or "".
func AppendAccept(dst []byte, key, protocol string, extra http.Header) []byte {
	return AppendAcceptExtensions(dst, key, protocol, "", extra)
}

// AppendAcceptExtensions is AppendAccept with the accepted extensions, the
// value of Sec-WebSocket-Extensions ("" for none; see DeflateResponse).
func AppendAcceptExtensions(dst []byte, key, protocol, extensions string, extra http.Header) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, key)
	dst = append(dst, "\r\n"...)
	if protocol != "" {
		dst = appendField(dst, "Sec-WebSocket-Protocol", protocol)
	}
	if extensions != "" {
		dst = appendField(dst, "Sec-WebSocket-Extensions", extensions)
	}
	dst = appendFields(dst, extra)
	return append(dst, "\r\n"...)
}

// AppendResponse appends a complete HTTP/1.1 response with a body, to be
// followed by closing the connection.
func AppendResponse(dst []byte, status int, header http.Header, body []byte) []byte {
	text := http.StatusText(status)
	if text == "" {
		text = "Status"
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\nConnection: close\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	if header.Get("Content-Type") == "" {
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	dst = appendFields(dst, header)
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// AppendRefusal appends the HTTP response for a refused handshake; the body
// is the reason in plain text and the connection is to be closed after it.
func AppendRefusal(dst []byte, e *HTTPError) []byte {
	text := http.StatusText(e.Status)
	if text == "" {
		text = "Error"
	}
	body := e.Reason
	if body == "" {
		body = text
	}
	body = sanitizeValue(body) + "\n"
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	dst = appendFields(dst, e.Header)
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

func appendFields(dst []byte, h http.Header) []byte {
	for k, vs := range h {
		if !validToken([]byte(k)) {
			continue
		}
		for _, v := range vs {
			dst = appendField(dst, k, v)
		}
	}
	return dst
}

func appendField(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ": "...)
	dst = append(dst, sanitizeValue(v)...)
	return append(dst, "\r\n"...)
}

// sanitizeValue drops control characters so that a value set by
// application code can never split the response.
func sanitizeValue(v string) string {
	if validFieldValue(v) {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, v)
}

func validHTTPVersion(p []byte) bool {
	if len(p) != 8 || !bytes.HasPrefix(p, []byte("HTTP/")) || p[6] != '.' {
		return false
	}
	major, minor := p[5], p[7]
	if major < '0' || major > '9' || minor < '0' || minor > '9' {
		return false
	}
	return major > '1' || (major == '1' && minor >= '1')
}

func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(k))
	return err == nil && n == 16
}

// headerHasToken reports whether a comma-separated header holds token,
// compared case-insensitively.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validToken reports whether b is an RFC 7230 token (a header name).
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
