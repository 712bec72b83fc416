package main

import (
	"fmt"

	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/wsproto"
)

func builtinApp(name string) (poller.Handler, error) {
	switch name {
	case "echo":
		return echoApp{}, nil
	}
	return nil, fmt.Errorf("unknown app %q (have: echo)", name)
}

// echoApp sends every message back to its sender with the same opcode.
type echoApp struct{}

func (echoApp) OnHandshake(*poller.Conn, *wsproto.Request) error { return nil }
func (echoApp) OnOpen(*poller.Conn)                              {}
func (echoApp) OnClose(*poller.Conn, wsproto.StatusCode, string) {}
func (echoApp) OnMessage(c *poller.Conn, op wsproto.OpCode, p []byte) {
	c.WriteMessage(op, p)
}
