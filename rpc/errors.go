package rpc

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of the transport. Compare with errors.Is.
var (
	// ErrPeerUnavailable: the peer is not in the peer set, was removed
	// while the call was pending, or its connection is down. Errors that
	// match it also carry codes.Unavailable for status.Code.
	ErrPeerUnavailable = errors.New("rpc: peer unavailable")
	// ErrQueueFull: the commands held for the peer (queued, or sent and
	// not yet acknowledged) reach QueueMaxBytes already; the command was
	// dropped rather than block the sender.
	ErrQueueFull = errors.New("rpc: peer queue full")
	// ErrTooLarge: one command or request is larger than MaxMessageBytes.
	ErrTooLarge = errors.New("rpc: message too large")
	// ErrClosed: the Node was closed.
	ErrClosed = errors.New("rpc: node closed")
)

// unavailableError says why a peer could not be reached. It matches
// ErrPeerUnavailable and reports codes.Unavailable to status.Code.
type unavailableError struct {
	peer   string
	reason string
}

func peerUnavailable(peer, reason string) error {
	return &unavailableError{peer: peer, reason: reason}
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("rpc: peer %q unavailable: %s", e.peer, e.reason)
}

func (e *unavailableError) Is(target error) bool { return target == ErrPeerUnavailable }

func (e *unavailableError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.Error())
}

// PartialError is returned by CallAll and Broadcast when some peers did not
// answer (or accept) in time. The answers that did arrive are returned
// beside it. Use errors.As to get at it.
type PartialError struct {
	// Missing lists the IDs of the peers that did not answer, sorted.
	Missing []string
	// Errs holds why, by peer ID.
	Errs map[string]error
}

func (e *PartialError) Error() string {
	var b strings.Builder
	b.WriteString("rpc: no answer from ")
	for i, id := range e.Missing {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%v)", id, e.Errs[id])
	}
	return b.String()
}

func (e *PartialError) add(peer string, err error) {
	if e.Errs == nil {
		e.Errs = make(map[string]error)
	}
	e.Missing = append(e.Missing, peer)
	e.Errs[peer] = err
}

// orNil returns e if it lists any peer, else nil (an untyped nil error).
func (e *PartialError) orNil() error {
	if len(e.Missing) == 0 {
		return nil
	}
	slices.Sort(e.Missing)
	return e
}
