package wsproto

import (
	"net/http"
	"net/url"
	"strings"
)

// ErrOriginRefused answers a handshake whose Origin is not allowed.
var ErrOriginRefused = httpError(http.StatusForbidden, "origin not allowed")

// OriginAllowed reports whether a handshake with the given Origin and Host
// headers may proceed, against allowed: host[:port] names or whole origins
// ("https://app.example.com"), or "*" for any. With allowed empty, the
// Origin's host must be the request's Host: a page from another site may
// not open a WebSocket to this one with its visitor's cookies
// (cross-site WebSocket hijacking). A request without an Origin passes:
// browsers always send one, so it is not a browser, and non-browser
// clients can send whatever they like anyway.
func OriginAllowed(origin, host string, allowed []string) bool {
	if origin == "" {
		return true
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" (a sandboxed page, a file) or garbage
	}
	if len(allowed) == 0 {
		return strings.EqualFold(u.Host, host)
	}
	for _, a := range allowed {
		if strings.EqualFold(a, u.Host) {
			return true
		}
	}
	return false
}
