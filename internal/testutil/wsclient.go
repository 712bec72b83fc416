package testutil

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Wait is how long a test waits for something that should happen at once;
// generous, for a loaded machine.
const Wait = 10 * time.Second

// WSClient is the tests' WebSocket client: a real connection, reads that
// time out instead of hanging the test, and failures reported on the test
// with the client's name.
type WSClient struct {
	Conn net.Conn
	// Name says which client failed; tests set it to what they know it by
	// (its clientID, a user name).
	Name string
	// T is the test the client reports to; clients built on this one
	// (a chat user) fail through it too.
	T testing.TB
	r io.Reader // what the handshake read ahead of Conn, then Conn
}

// DialWS opens a WebSocket to url, closed when the test ends. It returns
// the error rather than failing, for tests that expect a refusal.
func DialWS(t testing.TB, url string) (*WSClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	c := &WSClient{Conn: conn, Name: url, T: t, r: conn}
	if br != nil {
		// The server may have written a first message right behind its
		// handshake answer: the bytes the handshake read ahead come first.
		c.r = io.MultiReader(br, conn)
	}
	return c, nil
}

// MustDialWS is DialWS that fails the test on an error.
func MustDialWS(t testing.TB, url string) *WSClient {
	t.Helper()
	c, err := DialWS(t, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// Send writes a text message.
func (c *WSClient) Send(s string) {
	c.T.Helper()
	if err := wsutil.WriteClientText(c.Conn, []byte(s)); err != nil {
		c.T.Fatalf("%s: send: %v", c.Name, err)
	}
}

// SendBinary writes a binary message and returns the write's error.
func (c *WSClient) SendBinary(p []byte) error {
	return wsutil.WriteClientBinary(c.Conn, p)
}

// Next reads one data message, answering pings on the way; a close frame
// comes back as a wsutil.ClosedError.
func (c *WSClient) Next(timeout time.Duration) (string, ws.OpCode, error) {
	c.Conn.SetReadDeadline(time.Now().Add(timeout))
	p, op, err := wsutil.ReadServerData(readWriter{c.r, c.Conn})
	return string(p), op, err
}

// Read returns the next text message or fails the test.
func (c *WSClient) Read() string {
	c.T.Helper()
	s, op, err := c.Next(Wait)
	if err != nil {
		c.T.Fatalf("%s: read: %v", c.Name, err)
	}
	if op != ws.OpText {
		c.T.Fatalf("%s: got opcode %v, want text", c.Name, op)
	}
	return s
}

// CloseErr reads until the server's close frame and returns it, with the
// messages that came before it.
func (c *WSClient) CloseErr() (wsutil.ClosedError, []string) {
	c.T.Helper()
	var got []string
	for {
		s, _, err := c.Next(Wait)
		if err == nil {
			got = append(got, s)
			continue
		}
		var ce wsutil.ClosedError
		if !errors.As(err, &ce) {
			c.T.Fatalf("%s: %v, want a close frame", c.Name, err)
		}
		return ce, got
	}
}

type readWriter struct {
	io.Reader
	io.Writer
}
