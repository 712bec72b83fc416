// Command drain measures how `wsgate serve` closes its clients on SIGTERM:
// it builds wsgate, starts a node of --app echo as a one-node cluster
// (embedded register) with the given --drain-window, connects -conns
// clients, sends the node SIGTERM, and records when each client got its
// close frame, with which code and reason. It prints the closes per
// -bucket, when /readyz turned 503 and when the process exited. Run it
// from the repository root:
//
//	go run ./bench/drain                            # 10,000 clients, 10s window
//	go run ./bench/drain -conns 2000 -window 0s     # all at once, to compare
//
// Everything is on loopback. The clients are one goroutine each, blocked
// in a read: fine for tens of thousands, not for a million.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/bench/internal/proc"
)

type config struct {
	conns   int
	window  time.Duration
	timeout time.Duration
	bucket  time.Duration
	dialers int
	outDir  string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.conns, "conns", 10_000, "clients to connect before SIGTERM")
	flag.DurationVar(&cfg.window, "window", 10*time.Second, "the node's --drain-window")
	flag.DurationVar(&cfg.timeout, "timeout", 15*time.Second, "the node's --drain-timeout")
	flag.DurationVar(&cfg.bucket, "bucket", time.Second, "width of a bucket in the closes-over-time table")
	flag.IntVar(&cfg.dialers, "dialers", 64, "clients connecting at once")
	flag.StringVar(&cfg.outDir, "out", filepath.Join(os.TempDir(), "wsgate-drain"), "where the binary and the node's log go")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "drain:", err)
		os.Exit(1)
	}
}

// closeEvent is what one client saw.
type closeEvent struct {
	at     time.Duration // since SIGTERM
	code   ws.StatusCode
	reason string
	err    error // the connection ended without a close frame
}

func run(cfg config) error {
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return err
	}
	bin, err := proc.BuildWsgate(context.Background(), cfg.outDir)
	if err != nil {
		return err
	}
	argv := []string{bin, "serve", "--app", "echo", "--listen", "127.0.0.1:0",
		"--register-listen", "127.0.0.1:0", "--rpc", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--max-conns", fmt.Sprint(cfg.conns + 1000), "--log-level", "warn",
		"--drain-window", cfg.window.String(), "--drain-timeout", cfg.timeout.String()}
	node, err := proc.Start(proc.Spec{Name: "node", Argv: argv, Log: filepath.Join(cfg.outDir, "node.log")})
	if err != nil {
		return err
	}
	defer node.Stop()
	addr, err := node.Expect("listening on ")
	if err != nil {
		return err
	}
	metrics, err := node.Expect("metrics on ")
	if err != nil {
		return err
	}
	readyz := strings.TrimSuffix(metrics, "/metrics") + "/readyz"
	fmt.Printf("node: %s (pid %d)\n", strings.Join(append([]string{"wsgate"}, argv[1:]...), " "), node.Pid())

	conns, err := connect(cfg, "ws://"+addr+"/ws")
	if err != nil {
		return err
	}
	fmt.Printf("connected %d clients\n", len(conns))

	events := make(chan closeEvent, len(conns))
	var t0 time.Time
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range conns {
		wg.Go(func() {
			<-start
			events <- awaitClose(c, func() time.Duration { return time.Since(t0) })
		})
	}
	t0 = time.Now()
	close(start)
	if err := node.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	unready := pollUnready(readyz, t0)
	wg.Wait()
	close(events)
	<-node.Done()
	exited := time.Since(t0)

	var got []closeEvent
	for e := range events {
		got = append(got, e)
	}
	report(cfg, got, <-unready, exited)
	return nil
}

// connect opens cfg.conns clients, cfg.dialers at a time.
func connect(cfg config, url string) ([]net.Conn, error) {
	conns := make([]net.Conn, cfg.conns)
	errs := make(chan error, cfg.dialers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range cfg.dialers {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, br, _, err := ws.Dial(ctx, url)
				cancel()
				if err != nil {
					select {
					case errs <- fmt.Errorf("client %d: %w", i, err):
					default:
					}
					continue
				}
				if br != nil {
					ws.PutReader(br) // the echo app sends nothing first
				}
				conns[i] = c
			}
		})
	}
	for i := range cfg.conns {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return conns, nil
}

// awaitClose reads frames until the close frame, answers it and closes.
func awaitClose(c net.Conn, now func() time.Duration) closeEvent {
	defer c.Close()
	for {
		h, err := ws.ReadHeader(c)
		if err != nil {
			return closeEvent{at: now(), err: err}
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c, payload); err != nil {
			return closeEvent{at: now(), err: err}
		}
		if h.OpCode != ws.OpClose {
			continue // a ping, in a long run; the drain is what counts
		}
		at := now()
		code, reason := ws.ParseCloseFrameData(payload)
		ws.WriteFrame(c, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, ""))))
		return closeEvent{at: at, code: code, reason: reason}
	}
}

// pollUnready polls /readyz until it fails, and sends how long after t0.
func pollUnready(url string, t0 time.Time) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		client := &http.Client{Timeout: time.Second}
		for time.Since(t0) < time.Minute {
			resp, err := client.Get(url)
			if err != nil || resp.StatusCode != http.StatusOK {
				if err == nil {
					resp.Body.Close()
				}
				out <- time.Since(t0)
				return
			}
			resp.Body.Close()
			time.Sleep(5 * time.Millisecond)
		}
		out <- -1
	}()
	return out
}

// report prints the closes per bucket and the figures around them.
func report(cfg config, events []closeEvent, unready, exited time.Duration) {
	slices.SortFunc(events, func(a, b closeEvent) int { return int(a.at - b.at) })
	codes := map[string]int{}
	var closes []time.Duration
	for _, e := range events {
		if e.err != nil {
			codes[fmt.Sprintf("no close frame (%v)", errors.Unwrap(e.err))]++
			continue
		}
		codes[fmt.Sprintf("%d %q", e.code, e.reason)]++
		closes = append(closes, e.at)
	}
	fmt.Printf("SIGTERM at 0; /readyz 503 after %v; process exited after %v\n", unready.Round(time.Millisecond), exited.Round(time.Millisecond))
	for k, n := range codes {
		fmt.Printf("  %6d closed with %s\n", n, k)
	}
	if len(closes) == 0 {
		return
	}
	fmt.Printf("first close %v, median %v, last %v\n", closes[0].Round(time.Millisecond),
		closes[len(closes)/2].Round(time.Millisecond), closes[len(closes)-1].Round(time.Millisecond))
	fmt.Printf("closes per %v:\n", cfg.bucket)
	for i, n := range perBucket(closes, cfg.bucket) {
		from := time.Duration(i) * cfg.bucket
		fmt.Printf("  %5v-%-5v %6d\n", from, from+cfg.bucket, n)
	}
}

// perBucket counts the sorted times in each bucket of width w from 0.
func perBucket(times []time.Duration, w time.Duration) []int {
	if len(times) == 0 {
		return nil
	}
	counts := make([]int, int(times[len(times)-1]/w)+1)
	for _, t := range times {
		counts[int(t/w)]++
	}
	return counts
}
