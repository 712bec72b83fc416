package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// The echo speaks WebSocket: text comes back as text, and binary that is
// not UTF-8 comes back as binary, byte for byte.
func TestEcho(t *testing.T) {
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
	conn, _, _, err := ws.Dial(context.Background(), "ws://"+gw.Addr().String()+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))

	for _, m := range []struct {
		op   ws.OpCode
		data []byte
	}{
		{ws.OpText, []byte("héllo, echo")},
		{ws.OpBinary, []byte{0xff, 0x00, 0xfe, 0x80}}, // not UTF-8
		{ws.OpText, []byte("still there")},
	} {
		if err := wsutil.WriteClientMessage(conn, m.op, m.data); err != nil {
			t.Fatalf("send %v %q: %v", m.op, m.data, err)
		}
		data, op, err := wsutil.ReadServerData(conn)
		if err != nil {
			t.Fatalf("after sending %v %q: %v", m.op, m.data, err)
		}
		if op != m.op || !bytes.Equal(data, m.data) {
			t.Fatalf("sent %v %q, got %v %q", m.op, m.data, op, data)
		}
	}
}
