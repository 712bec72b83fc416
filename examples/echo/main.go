// Command echo is the smallest wsgate application: a gateway node that
// sends every message back to its sender, text as text and binary as
// binary.
//
//	go run ./examples/echo -listen 127.0.0.1:8080
//
// then open a WebSocket to ws://127.0.0.1:8080/ws.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/poller"
)

// echo is the Application: the gateway calls it; it answers through the Api.
type echo struct{ api api.Api }

// OnStart hands over the node's Api before the first client connects.
func (e *echo) OnStart(a api.Api) error { e.api = a; return nil }

func (e *echo) OnConnect(clientID string) {}

func (e *echo) OnClose(clientID string) {}

// OnMessage sends the message back as it came. A send is text unless told
// otherwise, and text must be valid UTF-8: without m.Type, a binary message
// comes back as text or fails with api.ErrInvalidUTF8. m.Type is itself a
// send option (api.Text or api.Binary).
func (e *echo) OnMessage(clientID string, m api.Message) {
	if err := e.api.SendToClient(context.Background(), clientID, m.Data, m.Type); err != nil {
		log.Printf("echo to %s: %v", clientID, err)
	}
}

// start runs a node with the echo application on addr, WebSocket at /ws.
func start(addr string) (*api.Gateway, error) {
	gw, err := api.NewGateway(api.Options{Server: poller.Options{Addr: addr, Path: "/ws"}}, &echo{})
	if err != nil {
		return nil, fmt.Errorf("new gateway: %w", err)
	}
	if err := gw.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	return gw, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve WebSocket on")
	flag.Parse()
	gw, err := start(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
	fmt.Printf("echo at ws://%s/ws\n", gw.Addr())

	// Until SIGINT or SIGTERM, then close every client with 1001 and wait
	// for their OnClose.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Shutdown(drain); err != nil {
		fmt.Fprintln(os.Stderr, "echo: shutdown:", err)
		os.Exit(1)
	}
}
