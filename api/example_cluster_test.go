package api_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/poller"
)

// A gateway node that joins a cluster through its register.
func ExampleOptions_cluster() {
	var app api.Application // the business code
	gw, err := api.NewGateway(api.Options{
		Server: poller.Options{Addr: "10.0.0.2:8080", Path: "/ws"},
		Cluster: &api.ClusterOptions{
			Registers: []string{"10.0.0.1:1238"},
			Secret:    "the cluster secret",
			RPCListen: "10.0.0.2:7001",
		},
	}, app)
	if err != nil {
		log.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		log.Fatal(err)
	}
}

// A web backend that pushes to users of the cluster without holding any
// WebSocket, and counts them.
func ExampleNewClient() {
	backend, err := api.NewClient(api.ClusterOptions{
		Registers: []string{"10.0.0.1:1238"},
		Secret:    "the cluster secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := backend.Api().SendToUID(ctx, "alice", []byte("you have mail")); err != nil {
		log.Print(err)
	}
	n, err := backend.Api().GetAllClientCount(ctx)
	var partial *api.PartialError
	if errors.As(err, &partial) {
		log.Printf("%d clients, not counting nodes %v", n, partial.Missing)
	}
}
