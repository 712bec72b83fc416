package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// The program serves the page and the chat: a login is welcomed. The chat
// itself is tested in internal/apps/chat.
func TestChatProgram(t *testing.T) {
	gw, err := start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	addr := gw.Addr().String()

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "/ws") {
		t.Fatalf("GET /: %d, %v, page names its WebSocket path: %v", resp.StatusCode, err, strings.Contains(string(page), "/ws"))
	}

	conn, _, _, err := ws.Dial(context.Background(), "ws://"+addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wsutil.WriteClientText(conn, []byte(`{"type":"login","name":"ada"}`)); err != nil {
		t.Fatal(err)
	}
	data, err := wsutil.ReadServerText(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"type":"welcome"`) || !strings.Contains(string(data), `"name":"ada"`) {
		t.Fatalf("login answered %s", data)
	}
}
