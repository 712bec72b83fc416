// Command httpapi measures the HTTP Api of `wsgate serve`: it builds
// wsgate, starts a register and three nodes of --app echo on 127.0.0.1-3
// (the first with --api-listen), connects -users WebSocket clients spread
// over the three, binds each to a uid of its own through the HTTP Api, and
// then calls SendToUID over HTTP with keep-alive from -workers goroutines
// for -duration: one call a request, then -batch calls a request on the
// batch route. Each client counts what it receives; a phase reports
// requests/s, messages/s, latency percentiles and the messages lost (sent
// with a 200 and never received). Run it from the repository root:
//
//	go run ./bench/httpapi                    # 300 users, 16 workers, 10s phases
//	go run ./bench/httpapi -duration 3s -users 30
//
// Everything is on loopback, and the load runs in this process, so the
// nodes and the load share the machine's cores.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgate/wsgate/bench/internal/proc"
)

type config struct {
	users, workers, batch int
	duration              time.Duration
	outDir                string
	profile               string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.users, "users", 300, "WebSocket clients, each its own uid, spread over the three nodes")
	flag.IntVar(&cfg.workers, "workers", 16, "concurrent HTTP requests (one keep-alive connection each)")
	flag.IntVar(&cfg.batch, "batch", 100, "SendToUID calls per request in the batch phase")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each phase")
	flag.StringVar(&cfg.outDir, "out", filepath.Join(os.TempDir(), "wsgate-httpapi"), "where the binary and the logs go")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of node 1 (the HTTP Api's node) over the single-call phase to this file")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "httpapi:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return err
	}
	bin, err := proc.BuildWsgate(context.Background(), cfg.outDir)
	if err != nil {
		return err
	}
	secret, key := randomHex(), randomHex()
	var procs []*proc.Proc
	defer func() {
		for _, p := range slices.Backward(procs) {
			p.Stop()
		}
	}()
	reg, err := proc.Start(proc.Spec{Name: "register", Log: filepath.Join(cfg.outDir, "register.log"),
		Argv: []string{bin, "register", "--listen", "127.0.0.1:0", "--secret", secret, "--log-level", "warn"}})
	if err != nil {
		return err
	}
	procs = append(procs, reg)
	regAddr, err := reg.Expect("register listening on ")
	if err != nil {
		return err
	}
	var wsURLs []string
	var apiURL, metricsURL string
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		argv := []string{bin, "serve", "--app", "echo", "--log-level", "warn", "--listen", ip + ":0", "--rpc", ip + ":0",
			"--register", regAddr, "--secret", secret}
		if i == 1 {
			argv = append(argv, "--api-listen", ip+":0", "--metrics-listen", ip+":0")
		}
		p, err := proc.Start(proc.Spec{Name: fmt.Sprint("node", i), Argv: argv, Log: filepath.Join(cfg.outDir, fmt.Sprintf("node%d.log", i)),
			Env: []string{"WSGATE_API_KEY=" + key}})
		if err != nil {
			return err
		}
		procs = append(procs, p)
		addr, err := p.Expect("listening on ")
		if err != nil {
			return err
		}
		wsURLs = append(wsURLs, "ws://"+addr+"/ws")
		if i == 1 {
			if apiURL, err = p.Expect("HTTP Api on "); err != nil {
				return err
			}
			if metricsURL, err = p.Expect("metrics on "); err != nil {
				return err
			}
		}
	}
	c := &caller{base: apiURL, key: key, http: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.workers, MaxConnsPerHost: cfg.workers, DisableCompression: true,
	}}}
	users, err := connect(c, wsURLs, cfg.users)
	if err != nil {
		return err
	}
	fmt.Printf("%d users on 3 nodes, HTTP Api on node 1, %d workers, %v a phase\n", len(users), cfg.workers, cfg.duration)
	for _, batch := range []int{1, cfg.batch} {
		var profiled chan error
		if batch == 1 && cfg.profile != "" {
			profiled = make(chan error, 1)
			go func() { profiled <- profile(metricsURL, cfg.duration, cfg.profile) }()
		}
		res, err := phase(c, users, cfg, batch)
		if profiled != nil {
			if err := <-profiled; err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		fmt.Println(res)
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// caller calls the HTTP Api.
type caller struct {
	base, key string
	http      *http.Client
}

// call posts body to route and decodes the answer into out (if not nil);
// anything but a 200 is an error.
func (c *caller) call(route string, body []byte, out any) error {
	req, err := http.NewRequest(http.MethodPost, c.base+route, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", route, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// user is one WebSocket client, bound to its own uid.
type user struct {
	uid  string
	conn net.Conn
	got  atomic.Int64 // messages received after the setup
}

// connect dials n clients round-robin over urls, learns each one's
// clientID (the HTTP Api sends every client its id), binds each to a uid,
// and starts counting what each receives.
func connect(c *caller, urls []string, n int) ([]*user, error) {
	users := make([]*user, n)
	for i := range users {
		conn, _, _, err := ws.Dial(context.Background(), urls[i%len(urls)])
		if err != nil {
			return nil, fmt.Errorf("dial user %d: %w", i, err)
		}
		users[i] = &user{uid: fmt.Sprint("u", i), conn: conn}
	}
	var ids struct{ Result []string }
	deadline := time.Now().Add(10 * time.Second)
	for len(ids.Result) != n { // every node has answered, with every client
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the cluster lists %d clients, want %d", len(ids.Result), n)
		}
		ids.Result = nil
		if err := c.call("GetAllClientIDs", []byte("{}"), &ids); err != nil {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond) // poll the mesh
	}
	var calls []map[string]any
	for _, id := range ids.Result {
		calls = append(calls, map[string]any{"call": "SendToClient", "args": map[string]any{"clientId": id, "message": id}})
	}
	if err := batch(c, calls); err != nil {
		return nil, err
	}
	calls = calls[:0]
	for _, u := range users {
		id, _, err := wsutil.ReadServerData(u.conn)
		if err != nil {
			return nil, fmt.Errorf("read own id: %w", err)
		}
		calls = append(calls, map[string]any{"call": "BindUID", "args": map[string]any{"clientId": string(id), "uid": u.uid}})
	}
	if err := batch(c, calls); err != nil {
		return nil, err
	}
	for _, u := range users {
		go func() {
			for {
				if _, _, err := wsutil.ReadServerData(u.conn); err != nil {
					return
				}
				u.got.Add(1)
			}
		}()
	}
	return users, nil
}

// batch makes calls on the batch route and fails on any failed call.
func batch(c *caller, calls []map[string]any) error {
	body, err := json.Marshal(map[string]any{"calls": calls})
	if err != nil {
		return err
	}
	var res struct{ Results []struct{ Status int } }
	if err := c.call("batch", body, &res); err != nil {
		return err
	}
	for i, r := range res.Results {
		if r.Status != http.StatusOK {
			return fmt.Errorf("batch call %d: status %d", i, r.Status)
		}
	}
	return nil
}

// result is one phase's figures.
type result struct {
	batch              int
	requests, messages int64
	errors             int64
	elapsed            time.Duration
	lost               int64
	p50, p99, max      time.Duration
}

func (r result) String() string {
	route := "SendToUID, one call a request"
	if r.batch > 1 {
		route = fmt.Sprintf("batch of %d SendToUID", r.batch)
	}
	s := r.elapsed.Seconds()
	return fmt.Sprintf("%-32s %8.0f requests/s %9.0f messages/s  p50 %v  p99 %v  max %v  errors %d  lost %d",
		route+":", float64(r.requests)/s, float64(r.messages)/s, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond),
		r.max.Round(10*time.Microsecond), r.errors, r.lost)
}

// phase runs cfg.workers workers for cfg.duration, each request carrying
// n SendToUID calls (the SendToUID route when n is 1), then waits for the
// clients to have received every message sent.
func phase(c *caller, users []*user, cfg config, n int) (result, error) {
	want := make([]atomic.Int64, len(users))
	for i, u := range users {
		want[i].Store(u.got.Load())
	}
	var next atomic.Int64
	var requests, messages, errs atomic.Int64
	lat := make([][]time.Duration, cfg.workers)
	began := time.Now()
	stop := began.Add(cfg.duration)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range cfg.workers {
		wg.Go(func() {
			var body []byte
			for time.Now().Before(stop) {
				first := int(next.Add(int64(n))) - n
				msg := strconv.Itoa(first)
				route := "SendToUID"
				if n == 1 {
					body = fmt.Appendf(body[:0], `{"uid":"%s","message":"%s"}`, users[first%len(users)].uid, msg)
				} else {
					route = "batch"
					body = append(body[:0], `{"calls":[`...)
					for k := range n {
						if k > 0 {
							body = append(body, ',')
						}
						body = fmt.Appendf(body, `{"call":"SendToUID","args":{"uid":"%s","message":"%s"}}`, users[(first+k)%len(users)].uid, msg)
					}
					body = append(body, "]}"...)
				}
				t0 := time.Now()
				err := c.call(route, body, nil)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				// A batch answers 200 with an error per failed call; none
				// fails here (every uid is bound), and loss would show.
				requests.Add(1)
				messages.Add(int64(n))
				for k := range n {
					want[(first+k)%len(users)].Add(1)
				}
			}
		})
	}
	wg.Wait()
	r := result{batch: n, elapsed: time.Since(began), requests: requests.Load(), messages: messages.Load(), errors: errs.Load()}
	if err, ok := firstErr.Load().(error); ok {
		fmt.Println("first error:", err)
	}
	// Wait for the deliveries to land, then count what never did.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.lost = 0
		for i, u := range users {
			r.lost += max(0, want[i].Load()-u.got.Load())
		}
		if r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // poll the counts
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		r.p50, r.p99, r.max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return r, nil
}

// profile writes a CPU profile of the node whose /metrics is at
// metricsURL, taken over most of a phase of length d.
func profile(metricsURL string, d time.Duration, path string) error {
	secs := max(1, int((d - time.Second).Seconds()))
	url := strings.TrimSuffix(metricsURL, "/metrics") + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs)
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}
