// Package safecall runs code that wsgate calls but did not write (an
// Application's callbacks, a poller.Handler, an rpc.Handler), so that a
// panic in it is logged in one format and answered by the caller in its
// own protocol (close 1011, HTTP 500, gRPC Internal), never a crash.
//
// Who recovers what: api recovers the Application's callbacks, where it
// knows the clientID and must clean up after OnClose whatever happens;
// poller recovers its Handler's, for any program built on poller alone
// (in a gateway that handler is api's, which recovers first); rpc
// recovers its Handler's, the receiving side of the cluster.
package safecall

import (
	"log/slog"
	"runtime/debug"
)

// Panic is a recovered panic: its value and the stack where it happened.
type Panic struct {
	Value any
	Stack []byte
}

// Run calls f and returns the panic it raised, or nil if it returned.
// Nothing escapes to the heap unless f panics, so hot paths (a message
// callback) can use it.
func Run(f func()) (p *Panic) {
	defer func() {
		if v := recover(); v != nil {
			p = &Panic{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

// Log writes p in the format every caller shares: the message
// "<callback> panicked", the caller's attributes (which connection, client
// or peer), then the panic value and the stack.
func (p *Panic) Log(log *slog.Logger, callback string, attrs ...any) {
	attrs = append(attrs, "panic", p.Value, "stack", string(p.Stack))
	log.Error(callback+" panicked", attrs...)
}
