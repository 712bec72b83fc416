package api_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/poller"
)

// room puts every client in one group and relays each message to the
// others in it.
type room struct {
	api api.Api
}

func (r *room) OnStart(a api.Api) error { r.api = a; return nil }

func (r *room) OnConnect(id string) {
	r.api.JoinGroup(context.Background(), id, "room")
}

func (r *room) OnMessage(id string, m api.Message) {
	opts := []api.SendOption{api.Exclude(id)}
	if !m.IsText() {
		opts = append(opts, api.Binary)
	}
	// m.Data is only valid during this call; the send copies it into one
	// frame shared by all recipients.
	r.api.SendToGroup(context.Background(), "room", m.Data, opts...)
}

func (r *room) OnClose(id string) {}

// A node is started with options and an Application, and stopped with a
// context that bounds the drain.
func ExampleNewGateway() {
	g, err := api.NewGateway(api.Options{
		NodeID: 1,
		Server: poller.Options{Addr: "127.0.0.1:0", Path: "/ws"},
	}, &room{})
	if err != nil {
		log.Fatal(err)
	}
	if err := g.Start(); err != nil {
		log.Fatal(err)
	}

	url := "ws://" + g.Addr().String() + "/ws"
	ctx := context.Background()
	alice, _, _, err := ws.Dial(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	bob, _, _, err := ws.Dial(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	// Wait until both have joined the room.
	for n := 0; n < 2; n, _ = g.Api().GetClientCountByGroup(ctx, "room") {
		time.Sleep(time.Millisecond)
	}

	wsutil.WriteClientText(alice, []byte("hello, room"))
	msg, _ := wsutil.ReadServerText(bob)
	fmt.Println(string(msg))
	alice.Close()
	bob.Close()

	stop, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.Shutdown(stop); err != nil {
		log.Fatal(err)
	}
	// Output: hello, room
}

// Sends take options: Binary for a binary frame (text is the default) and
// Exclude to leave clients out.
func ExampleApi_SendToGroup() {
	var a api.Api // from Starter.OnStart or Gateway.Api
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.SendToGroup(ctx, "room", []byte(`{"type":"news"}`))
	a.SendToGroup(ctx, "room", []byte{0x01, 0x02}, api.Binary, api.Exclude("0000000100000000000000010000000000000001"))
	a.SendToGroups(ctx, []string{"red", "blue"}, []byte("once to each member of either"))
}

// CloseClient can send a last message and choose the close code;
// DestroyClient drops the connection at once.
func ExampleApi_CloseClient() {
	var a api.Api
	if a == nil {
		return
	}
	ctx := context.Background()
	a.CloseClient(ctx, "0000000100000000000000010000000000000001", api.CloseOptions{
		Final:  []byte(`{"type":"kicked"}`),
		Code:   4001,
		Reason: "kicked by moderator",
	})
}

// A Handshaker sees the upgrade request and may refuse it or set the
// client's first uid and info.
func ExampleHandshaker() {
	var _ api.Handshaker = authApp{}
}

type authApp struct{ room }

func (authApp) OnHandshake(h *api.Handshake) error {
	user := h.Query.Get("user")
	if user == "" {
		return api.Refuse(401, "log in first")
	}
	h.UID = user
	h.Info = map[string]string{"ip": h.RemoteAddr.String()}
	return nil
}
