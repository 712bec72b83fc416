// Command hostile measures what memory attacks cost `wsgate serve`: in one
// run it starts a node of --app echo with default settings, reads its RSS,
// has -attackers connections each send all but the last byte of a
// -frame-size frame (so each would hold a partial frame of that size), and
// meanwhile times a legitimate client's echoes. Then the attackers close
// and, -after later, the RSS is read again. Run it from the repository
// root:
//
//	go run ./bench/hostile                    # 40 attackers x 16 MiB
//	go run ./bench/hostile -node-args "--inbound-budget -1"   # without the bound
//
// Two modes attack the node-to-node rpc port of a one-node cluster
// instead, without the cluster secret: -mode rpc makes rounds of
// concurrent calls each carrying a large message, and reports the node's
// RSS and how fast each call was refused; -mode rpc-idle opens many TCP
// connections that send nothing, and reports how many the node held and
// how many it closed at once over its connection cap (--rpc-max-conns).
//
//	go run ./bench/hostile -mode rpc          # 5 rounds of 20 calls x 16 MiB
//	go run ./bench/hostile -mode rpc-idle     # 2,000 idle connections
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/proc"
)

type config struct {
	mode      string // partial, large, rpc or rpc-idle
	attackers int
	frameSize int64
	hold      time.Duration // attackers keep their partial frames this long
	after     time.Duration // RSS is read again this long after they close
	echoRate  int           // the legitimate client's messages per second
	nodeArgs  []string
	serverCPU string
	outDir    string

	rpcCalls, rpcRounds, rpcSize int // -mode rpc
	idleConns                    int // -mode rpc-idle
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("hostile", flag.ContinueOnError)
	var cfg config
	var nodeArgs string
	fs.StringVar(&cfg.mode, "mode", "partial", "partial: each attacker holds all but the last byte of a frame; large: each sends whole -frame-size messages back to back for -hold (legal, but large); rpc: calls without the secret to the rpc port; rpc-idle: silent connections to the rpc port")
	fs.IntVar(&cfg.attackers, "attackers", 40, "attacking connections")
	fs.Int64Var(&cfg.frameSize, "frame-size", 16<<20, "the frame each attacker declares; it sends all but its last byte")
	fs.DurationVar(&cfg.hold, "hold", 5*time.Second, "how long the attackers keep their partial frames")
	fs.DurationVar(&cfg.after, "after", 10*time.Second, "when, after the attackers close, the RSS is read again")
	fs.IntVar(&cfg.echoRate, "echo-rate", 200, "the legitimate client's echoes per second")
	fs.IntVar(&cfg.rpcCalls, "rpc-calls", 20, "rpc: concurrent calls in a round, each on its own connection")
	fs.IntVar(&cfg.rpcRounds, "rpc-rounds", 5, "rpc: rounds of calls, one after the other")
	fs.IntVar(&cfg.rpcSize, "rpc-size", 16<<20, "rpc: bytes each call carries")
	fs.IntVar(&cfg.idleConns, "idle-conns", 2000, "rpc-idle: connections to open, at most 10000")
	fs.StringVar(&nodeArgs, "node-args", "", "more `arguments` for wsgate serve, space-separated")
	fs.StringVar(&cfg.serverCPU, "server-cpu", "0", "core list the server is pinned to (\"\": none)")
	fs.StringVar(&cfg.outDir, "out", "", "directory for the server's log (default bench/out/hostile-TIME)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	measure := measure
	switch cfg.mode {
	case "partial", "large":
	case "rpc":
		measure = measureRPCCalls
	case "rpc-idle":
		measure = measureRPCIdle
	default:
		fmt.Fprintln(os.Stderr, "hostile: -mode is partial, large, rpc or rpc-idle")
		return 2
	}
	if cfg.rpcCalls < 1 || cfg.rpcRounds < 1 || cfg.rpcSize < 1 || cfg.idleConns < 1 || cfg.idleConns > 10000 {
		fmt.Fprintln(os.Stderr, "hostile: -rpc-calls, -rpc-rounds, -rpc-size must be positive, -idle-conns 1 to 10000")
		return 2
	}
	if cfg.attackers < 1 || cfg.frameSize < 2 || cfg.hold <= 0 || cfg.after < 0 || cfg.echoRate < 1 {
		fmt.Fprintln(os.Stderr, "hostile: -attackers, -frame-size, -hold and -echo-rate must be positive")
		return 2
	}
	cfg.nodeArgs = strings.Fields(nodeArgs)
	if cfg.outDir == "" {
		cfg.outDir = filepath.Join("bench", "out", "hostile-"+time.Now().UTC().Format("20060102-150405"))
	}
	if err := measure(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "hostile: %v\n", err)
		return 1
	}
	return 0
}

func measure(cfg config) error {
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return err
	}
	bin, err := proc.BuildWsgate(context.Background(), cfg.outDir)
	if err != nil {
		return err
	}
	argv := append([]string{bin, "serve", "--app", "echo", "--listen", "127.0.0.1:0", "--register-listen=", "--log-level", "warn"}, cfg.nodeArgs...)
	srv, err := proc.Start(proc.Spec{Name: "server", Argv: argv, CPU: cfg.serverCPU, Log: filepath.Join(cfg.outDir, "server.log")})
	if err != nil {
		return err
	}
	defer srv.Stop()
	addr, err := srv.Expect("listening on ")
	if err != nil {
		return err
	}
	url := "ws://" + addr + "/ws"
	rss := func() int64 {
		r, _, _, _ := bench.ProcessUsage(srv.Pid())
		return r
	}

	echo, err := startEcho(url, cfg.echoRate)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	before := rss()

	// The attackers: each declares a frame and sends all but its last byte.
	var (
		wg               sync.WaitGroup
		holding, refused atomic.Int64
		attackers        []net.Conn
		mu               sync.Mutex
		attackErr        error
	)
	stopPeak := samplePeak(rss) // the RSS's high point while they attack
	began := time.Now()
	if cfg.mode == "large" {
		var sent atomic.Int64
		for range cfg.attackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := flood(url, cfg.frameSize, cfg.hold)
				sent.Add(n)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && attackErr == nil {
					attackErr = err
				}
			}()
		}
		wg.Wait()
		peak := stopPeak()
		lat, echoErr := echo.stop()
		if attackErr != nil {
			return fmt.Errorf("attacker: %w", attackErr)
		}
		if echoErr != nil {
			return fmt.Errorf("legitimate client: %w", echoErr)
		}
		fmt.Printf("server: wsgate serve --app echo %s (pid %d)\n", strings.Join(cfg.nodeArgs, " "), srv.Pid())
		fmt.Printf("attackers: %d sending %.0f MiB messages back to back for %v: %d sent and echoed\n",
			cfg.attackers, float64(cfg.frameSize)/(1<<20), cfg.hold, sent.Load())
		fmt.Printf("server RSS: %.0f MiB before, %.0f MiB at most\n", float64(before)/(1<<20), float64(peak)/(1<<20))
		fmt.Printf("legitimate echo, %d/s, %d round trips from 1 s before the flood until it ended: p50 %v, p99 %v, max %v\n",
			cfg.echoRate, len(lat), quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1))
		return nil
	}
	for range cfg.attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := attack(url, cfg.frameSize)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				holding.Add(1)
				attackers = append(attackers, c)
			case errors.Is(err, errRefused):
				refused.Add(1)
			case attackErr == nil:
				attackErr = err
			}
		}()
	}
	wg.Wait()
	sent := time.Since(began)
	time.Sleep(cfg.hold)
	during := rss()
	for _, c := range attackers {
		c.Close()
	}
	closed := time.Now()
	peak := stopPeak()
	lat, echoErr := echo.stop()
	time.Sleep(time.Until(closed.Add(cfg.after)))
	after := rss()
	if attackErr != nil {
		return fmt.Errorf("attacker: %w", attackErr)
	}
	if echoErr != nil {
		return fmt.Errorf("legitimate client: %w", echoErr)
	}

	mib := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	fmt.Printf("server: wsgate serve --app echo %s (pid %d)\n", strings.Join(cfg.nodeArgs, " "), srv.Pid())
	fmt.Printf("attackers: %d x %s partial frames, sent in %v: %d held, %d refused (closed by the server)\n",
		cfg.attackers, mib(cfg.frameSize), sent.Round(time.Millisecond), holding.Load(), refused.Load())
	fmt.Printf("server RSS: %s before, %s at most while attacked, %s after %v held, %s %v after they closed (%+.0f%% of before)\n",
		mib(before), mib(peak), mib(during), cfg.hold, mib(after), cfg.after, 100*float64(after-before)/float64(before))
	fmt.Printf("legitimate echo, %d/s, %d round trips from 1 s before the attack until it ended: p50 %v, p99 %v, max %v\n",
		cfg.echoRate, len(lat), quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1))
	return nil
}

// floodWindow is how many messages a flooding attacker keeps in flight.
const floodWindow = 2

// flood sends whole messages of size bytes back to back for d (a few in
// flight), reading their echoes, and returns how many came back.
func flood(url string, size int64, d time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, url)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	payload := make([]byte, size)
	var echoed atomic.Int64
	readDone := make(chan error, 1)
	go func() {
		for {
			if _, err := wsutil.ReadServerBinary(c); err != nil {
				readDone <- err
				return
			}
			echoed.Add(1)
		}
	}()
	deadline := time.Now().Add(d)
	sent := int64(0)
	for time.Now().Before(deadline) {
		// At most floodWindow messages in flight: the server's outbound
		// budget closes a client that does not read its echoes.
		for sent-echoed.Load() >= floodWindow {
			select {
			case err := <-readDone:
				return echoed.Load(), fmt.Errorf("read: %w", err)
			case <-time.After(100 * time.Microsecond):
			}
		}
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if err := wsutil.WriteClientBinary(c, payload); err != nil {
			return echoed.Load(), fmt.Errorf("send: %w", err)
		}
		sent++
	}
	for echoed.Load() < sent {
		select {
		case err := <-readDone:
			return echoed.Load(), fmt.Errorf("read: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(deadline) > 30*time.Second {
			return echoed.Load(), fmt.Errorf("%d of %d echoes missing", sent-echoed.Load(), sent)
		}
	}
	return echoed.Load(), nil
}

// errRefused: the server closed the attacker's connection before it sent
// its whole partial frame.
var errRefused = errors.New("refused")

// attack opens a connection and sends a frame header declaring size bytes,
// then all but the last of them, and returns the open connection.
func attack(url string, size int64) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	var mask [4]byte
	rand.Read(mask[:])
	if err := ws.WriteHeader(c, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: size}); err != nil {
		c.Close()
		return nil, errRefused
	}
	chunk := make([]byte, 64<<10)
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	for left := size - 1; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := c.Write(chunk[:n]); err != nil {
			c.Close()
			return nil, errRefused
		}
		left -= n
	}
	// A refused frame's close may arrive just after the last write.
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(chunk[:1]); err == nil || !isTimeout(err) {
		c.Close()
		return nil, errRefused
	}
	return c, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// echoClient sends a small text message at a fixed rate and times each
// echo.
type echoClient struct {
	conn     net.Conn
	stopping chan struct{}
	done     chan struct{}
	lat      []time.Duration
	err      error
}

func startEcho(url string, rate int) (*echoClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("legitimate client: %w", err)
	}
	e := &echoClient{conn: c, stopping: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		msg := []byte(strings.Repeat("e", 64))
		for {
			select {
			case <-e.stopping:
				return
			case <-tick.C:
			}
			sent := time.Now()
			c.SetDeadline(sent.Add(10 * time.Second))
			if err := wsutil.WriteClientText(c, msg); err != nil {
				e.err = err
				return
			}
			got, err := wsutil.ReadServerText(c)
			if err != nil {
				e.err = err
				return
			}
			if string(got) != string(msg) {
				e.err = fmt.Errorf("echo of %d bytes is %q", len(msg), got)
				return
			}
			e.lat = append(e.lat, time.Since(sent))
		}
	}()
	return e, nil
}

// stop ends the client and returns its round trips.
func (e *echoClient) stop() ([]time.Duration, error) {
	close(e.stopping)
	<-e.done
	e.conn.Close()
	return e.lat, e.err
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))].Round(10 * time.Microsecond)
}

// samplePeak samples rss every 50ms until stop is called, which returns
// the highest sample.
func samplePeak(rss func() int64) (stop func() int64) {
	var peak atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			peak.Store(max(peak.Load(), rss()))
			select {
			case <-quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(quit)
		<-done
		return peak.Load()
	}
}
