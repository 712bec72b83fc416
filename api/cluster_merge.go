package api

import (
	"errors"
	"fmt"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// How the answers of several nodes become one, as a single node holding
// all their clients would have answered: counts add up, clientID lists are
// concatenated (a clientID lives on one node only), and uid and group
// lists are merged without repeats (a uid or a group may span nodes).

func sumCounts(resps []*rpcpb.Response) int {
	n := 0
	for _, r := range resps {
		n += int(r.GetCount())
	}
	return n
}

func concatStrings(local []string, resps []*rpcpb.Response) []string {
	out := nonNil(local)
	for _, r := range resps {
		out = append(out, r.GetStrings().GetValues()...)
	}
	return out
}

func unionStrings(local []string, resps []*rpcpb.Response) []string {
	seen := make(map[string]struct{}, len(local))
	out := make([]string, 0, len(local))
	add := func(s string) {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	for _, s := range local {
		add(s)
	}
	for _, r := range resps {
		for _, s := range r.GetStrings().GetValues() {
			add(s)
		}
	}
	return out
}

// nonNil returns s, or an empty slice for nil: a listing is never nil.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// infoFromProto returns the info map, empty rather than nil as GetInfo
// promises.
func infoFromProto(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// errorToProto carries an Api error to the calling node.
func errorToProto(err error) *rpcpb.Error {
	code := rpcpb.Error_UNKNOWN
	switch {
	case errors.Is(err, ErrClientOffline):
		code = rpcpb.Error_CLIENT_OFFLINE
	case errors.Is(err, ErrEmptyUID):
		code = rpcpb.Error_EMPTY_UID
	case errors.Is(err, ErrEmptyGroup):
		code = rpcpb.Error_EMPTY_GROUP
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrBadCloseCode):
		code = rpcpb.Error_INVALID
	}
	return &rpcpb.Error{Code: code, Message: err.Error()}
}

// errInvalidRequest is what a node answers with INVALID, seen by the caller.
var errInvalidRequest = errors.New("invalid request")

// errorFromProto turns the owner's error back into the sentinel the local
// Api would have returned, so errors.Is works the same on every node.
func errorFromProto(peer string, e *rpcpb.Error) error {
	var base error
	switch e.GetCode() {
	case rpcpb.Error_CLIENT_OFFLINE:
		base = ErrClientOffline
	case rpcpb.Error_EMPTY_UID:
		base = ErrEmptyUID
	case rpcpb.Error_EMPTY_GROUP:
		base = ErrEmptyGroup
	case rpcpb.Error_INVALID:
		base = errInvalidRequest
	default:
		return fmt.Errorf("api: node %s: %s", peer, e.GetMessage())
	}
	return fmt.Errorf("%w (node %s: %s)", base, peer, e.GetMessage())
}
