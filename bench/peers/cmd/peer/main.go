// Command peer serves a WebSocket echo or broadcast app at /ws with one of
// several third-party Go WebSocket libraries, as a comparison peer for the
// wsgate load benchmark.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers on http.DefaultServeMux, served only with --pprof
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// maxMessage is the read limit applied to every peer (at least 16 MiB).
const maxMessage = 16 << 20

// A starter starts serving app ("echo" or "broadcast") at path /ws on addr. It
// returns the bound address and a function that stops the server.
type starter func(addr, app string) (net.Addr, func() error, error)

var servers = map[string]starter{
	"nbio":    startNbio,
	"gws":     startGws,
	"gorilla": startGorilla,
	"netpoll": startNetpoll,
	"gnet":    startGnet,
}

func main() {
	server := flag.String("server", "gorilla", "implementation: nbio|gws|gorilla|netpoll|gnet")
	app := flag.String("app", "echo", "app: echo|broadcast")
	listen := flag.String("listen", "127.0.0.1:8080", "listen address")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (off if empty)")
	flag.Parse()
	log.SetFlags(0)

	start, ok := servers[*server]
	if !ok {
		log.Fatalf("unknown --server %q", *server)
	}
	if *app != "echo" && *app != "broadcast" {
		log.Fatalf("unknown --app %q", *app)
	}
	raiseNofile()

	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }()
	}

	// Catch the signals before saying "listening on": whoever reads that
	// line may signal at once.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	addr, stop, err := start(*listen, *app)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", addr)
	<-sig
	if err := stop(); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
}

// raiseNofile sets the soft RLIMIT_NOFILE to the hard limit. Since Go 1.19
// the runtime (package syscall's init) already does this for the process, so
// this is normally a no-op; it only verifies and fixes it up, and is not
// called needlessly because Setrlimit also changes what child processes
// inherit.
func raiseNofile() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Printf("getrlimit: %v", err)
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Printf("setrlimit: %v", err)
		}
	}
}

// hub is the set of open connections of the broadcast app.
type hub[C comparable] struct {
	mu    sync.RWMutex
	conns map[C]struct{}
}

func newHub[C comparable]() *hub[C] { return &hub[C]{conns: make(map[C]struct{})} }

func (h *hub[C]) add(c C) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub[C]) remove(c C) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// each calls f for every open connection.
func (h *hub[C]) each(f func(C)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		f(c)
	}
}
