package api

import (
	"context"
	"testing"
)

// TestSendToClientAllocates checks that sending to a client of this node
// allocates nothing in the Api, alone and as a cluster node (whose Api
// first works out the client's owner), so that a busy gateway's echo path
// gives the garbage collector no work.
func TestSendToClientAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	single := startGateway(t, newRecorder())
	cluster := startCluster(t, 1).nodes[0]
	for name, g := range map[string]*Gateway{"single": single, "cluster": cluster} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, g)
			ctx, msg := context.Background(), []byte("0123456789abcdef")
			opts := []SendOption{Binary}
			allocs := testing.AllocsPerRun(200, func() {
				if err := g.Api().SendToClient(ctx, c.id, msg, opts...); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("SendToClient allocates %.1f times per call, want 0", allocs)
			}
		})
	}
}
