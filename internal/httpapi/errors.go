package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/rpc"
)

// errorKind is how the answer names an error: its HTTP status and the
// code in the JSON error body, {"error": {"code": ..., "message": ...}}.
type errorKind struct {
	err    error // matched with errors.Is; nil for the request errors below
	status int
	code   string
	doc    string
}

// Errors of the request itself, found before any call is made.
var (
	errUnauthorized = errorKind{nil, http.StatusUnauthorized, "unauthorized", "no API key, or not a valid one"}
	errNotFound     = errorKind{nil, http.StatusNotFound, "not_found", "no such route"}
	errMethod       = errorKind{nil, http.StatusMethodNotAllowed, "method_not_allowed", "the route takes POST (GET for openapi.json)"}
	errTooLarge     = errorKind{nil, http.StatusRequestEntityTooLarge, "body_too_large", "the body is over the size limit"}
	errRateLimited  = errorKind{nil, http.StatusTooManyRequests, "rate_limited", "the key is over its rate; Retry-After says when to try again"}
	errBad          = errorKind{errBadRequest, http.StatusBadRequest, "bad_request", "the body is not the route's JSON object"}
	errInternal     = errorKind{nil, http.StatusInternalServerError, "internal", "any other failure"}
)

// callErrors are the typed errors of the Api, in the order they are
// matched; the first that the error wraps names it.
func callErrors() []errorKind {
	return []errorKind{
		errBad,
		{api.ErrClientOffline, http.StatusNotFound, "client_offline", "the client is not connected (or is closing)"},
		{api.ErrEmptyUID, http.StatusBadRequest, "empty_uid", `"" is not a uid`},
		{api.ErrEmptyGroup, http.StatusBadRequest, "empty_group", `"" is not a group`},
		{api.ErrInvalidUTF8, http.StatusBadRequest, "invalid_utf8", "a text message or close reason is not valid UTF-8"},
		{api.ErrBadCloseCode, http.StatusBadRequest, "bad_close_code", "the close code may not be sent on the wire"},
		{api.ErrOverflow, http.StatusServiceUnavailable, "overflow", "the client's outbound queue is over its budget: it is not reading fast enough"},
		{rpc.ErrQueueFull, http.StatusServiceUnavailable, "node_queue_full", "the queue to the client's node is full"},
		{rpc.ErrTooLarge, http.StatusRequestEntityTooLarge, "message_too_large", "the message is over the cluster's largest"},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "timeout", "the call did not finish within the server's time limit"},
		{context.Canceled, http.StatusServiceUnavailable, "canceled", "the request was canceled"},
	}
}

// kindOf names err.
func kindOf(kinds []errorKind, err error) errorKind {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k
		}
	}
	return errInternal
}

// errorBody is the JSON of a failed call.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
