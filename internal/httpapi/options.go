package httpapi

import (
	"errors"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxBatch     = 1000
	DefaultTimeout      = 10 * time.Second
	DefaultMaxConns     = 1024
)

// Options configure the HTTP Api. Keys is required; the zero value of
// every other field is its default.
type Options struct {
	// Keys are the API keys a request may bear ("Authorization: Bearer
	// <key>"); each has a rate limit of its own. At least one, none "".
	Keys []string
	// MaxBodyBytes bounds a request's body; over it the answer is 413.
	// Default DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// Rate is the most calls per second one key may make (a batch counts
	// each of its calls); over it the answer is 429 with Retry-After.
	// Default 0: no bound.
	Rate float64
	// Burst is how many calls a key may make at once before Rate paces
	// it. Default: one second's worth of Rate, at least 1.
	Burst int
	// MaxBatch bounds the calls of one batch. Default DefaultMaxBatch.
	MaxBatch int
	// Timeout bounds each request, calls to other nodes included; a call
	// still running then answers 504. Default DefaultTimeout (10 s).
	Timeout time.Duration
	// MaxConns bounds the listener's connections at once (Listen only);
	// over it a new one is closed at accept. Default DefaultMaxConns.
	MaxConns int
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Keys) == 0 {
		return o, errors.New("httpapi: no API key: the HTTP Api needs at least one")
	}
	for _, k := range o.Keys {
		if k == "" {
			return o, errors.New("httpapi: an API key is empty")
		}
	}
	if o.Rate < 0 || o.Burst < 0 || o.MaxBodyBytes < 0 || o.MaxBatch < 0 || o.Timeout < 0 || o.MaxConns < 0 {
		return o, errors.New("httpapi: negative limit")
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Burst == 0 {
		o.Burst = max(1, int(o.Rate))
	}
	return o, nil
}
