package clustertest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
)

// The no-loss load: senders on every node push numbered messages to
// clients owned by the other nodes, through the three kinds of send that
// cross the cluster, and the receiving WebSockets check that each one
// arrives exactly once and in order per sender.
const (
	lossNodes     = 3
	lossReceivers = 4 // WebSocket clients per node
	lossSenders   = 6 // sending goroutines, spread over the nodes
	// lossWindow caps one sender's deliveries in flight: it paces the
	// senders to what the receivers take, so that no outbound budget or
	// rpc queue fills up.
	lossWindow = 2000
	// lossDeadline bounds the whole run, far above its expected time.
	lossDeadline = 2 * time.Minute
)

// lossMessages is how many sends the run makes in all: a million, or a
// tenth of it under the race detector, which slows everything ten-fold.
func lossMessages() int {
	if raceEnabled {
		return 200_000
	}
	return 1_000_000
}

// The kinds of send; a message's kind is its number modulo kinds.
const (
	viaClient = iota // SendToClient (Async, one in a hundred not) to one client of another node
	viaUID           // SendToUID to a uid on another node
	viaGroup         // SendToGroup to a group with a member on each other node
	kinds
)

// lossMessage is what a sender sends: sender, kind, sequence within
// (sender, kind).
const lossMessageLen = 16

func encodeLoss(b []byte, sender, kind int, seq uint64) {
	binary.BigEndian.PutUint32(b[0:4], uint32(sender))
	binary.BigEndian.PutUint32(b[4:8], uint32(kind))
	binary.BigEndian.PutUint64(b[8:16], seq)
}

// namedApp records the clientID of each connection under the name given
// in its handshake query (?name=N), so the test can address its sockets.
type namedApp struct {
	mu    sync.Mutex
	ids   map[string]string
	added chan struct{}
}

func newNamedApp() *namedApp {
	return &namedApp{ids: map[string]string{}, added: make(chan struct{}, 64)}
}

func (a *namedApp) OnHandshake(h *api.Handshake) error {
	a.mu.Lock()
	a.ids[h.Query.Get("name")] = h.ClientID
	a.mu.Unlock()
	return nil
}
func (a *namedApp) OnConnect(string)              {}
func (a *namedApp) OnMessage(string, api.Message) {}
func (a *namedApp) OnClose(string)                {}

func (a *namedApp) id(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ids[name]
}

// startInProcessCluster runs a register and n gateways with apps[i] on
// 127.0.0.(i+1), and waits until each reaches all the others.
func startInProcessCluster(t *testing.T, apps []api.Application, log *slog.Logger) []*api.Gateway {
	t.Helper()
	return gatewaytest.StartCluster(t, api.Options{Logger: log}, apps...)
}

// receiver is one WebSocket client of the no-loss test, read by its own
// goroutine. next[sender][kind] is the sequence it expects next.
type receiver struct {
	name     string
	conn     net.Conn
	next     [lossSenders][kinds]uint64
	acks     *[lossSenders]atomic.Int64 // deliveries per sender, for the senders' window
	problems []string                   // the first few order or duplicate faults
	faults   int
	err      error // why reading stopped early
}

// read takes frames until the connection ends, answering pings.
func (r *receiver) read(br *bufio.Reader) {
	var buf [lossMessageLen]byte
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			r.err = err
			return
		}
		if h.OpCode.IsControl() {
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				r.err = err
				return
			}
			switch h.OpCode {
			case ws.OpPing:
				ws.WriteFrame(r.conn, ws.MaskFrame(ws.NewPongFrame(p)))
			case ws.OpClose:
				r.err = errors.New("closed by the server")
				return
			}
			continue
		}
		if h.Length != lossMessageLen || !h.Fin {
			r.err = fmt.Errorf("unexpected frame: %+v", h)
			return
		}
		if _, err := io.ReadFull(br, buf[:]); err != nil {
			r.err = err
			return
		}
		sender := int(binary.BigEndian.Uint32(buf[0:4]))
		kind := int(binary.BigEndian.Uint32(buf[4:8]))
		seq := binary.BigEndian.Uint64(buf[8:16])
		if sender >= lossSenders || kind >= kinds {
			r.err = fmt.Errorf("message from unknown sender %d kind %d", sender, kind)
			return
		}
		if want := r.next[sender][kind]; seq != want {
			r.faults++
			if len(r.problems) < 5 {
				r.problems = append(r.problems, fmt.Sprintf("from sender %d kind %d: seq %d, want %d", sender, kind, seq, want))
			}
			if seq < want {
				continue // a duplicate or a late one: not counted again
			}
		}
		r.next[sender][kind] = seq + 1
		r.acks[sender].Add(1)
	}
}

// target is where one sender's messages of each kind go.
type target struct {
	client string             // clientID for SendToClient
	uid    string             // uid for SendToUID
	group  string             // group for SendToGroup
	recips [kinds][]*receiver // who gets each kind
	sent   [kinds]uint64      // messages of each kind sent without error
}

// TestNoLossAcrossNodes sends a million messages across a three-node
// cluster under load and checks at the receiving WebSockets that every one
// arrived exactly once and in order per sender.
func TestNoLossAcrossNodes(t *testing.T) {
	total := lossMessages()
	perSender := (total + lossSenders - 1) / lossSenders

	apps := make([]api.Application, lossNodes)
	named := make([]*namedApp, lossNodes)
	for i := range apps {
		named[i] = newNamedApp()
		apps[i] = named[i]
	}
	// The nodes' logs (a peer stream that broke or a peer dropped, say) explain a loss.
	logs := &testutil.LogBuffer{}
	nodes := startInProcessCluster(t, apps, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	defer func() {
		if t.Failed() {
			t.Logf("node logs:\n%s", logs)
		}
	}()

	var acks [lossSenders]atomic.Int64
	recv := make([][]*receiver, lossNodes)
	var readers sync.WaitGroup
	for n, g := range nodes {
		for i := range lossReceivers {
			name := fmt.Sprintf("r%d-%d", n, i)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			conn, br, _, err := ws.Dial(ctx, fmt.Sprintf("ws://%s/ws?name=%s", g.Addr(), name))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			r := &receiver{name: name, conn: conn, acks: &acks}
			if br == nil {
				br = bufio.NewReaderSize(conn, 64<<10)
			} else {
				br = bufio.NewReaderSize(io.MultiReader(br, conn), 64<<10)
			}
			readers.Add(1)
			go func() { defer readers.Done(); r.read(br) }()
			recv[n] = append(recv[n], r)
		}
	}
	clientID := func(node, i int) string {
		id := named[node].id(fmt.Sprintf("r%d-%d", node, i))
		if id == "" {
			t.Fatalf("no clientID for receiver %d on node %d", i, node)
		}
		return id
	}

	// Sender s lives on node s%3. Its clients are on the other two nodes:
	// one client, one uid, one group with a member on each.
	ctx := context.Background()
	targets := make([]target, lossSenders)
	for s := range lossSenders {
		home, j := s%lossNodes, s/lossNodes
		n1, n2 := (home+1)%lossNodes, (home+2)%lossNodes
		tg := &targets[s]
		tg.client = clientID(n1, j%lossReceivers)
		tg.recips[viaClient] = []*receiver{recv[n1][j%lossReceivers]}
		tg.uid = fmt.Sprint("uid-", s)
		must(t, nodes[home].Api().BindUID(ctx, clientID(n2, (j+1)%lossReceivers), tg.uid))
		tg.recips[viaUID] = []*receiver{recv[n2][(j+1)%lossReceivers]}
		tg.group = fmt.Sprint("group-", s)
		must(t, nodes[home].Api().JoinGroup(ctx, clientID(n1, (j+2)%lossReceivers), tg.group))
		must(t, nodes[home].Api().JoinGroup(ctx, clientID(n2, (j+3)%lossReceivers), tg.group))
		tg.recips[viaGroup] = []*receiver{recv[n1][(j+2)%lossReceivers], recv[n2][(j+3)%lossReceivers]}
	}

	t0 := time.Now()
	deadline := t0.Add(lossDeadline)
	var failed atomic.Int64 // sends that returned an error
	var firstErr atomic.Value
	var senders sync.WaitGroup
	for s := range lossSenders {
		senders.Add(1)
		go func() {
			defer senders.Done()
			a := nodes[s%lossNodes].Api()
			tg := &targets[s]
			var seq [kinds]uint64
			var expected int64 // deliveries this sender's sends make
			for k := range perSender {
				// Pace: wait while too many deliveries are still on the way.
				for expected-acks[s].Load() > lossWindow {
					if time.Now().After(deadline) {
						return
					}
					time.Sleep(50 * time.Microsecond)
				}
				kind := k % kinds
				msg := make([]byte, lossMessageLen)
				encodeLoss(msg, s, kind, seq[kind])
				var err error
				switch kind {
				case viaClient:
					// Mostly Async; now and then one that first asks the
					// owner, which must keep its place in the order.
					if k%(100*kinds) == 0 {
						err = a.SendToClient(ctx, tg.client, msg, api.Binary)
					} else {
						err = a.SendToClient(ctx, tg.client, msg, api.Binary, api.Async())
					}
				case viaUID:
					err = a.SendToUID(ctx, tg.uid, msg, api.Binary)
				case viaGroup:
					err = a.SendToGroup(ctx, tg.group, msg, api.Binary)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue // not sent: the receivers do not expect it
				}
				seq[kind]++
				expected += int64(len(tg.recips[kind]))
			}
			// Record what each receiver should have of this sender.
			for kind := range kinds {
				tg.sent[kind] = seq[kind]
			}
		}()
	}
	senders.Wait()
	sendTime := time.Since(t0)

	var want int64
	for s := range lossSenders {
		for kind := range kinds {
			want += int64(targets[s].sent[kind]) * int64(len(targets[s].recips[kind]))
		}
	}
	delivered := func() int64 {
		var n int64
		for s := range acks {
			n += acks[s].Load()
		}
		return n
	}
	// Wait for the last deliveries, giving up early if they stop coming.
	const stalled = 10 * time.Second
	last, lastChange := delivered(), time.Now()
	for last < want && time.Now().Before(deadline) && time.Since(lastChange) < stalled {
		time.Sleep(time.Millisecond) // poll the receivers' counters
		if n := delivered(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	elapsed := time.Since(t0)
	// Stop the readers to read their state safely.
	for _, rs := range recv {
		for _, r := range rs {
			r.conn.Close()
		}
	}
	readers.Wait()

	t.Logf("%d messages (%d deliveries) across %d nodes in %v (sends done after %v): %.0f msgs/s; %d failed sends",
		total, want, lossNodes, elapsed.Round(time.Millisecond), sendTime.Round(time.Millisecond),
		float64(total)/elapsed.Seconds(), failed.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d sends failed under the designed load, first: %v", n, firstErr.Load())
	}
	if got := delivered(); got != want {
		t.Errorf("delivered %d of %d within %v", got, want, lossDeadline)
	}
	for s := range lossSenders {
		for kind := range kinds {
			for _, r := range targets[s].recips[kind] {
				if got := r.next[s][kind]; got != targets[s].sent[kind] {
					t.Errorf("%s has %d messages of kind %d from sender %d, want %d", r.name, got, kind, s, targets[s].sent[kind])
				}
			}
		}
	}
	for _, rs := range recv {
		for _, r := range rs {
			if r.err != nil && !errors.Is(r.err, net.ErrClosed) {
				t.Errorf("%s stopped reading early: %v", r.name, r.err)
			}
			if r.faults > 0 {
				t.Errorf("%s: %d duplicates or out of order, e.g. %v", r.name, r.faults, r.problems)
			}
			for s := range lossSenders {
				for kind := range kinds {
					if r.next[s][kind] > 0 && !slices.Contains(targets[s].recips[kind], r) {
						t.Errorf("%s got messages of kind %d from sender %d meant for others", r.name, kind, s)
					}
				}
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
