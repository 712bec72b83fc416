package chat

import (
	"bytes"
	_ "embed"
	"html"
	"net/http"

	"github.com/wsgate/wsgate/wsproto"
)

//go:embed index.html
var pageTemplate []byte

// Page returns the HTTP handler for the gateway's plain requests
// (poller.Options.HTTPFallback): the chat page at "/", which connects to
// WebSocket path wsPath of the same host, and 404 elsewhere.
func Page(wsPath string) func(r *wsproto.Request) (int, http.Header, []byte) {
	page := bytes.ReplaceAll(pageTemplate, []byte("{{WS_PATH}}"), []byte(html.EscapeString(wsPath)))
	return func(r *wsproto.Request) (int, http.Header, []byte) {
		h := http.Header{}
		h.Set("Cache-Control", "no-cache")
		if r.Path != "/" && r.Path != "/index.html" {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			return http.StatusNotFound, h, []byte("not found\n")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			return http.StatusMethodNotAllowed, h, nil
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return http.StatusOK, h, nil
		}
		return http.StatusOK, h, page
	}
}
