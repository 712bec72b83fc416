package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/httpapi"
)

// apiFlags configure the HTTP Api of wsgate serve: a listener of its own,
// off unless -api-listen is given, and only with an API key.
type apiFlags struct {
	listen   *string
	key      *secretValue
	keyFile  *string
	maxBody  *int64
	rate     *float64
	burst    *int
	maxBatch *int
	timeout  *time.Duration
}

func addAPIFlags(fs *flag.FlagSet) apiFlags {
	f := apiFlags{
		listen:   fs.String("api-listen", "", "address of the HTTP Api (POST /api/v1/<Call>, for backends not written in Go), e.g. 127.0.0.1:8081 (empty: off); needs an API key"),
		key:      new(secretValue),
		keyFile:  fs.String("api-key-file", "", "file of HTTP Api keys, one a line (blank lines and # comments ignored); each key has a rate limit of its own"),
		maxBody:  fs.Int64("api-max-body", httpapi.DefaultMaxBodyBytes, "largest HTTP Api request body in bytes (413 above)"),
		rate:     fs.Float64("api-rate", 0, "most HTTP Api calls per second for one key, each call of a batch counting (429 above; 0: no bound)"),
		burst:    fs.Int("api-burst", 0, "HTTP Api calls a key may make at once before -api-rate paces it (0: one second's worth)"),
		maxBatch: fs.Int("api-max-batch", httpapi.DefaultMaxBatch, "most calls in one HTTP Api batch"),
		timeout:  fs.Duration("api-timeout", httpapi.DefaultTimeout, "time allowed for one HTTP Api request, calls to other nodes included (504 after)"),
	}
	fs.Var(f.key, "api-key", "HTTP Api `key`; prefer WSGATE_API_KEY or -api-key-file, as a flag shows in the process list")
	return f
}

// options returns the HTTP Api's options, nil when -api-listen is not
// given. A listener without a key is refused: the Api can send to and
// close every client.
func (f apiFlags) options() (*httpapi.Options, error) {
	if *f.listen == "" {
		return nil, nil
	}
	var keys []string
	if *f.key != "" {
		keys = append(keys, string(*f.key))
	}
	if *f.keyFile != "" {
		b, err := os.ReadFile(*f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("-api-key-file: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if k := strings.TrimSpace(line); k != "" && !strings.HasPrefix(k, "#") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("-api-key-file %s holds no key", *f.keyFile)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("-api-listen needs an API key: set WSGATE_API_KEY or -api-key-file")
	}
	o := &httpapi.Options{
		Keys: keys, MaxBodyBytes: *f.maxBody, Rate: *f.rate, Burst: *f.burst,
		MaxBatch: *f.maxBatch, Timeout: *f.timeout,
	}
	if o.MaxBodyBytes <= 0 || o.Rate < 0 || o.Burst < 0 || o.MaxBatch <= 0 || o.Timeout <= 0 {
		return nil, errors.New("-api-max-body, -api-max-batch and -api-timeout must be positive, -api-rate and -api-burst not negative")
	}
	return o, nil
}

// serveAPI starts the HTTP Api of a on addr, or nothing when o is nil.
// The returned stop closes it, letting calls in flight finish for up to a
// second; call it before the node drains, so that no call starts on a
// node that is closing its clients.
func serveAPI(addr string, o *httpapi.Options, a api.Api, out *output) (stop func(), err error) {
	if o == nil {
		return func() {}, nil
	}
	srv, err := httpapi.Listen(addr, a, *o, out.log)
	if err != nil {
		return nil, err
	}
	url := "http://" + srv.Addr().String() + httpapi.Prefix
	out.announce("HTTP Api on "+url, "url", url)
	warnPlaintext(out.log, "the HTTP Api", srv.Addr().String(), false)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			out.log.Warn("HTTP Api listener", "err", err)
		}
	}, nil
}
