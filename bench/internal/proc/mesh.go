package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// meshTimeout bounds the wait until the nodes reach each other.
const meshTimeout = 20 * time.Second

// WaitMesh waits until a message published on any broadcast node reaches a
// client of every node: each round, a client per node publishes a token,
// and every client reads until it has the round's token of every node.
func WaitMesh(ctx context.Context, urls []string) error {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, u := range urls {
		dctx, cancel := context.WithTimeout(ctx, StartTimeout)
		c, _, _, err := ws.Dial(dctx, u)
		cancel()
		if err != nil {
			return fmt.Errorf("mesh probe: %w", err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(meshTimeout)
	for round := 0; time.Now().Before(deadline) && ctx.Err() == nil; round++ {
		prefix := fmt.Sprintf("mesh %d ", round)
		for i, c := range conns {
			if err := wsutil.WriteClientText(c, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
				return fmt.Errorf("mesh probe: %w", err)
			}
		}
		complete := true
		for _, c := range conns {
			got := map[string]bool{}
			c.SetReadDeadline(time.Now().Add(time.Second))
			for len(got) < len(conns) {
				p, err := wsutil.ReadServerText(c)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // try another round
				}
				if err != nil {
					return fmt.Errorf("mesh probe: %w", err)
				}
				if s := string(p); strings.HasPrefix(s, prefix) {
					got[s] = true
				}
			}
			complete = complete && len(got) == len(conns)
		}
		if complete {
			return nil
		}
	}
	return fmt.Errorf("the nodes did not reach each other within %v", meshTimeout)
}
