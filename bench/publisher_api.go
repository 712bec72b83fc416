package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/wsgate/wsgate/api"
)

// peersTimeout bounds the wait until the publisher reaches every node.
const peersTimeout = 20 * time.Second

// apiPublisher publishes a bcast run's messages through a connection-less
// cluster member (api.Client) instead of a client connection: SendToAll, or
// SendToGroup with -group. It runs in the parent process; the subscribers
// in the workers time and count its messages as they do a connection's.
type apiPublisher struct {
	client *api.Client
	group  string
	uids   []string // SendToUIDs to these, if any
	size   int
	rate   float64
	limit  int64

	started  bool
	stopOnce sync.Once
	stopping chan struct{}
	done     chan struct{}

	// Set by the publishing goroutine, read after done closes.
	published int64
	failed    int64
	firstErr  error
}

// newAPIPublisher joins the register at o.APIRegister and waits until the
// member reaches one node per URL.
// Its membership events below warnings are not shown: they would only
// break the progress line.
func newAPIPublisher(o Options, stderr io.Writer) (*apiPublisher, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := api.NewClient(api.ClusterOptions{Registers: []string{o.APIRegister}, Secret: o.APISecret, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("api publisher: %w", err)
	}
	deadline := time.Now().Add(peersTimeout)
	for len(c.Peers()) < len(o.URLs) {
		if time.Now().After(deadline) {
			n := len(c.Peers())
			c.Close(context.Background())
			return nil, fmt.Errorf("api publisher: reaches %d nodes after %v, want %d (one per -url)", n, peersTimeout, len(o.URLs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &apiPublisher{
		client: c, group: o.Group, uids: userNames(o.UIDs), size: o.Size, rate: o.Rate, limit: o.Messages,
		stopping: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// start publishes at the rate until stop or the limit.
func (p *apiPublisher) start() {
	p.started = true
	go func() {
		defer close(p.done)
		x := p.client.Api()
		began := time.Now()
		tick := time.NewTicker(min(max(time.Duration(1e9/p.rate), 100*time.Microsecond), time.Millisecond))
		defer tick.Stop()
		for {
			due := int64(time.Since(began).Seconds()*p.rate) + 1
			for ; p.published < due; p.published++ {
				if p.limit > 0 && p.published >= p.limit {
					return
				}
				// A payload each: the Api may keep it queued after the call.
				msg := make([]byte, p.size)
				stamp(msg, time.Now().UnixNano(), uint64(p.published))
				var err error
				switch {
				case len(p.uids) > 0:
					err = x.SendToUIDs(context.Background(), p.uids, msg, api.Binary)
				case p.group != "":
					err = x.SendToGroup(context.Background(), p.group, msg, api.Binary)
				default:
					err = x.SendToAll(context.Background(), msg, api.Binary)
				}
				if err != nil {
					p.failed++
					if p.firstErr == nil {
						p.firstErr = err
					}
				}
			}
			select {
			case <-p.stopping:
				return
			case <-tick.C:
			}
		}
	}()
}

// stop ends publishing and returns how many messages were published.
func (p *apiPublisher) stop() int64 {
	if !p.started {
		return 0
	}
	p.stopOnce.Do(func() { close(p.stopping) })
	<-p.done
	return p.published
}

// failures describes the sends that failed, "" if none did.
func (p *apiPublisher) failures() string {
	if p.failed == 0 {
		return ""
	}
	return fmt.Sprintf("api publisher: %d of %d sends failed, the first: %v", p.failed, p.published, p.firstErr)
}

// close sends what is queued and leaves the cluster.
func (p *apiPublisher) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.client.Close(ctx)
}
