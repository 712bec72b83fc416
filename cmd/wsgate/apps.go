package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/apps/chat"
	"github.com/wsgate/wsgate/wsproto"
)

// builtinApp is an application `wsgate serve --app` can run.
type builtinApp struct {
	// new makes the application, and the page it serves for plain HTTP
	// requests, if any.
	new func(wsPath string) (api.Application, func(*wsproto.Request) (int, http.Header, []byte))
	// inline says the application's handlers never wait (no remote
	// calls, no I/O), so they may run on the event loop's goroutine
	// (poller.Options.InlineHandlers).
	inline bool
}

// builtinApps are the applications `wsgate serve --app` can run. chat's
// handlers ask other nodes (whisper, who) and so get goroutines of their
// own; echo and broadcast only queue frames.
var builtinApps = map[string]builtinApp{
	"chat": {new: func(wsPath string) (api.Application, func(*wsproto.Request) (int, http.Header, []byte)) {
		return chat.New(), chat.Page(wsPath)
	}},
	"echo": {inline: true, new: func(string) (api.Application, func(*wsproto.Request) (int, http.Header, []byte)) {
		return &echoApp{}, nil
	}},
	"broadcast": {inline: true, new: func(string) (api.Application, func(*wsproto.Request) (int, http.Header, []byte)) {
		return &broadcastApp{}, nil
	}},
}

func appNames() string {
	names := make([]string, 0, len(builtinApps))
	for n := range builtinApps {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func lookupApp(name string) (builtinApp, error) {
	b, ok := builtinApps[name]
	if !ok {
		return builtinApp{}, fmt.Errorf("unknown app %q (have: %s)", name, appNames())
	}
	return b, nil
}

// echoApp sends every message back to its sender, text as text and binary
// as binary.
type echoApp struct{ api api.Api }

func (a *echoApp) OnStart(x api.Api) error { a.api = x; return nil }
func (a *echoApp) OnConnect(string)        {}
func (a *echoApp) OnClose(string)          {}
func (a *echoApp) OnMessage(id string, m api.Message) {
	a.api.SendToClient(context.Background(), id, m.Data, sendAs[m.Type]...)
}

// sendAs holds the send option of each message type: passing a slice that
// exists already spares every echo the allocation of a variadic one.
var sendAs = [...][]api.SendOption{api.Text: {api.Text}, api.Binary: {api.Binary}}

// broadcastApp sends every message to every client (SendToAll), the server
// side of `wsgate bench bcast`. A client that connects with ?group=G in its
// URL joins group G, and its messages go to that group only (SendToGroup):
// the server side of `wsgate bench bcast -group G`. A client that connects
// with ?uid=U is bound to user U, for `wsgate bench bcast -uids N`. On a
// cluster node all of these reach the clients of every node.
type broadcastApp struct {
	api    api.Api
	groups sync.Map // clientID -> its group, for clients that named one
}

func (a *broadcastApp) OnStart(x api.Api) error { a.api = x; return nil }

// OnHandshake keeps the group and the uid named in the query as the
// client's info, for OnConnect to join and bind them.
func (a *broadcastApp) OnHandshake(h *api.Handshake) error {
	g, uid := h.Query.Get("group"), h.Query.Get("uid")
	if g == "" && uid == "" {
		return nil
	}
	h.Info = map[string]string{}
	if g != "" {
		h.Info["group"] = g
	}
	if uid != "" {
		h.Info["uid"] = uid
	}
	return nil
}

func (a *broadcastApp) OnConnect(id string) {
	ctx := context.Background()
	info, err := a.api.GetInfo(ctx, id)
	if err != nil {
		return
	}
	if uid := info["uid"]; uid != "" {
		a.api.BindUID(ctx, id, uid)
	}
	if g := info["group"]; g != "" {
		if err := a.api.JoinGroup(ctx, id, g); err == nil {
			a.groups.Store(id, g)
		}
	}
}

func (a *broadcastApp) OnClose(id string) { a.groups.Delete(id) }

func (a *broadcastApp) OnMessage(id string, m api.Message) {
	if g, ok := a.groups.Load(id); ok {
		a.api.SendToGroup(context.Background(), g.(string), m.Data, sendAs[m.Type]...)
		return
	}
	a.api.SendToAll(context.Background(), m.Data, sendAs[m.Type]...)
}
