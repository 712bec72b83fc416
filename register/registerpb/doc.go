// Package registerpb holds the wire protocol of the register: the
// register.proto definition and the code generated from it.
package registerpb

// Regenerate with protoc, protoc-gen-go and protoc-gen-go-grpc on PATH:
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative register.proto
