package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/rpc"
)

// Prefix begins every route.
const Prefix = "/api/v1/"

// The routes that are not Api calls.
const (
	batchRoute   = "batch"
	openAPIRoute = "openapi.json"
)

// Handler serves the HTTP Api of one node. Make one with NewHandler.
type Handler struct {
	api     api.Api
	o       Options
	calls   map[string]*call
	errs    []errorKind
	keys    keys
	buckets []*bucket // by key; nil without a rate
	openAPI []byte
	now     func() time.Time
}

// NewHandler returns the HTTP Api of a, the Api of a node or of a
// connection-less member.
func NewHandler(a api.Api, o Options) (*Handler, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	table := newCalls()
	h := &Handler{api: a, o: o, calls: make(map[string]*call, len(table)), errs: callErrors(), keys: newKeys(o.Keys), now: time.Now}
	for _, c := range table {
		h.calls[c.name] = c
	}
	if o.Rate > 0 {
		for range o.Keys {
			h.buckets = append(h.buckets, newBucket(o.Rate, o.Burst, h.now()))
		}
	}
	if h.openAPI, err = json.MarshalIndent(openAPIDocument(table, h.errs), "", "  "); err != nil {
		return nil, fmt.Errorf("httpapi: OpenAPI document: %w", err)
	}
	return h, nil
}

// ServeHTTP checks the key first, before it reads anything of the body, so
// that a stranger can make the server read nothing but headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := h.keys.match(r)
	if key < 0 {
		// Close rather than read the body to keep the connection.
		w.Header().Set("Connection", "close")
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsgate"`)
		h.fail(w, errUnauthorized, "missing or wrong API key (Authorization: Bearer <key>)")
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		h.fail(w, errNotFound, "no route "+r.URL.Path+": routes begin with "+Prefix)
		return
	}
	if name == openAPIRoute {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.fail(w, errMethod, r.Method+" "+r.URL.Path+": want GET")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(h.openAPI)
		return
	}
	c := h.calls[name]
	if c == nil && name != batchRoute {
		h.fail(w, errNotFound, "no route "+r.URL.Path+": see "+Prefix+openAPIRoute)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.fail(w, errMethod, r.Method+" "+r.URL.Path+": want POST")
		return
	}
	if !h.admit(w, key, 1) {
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	if c == nil {
		h.serveBatch(ctx, w, key, body)
		return
	}
	res := h.run(ctx, c, body)
	h.reply(w, res.status, res)
}

// admit takes n calls from the key's rate, or answers 429.
func (h *Handler) admit(w http.ResponseWriter, key, n int) bool {
	if h.buckets == nil {
		return true
	}
	ok, wait := h.buckets[key].take(n, h.now())
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
		h.fail(w, errRateLimited, fmt.Sprintf("over %g calls per second for this key", h.o.Rate))
	}
	return ok
}

// readBody reads the body within the size limit, or answers 413 (at once,
// from Content-Length, when it says the body is too large).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.o.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		h.fail(w, errTooLarge, fmt.Sprintf("body of %d bytes is over the limit of %d", r.ContentLength, h.o.MaxBodyBytes))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.fail(w, errTooLarge, fmt.Sprintf("body over the limit of %d bytes", h.o.MaxBodyBytes))
		return nil, false
	case err != nil:
		h.fail(w, errBad, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// result is the answer to one call: its JSON, and the status it has as a
// request of its own.
type result struct {
	status  int
	Result  any        `json:"result,omitempty"`
	Missing []string   `json:"missing,omitempty"`
	Error   *errorBody `json:"error,omitempty"`
}

// run decodes and makes one call. A partial answer (some nodes did not
// answer) is a success that names them in Missing: the answer of the
// others is still the best there is, as in the Go Api.
func (h *Handler) run(ctx context.Context, c *call, body []byte) result {
	a, err := decodeArgs(c, body)
	if err != nil {
		return h.failed(err)
	}
	v, err := c.do(ctx, h.api, a)
	var pe *rpc.PartialError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		return result{status: http.StatusOK, Result: v, Missing: pe.Missing}
	default:
		return h.failed(err)
	}
	return result{status: http.StatusOK, Result: v}
}

// failed is the result of a call that failed with err.
func (h *Handler) failed(err error) result {
	k := kindOf(h.errs, err)
	return result{status: k.status, Error: &errorBody{Code: k.code, Message: err.Error()}}
}

// fail answers a request that went no further than the checks.
func (h *Handler) fail(w http.ResponseWriter, k errorKind, msg string) {
	h.reply(w, k.status, result{Error: &errorBody{Code: k.code, Message: msg}})
}

func (h *Handler) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; an encoding or write error can only be the
	// client gone, which there is no one left to tell.
	json.NewEncoder(w).Encode(v)
}
