// Package rpcpb holds the wire protocol between wsgate nodes: the
// node.proto definition and the code generated from it.
package rpcpb

// Regenerate with protoc, protoc-gen-go and protoc-gen-go-grpc on PATH:
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative node.proto
