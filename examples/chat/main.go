// Command chat runs the chat demo on one gateway node: the page at
// http://127.0.0.1:8080/ and its WebSocket at /ws.
//
//	go run ./examples/chat -listen 127.0.0.1:8080
//
// The application itself, its protocol and its tests are in
// internal/apps/chat, where the wsgate binary finds it too (`wsgate serve
// --app chat` runs the same chat, on a cluster if asked). This program
// shows what embedding it takes: the Application, the page for plain HTTP
// requests, and a drain on SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/apps/chat"
	"github.com/wsgate/wsgate/poller"
)

// start runs a node with the chat on addr: WebSocket at /ws, the page at /.
func start(addr string) (*api.Gateway, error) {
	const wsPath = "/ws"
	opts := api.Options{Server: poller.Options{Addr: addr, Path: wsPath, HTTPFallback: chat.Page(wsPath)}}
	gw, err := api.NewGateway(opts, chat.New())
	if err != nil {
		return nil, fmt.Errorf("new gateway: %w", err)
	}
	if err := gw.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	return gw, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve the page and WebSocket on")
	flag.Parse()
	gw, err := start(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
	fmt.Printf("chat at http://%s/\n", gw.Addr())

	// Until SIGINT or SIGTERM, then close every client with 1001 and wait
	// for their OnClose.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Shutdown(drain); err != nil {
		fmt.Fprintln(os.Stderr, "chat: shutdown:", err)
		os.Exit(1)
	}
}
