package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// TestMain runs the peer's main instead of the tests when re-executed by
// TestProcess.
func TestMain(m *testing.M) {
	if os.Getenv("PEER_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestProcess runs the command as a subprocess for every server and app,
// checks the stdout line, one round trip, and a clean exit on SIGTERM/SIGINT.
func TestProcess(t *testing.T) {
	for _, server := range allServers {
		for _, app := range []string{"echo", "broadcast"} {
			t.Run(server+"/"+app, func(t *testing.T) {
				cmd := exec.Command(os.Args[0], "--server", server, "--app", app, "--listen", "127.0.0.1:0")
				cmd.Env = append(os.Environ(), "PEER_RUN_MAIN=1")
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill()
				line, err := bufio.NewReader(out).ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
				if !ok {
					t.Fatalf("first stdout line %q", line)
				}
				tcp, err := net.ResolveTCPAddr("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				ws := dial(t, tcp)
				send(t, ws, websocket.TextMessage, text)
				expect(t, ws, websocket.TextMessage, text)
				send(t, ws, websocket.BinaryMessage, binary)
				expect(t, ws, websocket.BinaryMessage, binary)
				sig := syscall.SIGTERM
				if app == "echo" {
					sig = syscall.SIGINT
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("exit after %v: %v", sig, err)
				}
			})
		}
	}
}

func dial(t *testing.T, addr net.Addr) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr.String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func send(t *testing.T, ws *websocket.Conn, mt int, data []byte) {
	t.Helper()
	if err := ws.WriteMessage(mt, data); err != nil {
		t.Fatal(err)
	}
}

// expect reads from ws, skipping "sync-" text messages, and checks that the
// next message is (mt, data).
func expect(t *testing.T, ws *websocket.Conn, mt int, data []byte) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		gotType, got, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if gotType == websocket.TextMessage && strings.HasPrefix(string(got), "sync-") {
			continue
		}
		if gotType != mt || !bytes.Equal(got, data) {
			t.Fatalf("got type %d, %d bytes; want type %d, %d bytes", gotType, len(got), mt, len(data))
		}
		return
	}
}

// allServers is every --server, the reference peers included.
var allServers = []string{"nbio", "gws", "gorilla", "netpoll", "gnet"}

var (
	text   = []byte("hello, wsgate")
	binary = []byte{0, 1, 2, 0xfe, 0xff}
	big    = bytes.Repeat([]byte{0xab}, 5<<20) // above nbio's 4 MiB default limit
)

func start(t *testing.T, server, app string) net.Addr {
	t.Helper()
	addr, stop, err := servers[server]("127.0.0.1:0", app)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	return addr
}

func TestEcho(t *testing.T) {
	for _, server := range allServers {
		t.Run(server, func(t *testing.T) {
			ws := dial(t, start(t, server, "echo"))
			// One at a time: gws (ParallelEnabled) may reorder echoes.
			send(t, ws, websocket.TextMessage, text)
			expect(t, ws, websocket.TextMessage, text)
			send(t, ws, websocket.BinaryMessage, binary)
			expect(t, ws, websocket.BinaryMessage, binary)
			send(t, ws, websocket.BinaryMessage, big)
			expect(t, ws, websocket.BinaryMessage, big)
		})
	}
}

func TestBroadcast(t *testing.T) {
	for _, server := range allServers {
		t.Run(server, func(t *testing.T) {
			addr := start(t, server, "broadcast")
			var clients []*websocket.Conn
			for i := range 2 {
				ws := dial(t, addr)
				// Receiving its own message proves the server registered ws.
				sync := []byte(fmt.Sprintf("sync-%d", i))
				send(t, ws, websocket.TextMessage, sync)
				_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					_, got, err := ws.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Equal(got, sync) {
						break
					}
				}
				clients = append(clients, ws)
			}
			send(t, clients[0], websocket.TextMessage, text)
			for _, ws := range clients {
				expect(t, ws, websocket.TextMessage, text)
			}
			send(t, clients[0], websocket.BinaryMessage, binary)
			for _, ws := range clients {
				expect(t, ws, websocket.BinaryMessage, binary)
			}
		})
	}
}

// TestSplitWrites sends the handshake and then the frames in small pieces
// cut anywhere, with a fragmented message and a ping in between, and checks
// every server answers all of it. The short pauses give the server separate
// reads; they synchronise nothing. (The frames follow the handshake response:
// RFC 6455 has the client wait for it, and gorilla refuses earlier data.)
func TestSplitWrites(t *testing.T) {
	handshake := []byte("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	big := bytes.Repeat([]byte{0x5a}, 70000) // needs the 8-byte length
	var frames []byte
	for _, f := range []ws.Frame{
		ws.NewTextFrame([]byte("hello")),
		ws.NewFrame(ws.OpText, false, []byte("frag-")),
		ws.NewPingFrame([]byte("p")),
		ws.NewFrame(ws.OpContinuation, true, []byte("ment")),
		ws.NewBinaryFrame(big),
	} {
		frames = append(frames, ws.MustCompileFrame(ws.MaskFrame(f))...)
	}
	want := []string{"binary 70000", "pong", "text frag-ment", "text hello"}

	// writeSplit writes b in pieces of 7 bytes (so no piece ends where a
	// header does), the last 70000 bytes in three.
	writeSplit := func(conn net.Conn, b []byte) {
		for rest := b; len(rest) > 0; {
			n := min(len(rest), 7)
			if len(rest) <= 70000 {
				n = min(len(rest), 30000)
			}
			if _, err := conn.Write(rest[:n]); err != nil {
				return // the reader reports what is missing
			}
			rest = rest[n:]
			time.Sleep(time.Millisecond)
		}
	}

	for _, server := range allServers {
		t.Run(server, func(t *testing.T) {
			addr := start(t, server, "echo")
			conn, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			writeSplit(conn, handshake)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake status %s", resp.Status)
			}
			go writeSplit(conn, frames)
			// Messages are joined from their frames: some servers fragment
			// large ones.
			var got []string
			var op ws.OpCode
			var msg []byte
			for len(got) < len(want) {
				f, err := ws.ReadFrame(br)
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				switch f.Header.OpCode {
				case ws.OpPong:
					got = append(got, "pong") // gws's pong leaves out the ping's payload
					continue
				case ws.OpText, ws.OpBinary:
					op = f.Header.OpCode
				}
				msg = append(msg, f.Payload...)
				if !f.Header.Fin {
					continue
				}
				switch {
				case op == ws.OpBinary && bytes.Equal(msg, big):
					got = append(got, "binary 70000")
				case op == ws.OpText:
					got = append(got, "text "+string(msg))
				default:
					got = append(got, fmt.Sprintf("opcode %d, %d bytes", op, len(msg)))
				}
				msg = nil
			}
			slices.Sort(got) // gws may answer out of order
			if !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}
