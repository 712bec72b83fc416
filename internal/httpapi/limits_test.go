package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/rpc"
)

// fakeAPI answers the few calls a test needs and panics on the others
// (its embedded nil Api).
type fakeAPI struct {
	api.Api
	count func(context.Context) (int, error)
}

func (f fakeAPI) GetAllClientCount(ctx context.Context) (int, error) { return f.count(ctx) }

func (fakeAPI) SendToUID(context.Context, string, []byte, ...api.SendOption) error { return nil }

// rawRequest writes a request's head and the first bytes of a body it
// says is 1 GiB long, and returns the status line of the answer and
// whether the server then closed the connection.
func rawRequest(t *testing.T, base, path, auth string) (status string, closed bool) {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), Prefix)
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST " + Prefix + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n"
	if auth != "" {
		head += "Authorization: " + auth + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"+`{"uid":"`+strings.Repeat("a", 1000)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(testutil.Wait))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	_, err = br.ReadByte()
	return resp.Status, err == io.EOF
}

// TestAuthBeforeBody: without the key, or with a wrong one, the answer is
// 401 before the body is read (the 1 GiB body is never sent), and the
// connection is closed rather than drained.
func TestAuthBeforeBody(t *testing.T) {
	base := serveHTTP(t, fakeAPI{}, Options{Keys: []string{"other-key", testKey}})
	for _, auth := range []string{"", "Bearer wrong"} {
		status, closed := rawRequest(t, base, "SendToUID", auth)
		if !strings.HasPrefix(status, "401") || !closed {
			t.Errorf("Authorization %q: %s, closed %v; want 401 and closed", auth, status, closed)
		}
	}
	for _, auth := range []string{"Bearer ", "Basic " + testKey, testKey, "Bearer " + testKey + "x", "Bearer " + testKey[1:]} {
		req, _ := http.NewRequest(http.MethodPost, base+"SendToUID", strings.NewReader(`{"uid":"u","message":"m"}`))
		req.Header.Set("Authorization", auth)
		if a := do(t, req, ""); a.status != 401 {
			t.Errorf("Authorization %q: %d %+v", auth, a.status, a.Error)
		}
	}
	// Every route wants the key, the unknown ones too.
	for _, path := range []string{"SendToUID", "batch", "openapi.json", "NoSuchCall"} {
		if a := post(t, base+path, "", "{}"); a.status != 401 || a.Error.Code != "unauthorized" || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without a key: %d %+v", path, a.status, a.Error)
		}
	}
	// Either key works.
	for _, key := range []string{"other-key", testKey} {
		if a := post(t, base+"SendToUID", key, `{"uid":"u","message":"m"}`); a.status != 200 {
			t.Errorf("key %q: %d %+v", key, a.status, a.Error)
		}
	}
}

// TestBodyLimit: 413 for a body over the limit, at once when
// Content-Length says so, and when it is sent chunked.
func TestBodyLimit(t *testing.T) {
	base := serveHTTP(t, fakeAPI{}, Options{MaxBodyBytes: 1024})
	status, closed := rawRequest(t, base, "SendToUID", "Bearer "+testKey)
	if !strings.HasPrefix(status, "413") || !closed {
		t.Errorf("1 GiB Content-Length: %s, closed %v; want 413 and closed", status, closed)
	}
	big := `{"uid":"u","message":"` + strings.Repeat("m", 2000) + `"}`
	if a := post(t, base+"SendToUID", testKey, big); a.status != 413 || a.Error.Code != "body_too_large" {
		t.Errorf("2 KB body: %d %+v", a.status, a.Error)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"SendToUID", io.MultiReader(strings.NewReader(big))) // no length: chunked
	if a := do(t, req, testKey); a.status != 413 {
		t.Errorf("2 KB chunked: %d %+v", a.status, a.Error)
	}
	if a := post(t, base+"SendToUID", testKey, `{"uid":"u","message":"small"}`); a.status != 200 {
		t.Errorf("small body: %d %+v", a.status, a.Error)
	}
}

// TestRateLimit: each key has its own bucket; over it, 429 with
// Retry-After; a batch takes one token per call.
func TestRateLimit(t *testing.T) {
	base := serveHTTP(t, fakeAPI{}, Options{Keys: []string{"a", "b"}, Rate: 0.5, Burst: 3})
	body := `{"uid":"u","message":"m"}`
	for i := range 3 {
		if a := post(t, base+"SendToUID", "a", body); a.status != 200 {
			t.Fatalf("call %d within the burst: %d %+v", i, a.status, a.Error)
		}
	}
	a := post(t, base+"SendToUID", "a", body)
	if a.status != 429 || a.Error.Code != "rate_limited" {
		t.Fatalf("call over the burst: %d %+v", a.status, a.Error)
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds", a.header.Get("Retry-After"))
	}
	// Key b is untouched by a's calls; a batch of 3 empties its bucket.
	batch := `{"calls":[{"call":"SendToUID","args":` + body + `},{"call":"SendToUID","args":` + body + `},{"call":"SendToUID","args":` + body + `}]}`
	if a := post(t, base+"batch", "b", batch); a.status != 200 {
		t.Fatalf("batch of 3 for b: %d %+v", a.status, a.Error)
	}
	if a := post(t, base+"SendToUID", "b", body); a.status != 429 {
		t.Errorf("call after a batch that took the burst: %d", a.status)
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(10, 5, now)
	if ok, _ := b.take(5, now); !ok {
		t.Fatal("a full burst is refused")
	}
	if ok, wait := b.take(1, now); ok || wait != 100*time.Millisecond {
		t.Fatalf("empty bucket: %v, wait %v", ok, wait)
	}
	now = now.Add(time.Second) // refilled to the burst, no more
	if ok, _ := b.take(20, now); !ok {
		t.Fatal("a batch over the burst is refused with a full bucket")
	}
	if ok, wait := b.take(1, now); ok || wait != 1600*time.Millisecond {
		t.Fatalf("after a batch over the burst: %v, wait %v (the debt of 15 and one)", ok, wait)
	}
}

// TestRoutesAndErrors: unknown route 404, wrong method 405, bad bodies
// 400, a partial answer 200 with missing, a timeout 504, all with a JSON
// error body.
func TestRoutesAndErrors(t *testing.T) {
	var count func(context.Context) (int, error)
	base := serveHTTP(t, fakeAPI{count: func(ctx context.Context) (int, error) { return count(ctx) }}, Options{Timeout: 50 * time.Millisecond})
	check := func(what string, a answer, status int, code string) {
		t.Helper()
		if a.status != status || a.Error == nil || a.Error.Code != code || a.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", what, a.status, a.Error, status, code)
		}
	}
	check("unknown route", post(t, base+"NoSuchCall", testKey, "{}"), 404, "not_found")
	check("outside the prefix", post(t, strings.TrimSuffix(base, Prefix)+"/other", testKey, "{}"), 404, "not_found")
	req, _ := http.NewRequest(http.MethodGet, base+"SendToUID", nil)
	a := do(t, req, testKey)
	check("GET of a call", a, 405, "method_not_allowed")
	if a.header.Get("Allow") != "POST" {
		t.Errorf("405 with Allow %q", a.header.Get("Allow"))
	}
	check("not JSON", post(t, base+"SendToUID", testKey, "uid=u"), 400, "bad_request")
	check("unknown field", post(t, base+"SendToUID", testKey, `{"uid":"u","mesage":"m"}`), 400, "bad_request")

	count = func(context.Context) (int, error) {
		return 4, fmt.Errorf("cluster: ask every node: %w", &rpc.PartialError{Missing: []string{"0000000b", "0000000c"}})
	}
	a = post(t, base+"GetAllClientCount", testKey, "{}")
	if a.status != 200 || string(a.Result) != "4" || strings.Join(a.Missing, ",") != "0000000b,0000000c" {
		t.Errorf("partial: %d %s missing %v", a.status, a.Result, a.Missing)
	}
	count = func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
	check("timeout", post(t, base+"GetAllClientCount", testKey, "{}"), 504, "timeout")
	count = func(context.Context) (int, error) { return 0, api.ErrOverflow }
	check("overflow", post(t, base+"GetAllClientCount", testKey, "{}"), 503, "overflow")

	req, _ = http.NewRequest(http.MethodGet, base+"openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestNoKeyNoServer: the HTTP Api does not start without a key.
func TestNoKeyNoServer(t *testing.T) {
	for _, keys := range [][]string{nil, {}, {""}} {
		if _, err := Listen("127.0.0.1:0", fakeAPI{}, Options{Keys: keys}, nil); err == nil {
			t.Errorf("keys %q: started", keys)
		}
	}
}
