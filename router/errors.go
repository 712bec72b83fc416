package router

import "errors"

// Errors of the router's calls. Callers compare with errors.Is.
var (
	// ErrClientOffline: no client with this id is connected to this node,
	// or it is closing (its OnClose is running).
	ErrClientOffline = errors.New("client offline")
	// ErrDuplicateClient: Add was given an id already present.
	ErrDuplicateClient = errors.New("router: duplicate clientID")
	// ErrEmptyUID and ErrEmptyGroup: "" is not a uid or group name.
	ErrEmptyUID   = errors.New("uid must not be empty")
	ErrEmptyGroup = errors.New("group must not be empty")
)
