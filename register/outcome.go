package register

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrSecretRefused is what Joined returns when a register refused this
// node's secret and none has accepted it.
var ErrSecretRefused = errors.New("register: the secret was refused")

// outcome records how the registers answered a Client: whether one accepted
// it, and which refused its secret.
type outcome struct {
	mu       sync.Mutex
	accepted bool
	refused  []string // registers that refused the secret, in order
	lastRefs bool     // the latest answer was a refusal
	decided  chan struct{}
	once     sync.Once
}

func newOutcome() *outcome { return &outcome{decided: make(chan struct{})} }

// accept notes that a register sent its list.
func (o *outcome) accept() {
	o.mu.Lock()
	o.accepted, o.lastRefs = true, false
	o.mu.Unlock()
	o.once.Do(func() { close(o.decided) })
}

// secretRefused reports whether a session ended because the register
// refused the secret.
func secretRefused(err error) bool { return status.Code(err) == codes.Unauthenticated }

// note looks at why a session ended and records a refused secret.
func (o *outcome) note(addr string, err error) {
	if !secretRefused(err) {
		return
	}
	o.mu.Lock()
	o.refused = append(o.refused, addr)
	o.lastRefs = true
	o.mu.Unlock()
	o.once.Do(func() { close(o.decided) })
}

// wait returns nil once a register accepted the client, an error wrapping
// ErrSecretRefused once one refused it first, or ctx's error.
func (o *outcome) wait(ctx context.Context) error {
	select {
	case <-o.decided:
	case <-ctx.Done():
		return ctx.Err()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accepted {
		return nil
	}
	return fmt.Errorf("%w by %s", ErrSecretRefused, o.refused[0])
}

// Joined waits until a register has accepted this client (nil), or one has
// refused its secret before any accepted it (an error wrapping
// ErrSecretRefused: the secret is wrong, and retrying will not help), or
// ctx ends (its error: the registers may be down; the client keeps trying).
// A command line uses it to fail at start rather than serve as a lone node.
func (c *Client) Joined(ctx context.Context) error { return c.joined.wait(ctx) }

// Ready is nil unless the latest answer of a register refused this
// client's secret. Registers being down does not make it unready: the
// node keeps delivering with its last list, and rejoins when one returns.
func (c *Client) Ready() error {
	if c.Refused() {
		return errors.New("the register refuses this node's secret")
	}
	return nil
}

// Refused reports whether the latest answer of a register was a refusal of
// the secret (one that had accepted this client may have changed secret).
func (c *Client) Refused() bool {
	c.joined.mu.Lock()
	defer c.joined.mu.Unlock()
	return c.joined.lastRefs
}
