package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/proc"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// rpcNode is a cluster node started for the rpc modes: its process, the
// loopback address of its rpc server and the URL of its /metrics.
type rpcNode struct {
	srv     *proc.Proc
	rpcAddr string
	metrics string
}

// startRPCNode builds wsgate and starts `wsgate serve --app echo` as a
// one-node cluster (embedded register), everything on loopback, with a
// secret the attackers do not have.
func startRPCNode(cfg config) (*rpcNode, error) {
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return nil, err
	}
	bin, err := proc.BuildWsgate(context.Background(), cfg.outDir)
	if err != nil {
		return nil, err
	}
	var secret [16]byte
	rand.Read(secret[:])
	argv := append([]string{bin, "serve", "--app", "echo", "--listen", "127.0.0.1:0",
		"--register-listen", "127.0.0.1:0", "--rpc", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--log-level", "warn"}, cfg.nodeArgs...)
	srv, err := proc.Start(proc.Spec{
		Name: "server", Argv: argv, CPU: cfg.serverCPU, Log: filepath.Join(cfg.outDir, "server.log"),
		Env: []string{"WSGATE_SECRET=" + hex.EncodeToString(secret[:])},
	})
	if err != nil {
		return nil, err
	}
	line, err := srv.Expect("node ")
	if err != nil {
		srv.Stop()
		return nil, err
	}
	_, rpcAddr, ok := strings.Cut(line, "rpc on ")
	if !ok {
		srv.Stop()
		return nil, fmt.Errorf("no rpc address in %q", line)
	}
	metrics, err := srv.Expect("metrics on ")
	if err != nil {
		srv.Stop()
		return nil, err
	}
	return &rpcNode{srv: srv, rpcAddr: strings.TrimSpace(rpcAddr), metrics: metrics}, nil
}

func (n *rpcNode) rss() int64 {
	r, _, _, _ := bench.ProcessUsage(n.srv.Pid())
	return r
}

// files counts the node's open file descriptors.
func (n *rpcNode) files() int {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.srv.Pid()))
	return len(fds)
}

// figure reads one unlabelled metric of the node's /metrics (-1 if absent).
func (n *rpcNode) figure(name string) float64 {
	resp, err := http.Get(n.metrics)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// describe prints what ran.
func (n *rpcNode) describe(cfg config) {
	argv := strings.Join(append([]string{"wsgate serve --app echo"}, cfg.nodeArgs...), " ")
	fmt.Printf("server: %s, one-node cluster, rpc on %s (pid %d)\n", argv, n.rpcAddr, n.srv.Pid())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// measureRPCCalls makes rounds of concurrent calls without the secret,
// each carrying a large message and each on its own connection, and
// reports what they cost the node and how fast it refused them.
func measureRPCCalls(cfg config) error {
	node, err := startRPCNode(cfg)
	if err != nil {
		return err
	}
	defer node.srv.Stop()

	// One connection per concurrent call, dialed before the RSS is read.
	clients := make([]rpcpb.NodeClient, cfg.rpcCalls)
	for i := range clients {
		conn, err := grpc.NewClient("passthrough:///"+node.rpcAddr,
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("dial rpc: %w", err)
		}
		defer conn.Close()
		conn.Connect()
		clients[i] = rpcpb.NewNodeClient(conn)
	}
	req := &rpcpb.Request{Kind: &rpcpb.Request_BindUid{BindUid: &rpcpb.BindUid{
		ClientId: "attacker", Uid: strings.Repeat("u", cfg.rpcSize),
	}}}
	time.Sleep(time.Second)
	before := node.rss()
	stopPeak := samplePeak(node.rss)

	var (
		mu      sync.Mutex
		lat     []time.Duration
		refused int
		others  = map[codes.Code]int{}
	)
	began := time.Now()
	for range cfg.rpcRounds {
		var wg sync.WaitGroup
		for _, client := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				start := time.Now()
				_, err := client.Call(ctx, req)
				took := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				lat = append(lat, took)
				if code := status.Code(err); code == codes.Unauthenticated {
					refused++
				} else {
					others[code]++
				}
			}()
		}
		wg.Wait()
	}
	attack := time.Since(began)
	peak := stopPeak()
	time.Sleep(cfg.after)
	after := node.rss()

	node.describe(cfg)
	fmt.Printf("attack: %d rounds of %d concurrent calls without the secret, each carrying a %s message on its own connection, in %v\n",
		cfg.rpcRounds, cfg.rpcCalls, mib(int64(cfg.rpcSize)), attack.Round(time.Millisecond))
	fmt.Printf("calls: %d refused (Unauthenticated), other outcomes %v; server counted %.0f refusals (wsgate_rpc_refused_total)\n",
		refused, others, node.figure("wsgate_rpc_refused_total"))
	fmt.Printf("time to refusal, per call: p50 %v, p99 %v, max %v\n", quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1))
	fmt.Printf("server RSS: %s before, %s at most while attacked (%+.1f MiB), %s %v after\n",
		mib(before), mib(peak), float64(peak-before)/(1<<20), mib(after), cfg.after)
	return nil
}

// measureRPCIdle opens -idle-conns TCP connections to the node's rpc port
// (loopback only) that never say anything, and reports how many the node
// held, how many it closed at once over its connection cap, and what they
// cost; the held ones are dropped by the node's handshake timeout, and
// every connection is closed by 30s at the latest.
func measureRPCIdle(cfg config) error {
	node, err := startRPCNode(cfg)
	if err != nil {
		return err
	}
	defer node.srv.Stop()
	if host, _, _ := net.SplitHostPort(node.rpcAddr); !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("rpc address %s is not loopback", node.rpcAddr)
	}
	time.Sleep(time.Second)
	before, filesBefore := node.rss(), node.files()
	stopPeak := samplePeak(node.rss)

	// Each connection's reader records when the node closed it and
	// whether the node wrote first (gRPC sends its settings on accepting):
	// closed with nothing read, it was refused at accept.
	type ending struct {
		after  time.Duration
		read   int64
		closed bool // by the node; else our deadline passed
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		endings []ending
		conns   []net.Conn
	)
	began := time.Now()
	for range cfg.idleConns {
		c, err := net.DialTimeout("tcp", node.rpcAddr, 5*time.Second)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("dial %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(began.Add(30 * time.Second))
			n, err := io.Copy(io.Discard, c)
			e := ending{after: time.Since(began), read: n, closed: err == nil}
			mu.Lock()
			endings = append(endings, e)
			mu.Unlock()
		}()
	}
	opened := time.Since(began)
	time.Sleep(time.Second)
	heldConns, refusedConns := node.figure("wsgate_rpc_connections"), node.figure("wsgate_rpc_connections_refused_total")
	filesDuring, during := node.files(), node.rss()
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	peak := stopPeak()
	time.Sleep(cfg.after)
	after := node.rss()

	var atOnce, held, open int
	var atOnceMax time.Duration
	var heldEnds []time.Duration
	for _, e := range endings {
		switch {
		case !e.closed:
			open++
		case e.read == 0:
			atOnce++
			atOnceMax = max(atOnceMax, e.after)
		default:
			held++
			heldEnds = append(heldEnds, e.after)
		}
	}
	node.describe(cfg)
	fmt.Printf("attack: %d TCP connections to the rpc port that send nothing, opened in %v\n",
		cfg.idleConns, opened.Round(time.Millisecond))
	fmt.Printf("1 s later the server held %.0f rpc connections (wsgate_rpc_connections) and had closed %.0f over its cap (wsgate_rpc_connections_refused_total); open files %d before, %d then\n",
		heldConns, refusedConns, filesBefore, filesDuring)
	fmt.Printf("connections: %d closed at accept with nothing written (all within %v of the first dial), %d held and then closed by the server %v to %v after the first dial, %d still open at 30 s\n",
		atOnce, atOnceMax.Round(time.Millisecond), held, quantile(heldEnds, 0), quantile(heldEnds, 1), open)
	fmt.Printf("server RSS: %s before, %s 1 s after the connections opened, %s at most, %s %v after they all closed\n",
		mib(before), mib(during), mib(peak), mib(after), cfg.after)
	return nil
}
