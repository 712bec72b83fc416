// Package chat is the demo application of wsgate (`wsgate serve --app
// chat`, or `go run ./examples/chat` for one node): users log in with a
// name, join rooms, talk in them, whisper to each other and shout to
// everyone. It uses the Api for all of its state, so it works unchanged on
// a cluster.
//
// The protocol is JSON text frames, one object each, "type" first.
//
//	client -> server                           server -> clients
//	{"type":"login","name":N}                  {"type":"welcome","client_id":ID,"name":N} to the client
//	{"type":"join","room":R}                   {"type":"joined","room":R,"name":N} to the room
//	{"type":"leave","room":R}                  {"type":"left","room":R,"name":N} to the room and the leaver
//	{"type":"say","room":R,"text":T}           {"type":"said","room":R,"from":N,"text":T} to the room
//	{"type":"whisper","to":M,"text":T}         {"type":"whispered","from":N,"text":T} to M
//	  with "confirm":true, also                {"type":"whisper_sent","to":M,"text":T} to the client
//	{"type":"shout","text":T}                  {"type":"shouted","from":N,"text":T} to everyone
//	{"type":"who","room":R}                    {"type":"who","room":R,"names":[...],"clients":K}
//	{"type":"status","status":S}               {"type":"status","status":S}
//	{"type":"whois","name":M}                  {"type":"whois","name":M,"online":B,"clients":[{"client_id":ID,"status":S}]}
//	{"type":"rooms"}                           {"type":"rooms","rooms":[...]}
//	{"type":"stats"}                           {"type":"stats","clients":K,"users":U}
//
// A client's name is its uid; its status is in its info.
//
// A name is held by one client at a time, across the whole cluster: that
// is what makes "from":N mean something. Logging in with a name another
// client holds, or is logging in with at the same moment, is answered with
// {"type":"error","error":"name N is taken"} and the client stays logged
// out (two clients racing for a free name may both be refused; they never
// both get it). A name is free again once its client has closed. A client
// logs in once per connection: logging in again with its own name is
// welcomed again, with another name refused (reconnect to change names).
// If a node cannot be asked whether it holds the name, the login fails
// rather than risk a duplicate. Names are unique, not owned: once free, a
// name is anyone's. An application whose users own their names checks a
// credential before binding one, for instance in an api.Handshaker that
// sets the uid from a verified token.
//
// A request that cannot be served (bad JSON, an unknown type, a missing
// field, anything but login before logging in, a taken name, saying
// something in a room one is not in, joining more than MaxRoomsPerClient
// rooms, whispering to someone offline) is answered with
// {"type":"error","error":"..."} and the connection stays open. When a
// client disconnects, each of its rooms gets "left".
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/api"
)

// Limits on what a client may send.
const (
	MaxNameLen = 32   // bytes of a name or a room
	MaxTextLen = 4096 // bytes of a message text or a status
	// MaxRoomsPerClient bounds the rooms one connection is in, so that a
	// client cannot make the node keep an unbounded number of groups.
	MaxRoomsPerClient = 64
)

// callTimeout bounds each Api call; on one node they answer at once, in a
// cluster a remote one may wait.
const callTimeout = 5 * time.Second

// App is the chat application. Create it with New.
type App struct {
	api api.Api
	log *slog.Logger
}

// New returns the chat application.
func New() *App { return &App{log: slog.Default()} }

// OnStart receives the node's Api.
func (a *App) OnStart(x api.Api) error {
	a.api = x
	return nil
}

// OnConnect does nothing: a client must log in first.
func (a *App) OnConnect(clientID string) {}

// OnClose tells each room of a logged-in client that it left. The client's
// name and rooms still answer during OnClose.
func (a *App) OnClose(clientID string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	name, err := a.api.GetUIDByClientID(ctx, clientID)
	if err != nil || name == "" {
		return
	}
	rooms, err := a.api.GetGroupsByClientID(ctx, clientID)
	if err != nil {
		return
	}
	for _, room := range rooms {
		a.api.SendToGroup(ctx, room, encode(left{Type: "left", Room: room, Name: name}), api.Exclude(clientID))
	}
}

// request is any client message; which fields matter depends on Type.
type request struct {
	Type   string  `json:"type"`
	Name   *string `json:"name"`
	Room   *string `json:"room"`
	Text   *string `json:"text"`
	To     *string `json:"to"`
	Status *string `json:"status"`
	// Confirm asks for a whisper_sent reply once a whisper went out.
	Confirm bool `json:"confirm"`
}

// errBadRequest marks the client's mistakes, which it is told about; other
// errors are the node's, logged and reported as "internal error".
type badRequest string

func (e badRequest) Error() string { return string(e) }

// OnMessage serves one request. msg.Data is used only during the call.
func (a *App) OnMessage(clientID string, msg api.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := a.serve(ctx, clientID, msg); err != nil {
		text := "internal error"
		var bad badRequest
		switch {
		case errors.As(err, &bad):
			text = string(bad)
		case errors.Is(err, api.ErrClientOffline):
			return // the client left meanwhile; nobody to tell
		default:
			a.log.Error("chat: request failed", "client", clientID, "err", err)
		}
		a.api.SendToClient(ctx, clientID, encode(errorReply{Type: "error", Error: text}))
	}
}

func (a *App) serve(ctx context.Context, id string, msg api.Message) error {
	if !msg.IsText() {
		return badRequest("binary messages are not understood; send JSON text")
	}
	var req request
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		return badRequest("bad JSON: " + err.Error())
	}
	if req.Type == "" {
		return badRequest(`missing field "type"`)
	}
	if req.Type == "login" {
		return a.login(ctx, id, req)
	}
	name, err := a.api.GetUIDByClientID(ctx, id)
	if err != nil {
		return err
	}
	if name == "" {
		if _, known := handlers[req.Type]; known {
			return badRequest("log in first")
		}
	}
	h, ok := handlers[req.Type]
	if !ok {
		return badRequest(fmt.Sprintf("unknown type %q", req.Type))
	}
	return h(a, ctx, id, name, req)
}

type handler func(a *App, ctx context.Context, id, name string, req request) error

var handlers = map[string]handler{
	"join":    (*App).join,
	"leave":   (*App).leave,
	"say":     (*App).say,
	"whisper": (*App).whisper,
	"shout":   (*App).shout,
	"who":     (*App).who,
	"status":  (*App).status,
	"whois":   (*App).whois,
	"rooms":   (*App).rooms,
	"stats":   (*App).stats,
}

func (a *App) login(ctx context.Context, id string, req request) error {
	name, err := field("name", req.Name, MaxNameLen)
	if err != nil {
		return err
	}
	current, err := a.api.GetUIDByClientID(ctx, id)
	if err != nil {
		return err
	}
	switch current {
	case "":
		if err := a.take(ctx, id, name); err != nil {
			// A refused or failed login leaves the client logged out and
			// the name free. A client that is gone has lost its uid anyway.
			if uerr := a.api.UnbindUID(ctx, id); uerr != nil && !errors.Is(uerr, api.ErrClientOffline) {
				a.log.Error("chat: give up a name claim", "client", id, "err", uerr)
			}
			return err
		}
	case name:
		// Logged in as this name already: welcome again.
	default:
		// Switching names would drop the old one before the new one is
		// sure, and the rooms would see the client's words under a name
		// they were never told of.
		return badRequest("logged in as " + current + " already; reconnect to use another name")
	}
	return a.api.SendToClient(ctx, id, encode(welcome{Type: "welcome", ClientID: id, Name: name}))
}

// claimPrefix marks the uid of a client that is logging in: claimPrefix +
// name. It is longer than MaxNameLen, so no name is a claim and no request
// can name one: a claim never receives what is sent to a name.
const claimPrefix = "chat login, checking the name is free: "

// The constant conversion fails to compile if a name could be a claim.
const _ = uint(len(claimPrefix) - MaxNameLen - 1)

// take gives the client name if no other client holds it or is taking it,
// on any node. Checking first and binding after would let two clients
// that check at the same moment both see the name free, so the client
// first stakes a claim and then looks for others:
//
//  1. bind the client to the claim uid of name;
//  2. look for other clients bound to the claim, then to the name itself;
//  3. if there are none, bind the client to the name.
//
// Of two clients racing for a name, the one that looks last sees the
// other's claim (or, if that one won meanwhile, its name: a client only
// moves from claim to name, so looking at the claim before the name cannot
// miss it), hence at most one gets the name. Both may be refused. Claiming
// under a uid of its own, rather than binding the name and undoing it,
// keeps whispers to the name from reaching a client that is refused.
//
// On error the client may still be bound to the claim; the caller unbinds.
func (a *App) take(ctx context.Context, id, name string) error {
	claim := claimPrefix + name
	if err := a.api.BindUID(ctx, id, claim); err != nil {
		return fmt.Errorf("claim name %q: %w", name, err)
	}
	for _, uid := range []string{claim, name} {
		ids, err := a.api.GetClientIDsByUID(ctx, uid)
		if err != nil {
			// A node that did not answer may hold the name.
			return fmt.Errorf("check that name %q is free: %w", name, err)
		}
		if slices.ContainsFunc(ids, func(other string) bool { return other != id }) {
			return badRequest("name " + name + " is taken")
		}
	}
	if err := a.api.BindUID(ctx, id, name); err != nil {
		return fmt.Errorf("take name %q: %w", name, err)
	}
	return nil
}

func (a *App) join(ctx context.Context, id, name string, req request) error {
	room, err := field("room", req.Room, MaxNameLen)
	if err != nil {
		return err
	}
	rooms, err := a.api.GetGroupsByClientID(ctx, id)
	if err != nil {
		return err
	}
	if len(rooms) >= MaxRoomsPerClient && !slices.Contains(rooms, room) {
		return badRequest(fmt.Sprintf("in %d rooms already; leave one first", len(rooms)))
	}
	if err := a.api.JoinGroup(ctx, id, room); err != nil {
		return err
	}
	return a.api.SendToGroup(ctx, room, encode(joined{Type: "joined", Room: room, Name: name}))
}

func (a *App) leave(ctx context.Context, id, name string, req request) error {
	room, err := field("room", req.Room, MaxNameLen)
	if err != nil {
		return err
	}
	if err := a.requireMember(ctx, id, room); err != nil {
		return err
	}
	note := encode(left{Type: "left", Room: room, Name: name})
	if err := a.api.LeaveGroup(ctx, id, room); err != nil {
		return err
	}
	if err := a.api.SendToGroup(ctx, room, note); err != nil {
		return err
	}
	return a.api.SendToClient(ctx, id, note)
}

func (a *App) say(ctx context.Context, id, name string, req request) error {
	room, err := field("room", req.Room, MaxNameLen)
	if err != nil {
		return err
	}
	text, err := field("text", req.Text, MaxTextLen)
	if err != nil {
		return err
	}
	if err := a.requireMember(ctx, id, room); err != nil {
		return err
	}
	return a.api.SendToGroup(ctx, room, encode(said{Type: "said", Room: room, From: name, Text: text}))
}

func (a *App) whisper(ctx context.Context, id, name string, req request) error {
	to, err := field("to", req.To, MaxNameLen)
	if err != nil {
		return err
	}
	text, err := field("text", req.Text, MaxTextLen)
	if err != nil {
		return err
	}
	online, err := a.api.IsUIDOnline(ctx, to)
	if err != nil {
		return err
	}
	if !online {
		return badRequest(to + " is offline")
	}
	if err := a.api.SendToUID(ctx, to, encode(whispered{Type: "whispered", From: name, Text: text})); err != nil {
		return err
	}
	if !req.Confirm {
		return nil
	}
	return a.api.SendToClient(ctx, id, encode(whisperSent{Type: "whisper_sent", To: to, Text: text}))
}

func (a *App) shout(ctx context.Context, id, name string, req request) error {
	text, err := field("text", req.Text, MaxTextLen)
	if err != nil {
		return err
	}
	return a.api.SendToAll(ctx, encode(shouted{Type: "shouted", From: name, Text: text}))
}

func (a *App) who(ctx context.Context, id, name string, req request) error {
	room, err := field("room", req.Room, MaxNameLen)
	if err != nil {
		return err
	}
	names, err := a.api.GetUIDsByGroup(ctx, room)
	if err != nil {
		return err
	}
	n, err := a.api.GetClientCountByGroup(ctx, room)
	if err != nil {
		return err
	}
	slices.Sort(names)
	return a.api.SendToClient(ctx, id, encode(whoReply{Type: "who", Room: room, Names: nonNil(names), Clients: n}))
}

func (a *App) status(ctx context.Context, id, name string, req request) error {
	s, err := field("status", req.Status, MaxTextLen)
	if err != nil {
		return err
	}
	if err := a.api.UpdateInfo(ctx, id, map[string]string{"status": s}); err != nil {
		return err
	}
	return a.api.SendToClient(ctx, id, encode(statusReply{Type: "status", Status: s}))
}

func (a *App) whois(ctx context.Context, id, name string, req request) error {
	who, err := field("name", req.Name, MaxNameLen)
	if err != nil {
		return err
	}
	// One call for the user's clients and their status, whichever nodes
	// they are on.
	infos, err := a.api.GetClientInfosByUID(ctx, who)
	if err != nil {
		return err
	}
	clients := make([]clientStatus, 0, len(infos))
	for _, cid := range slices.Sorted(maps.Keys(infos)) {
		clients = append(clients, clientStatus{ClientID: cid, Status: infos[cid]["status"]})
	}
	return a.api.SendToClient(ctx, id, encode(whoisReply{Type: "whois", Name: who, Online: len(clients) > 0, Clients: clients}))
}

func (a *App) rooms(ctx context.Context, id, name string, req request) error {
	rooms, err := a.api.GetAllGroups(ctx)
	if err != nil {
		return err
	}
	slices.Sort(rooms)
	return a.api.SendToClient(ctx, id, encode(roomsReply{Type: "rooms", Rooms: nonNil(rooms)}))
}

func (a *App) stats(ctx context.Context, id, name string, req request) error {
	clients, err := a.api.GetAllClientCount(ctx)
	if err != nil {
		return err
	}
	uids, err := a.api.GetAllUIDs(ctx)
	if err != nil {
		return err
	}
	users := 0
	for _, uid := range uids {
		if !strings.HasPrefix(uid, claimPrefix) { // a login in progress is no user yet
			users++
		}
	}
	return a.api.SendToClient(ctx, id, encode(statsReply{Type: "stats", Clients: clients, Users: users}))
}

// requireMember refuses to act on a room the client is not in.
func (a *App) requireMember(ctx context.Context, id, room string) error {
	rooms, err := a.api.GetGroupsByClientID(ctx, id)
	if err != nil {
		return err
	}
	if !slices.Contains(rooms, room) {
		return badRequest("not in room " + room)
	}
	return nil
}

// field checks a required string field.
func field(name string, v *string, maxLen int) (string, error) {
	switch {
	case v == nil:
		return "", badRequest(fmt.Sprintf("missing field %q", name))
	case *v == "":
		return "", badRequest(fmt.Sprintf("field %q is empty", name))
	case len(*v) > maxLen:
		return "", badRequest(fmt.Sprintf("field %q is longer than %d bytes", name, maxLen))
	case !utf8.ValidString(*v):
		return "", badRequest(fmt.Sprintf("field %q is not valid UTF-8", name))
	}
	return *v, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
