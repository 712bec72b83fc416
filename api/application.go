package api

import (
	"net"
	"net/http"
	"net/url"

	"github.com/wsgate/wsgate/wsproto"
)

// Application is the business code of a gateway node. Its callbacks for one
// client never overlap; callbacks for different clients may run at once, so
// shared state needs a lock. A callback should return quickly: the node's
// event loop runs it.
type Application interface {
	// OnConnect runs once the client's WebSocket is open. Its uid and info
	// from the handshake hook (see Handshaker) are already set.
	OnConnect(clientID string)
	// OnMessage receives one complete message from the client.
	// msg.Data is valid only during the call: it points into the
	// connection's read buffer, which is reused. Copy it to keep it.
	OnMessage(clientID string, msg Message)
	// OnClose runs once when the client's connection is gone. During the
	// call the client's uid, groups and info still answer (so the
	// application can tell its rooms who left), IsOnline reports false and
	// sends to it are dropped. When OnClose returns, the client is gone
	// from every uid, group and listing.
	OnClose(clientID string)
}

// Handshaker is implemented by an Application that wants to see, and may
// refuse, each opening handshake before the connection is accepted.
type Handshaker interface {
	// OnHandshake may set h.UID and h.Info, the client's first uid and
	// info. Returning an error refuses the connection: with the status of
	// an error made by Refuse, else 403.
	OnHandshake(h *Handshake) error
}

// Starter is implemented by an Application that needs the node's Api, or
// setup, before the first client connects. An error stops Gateway.Start.
type Starter interface {
	OnStart(a Api) error
}

// Stopper is implemented by an Application that wants to know when the
// node has stopped: every client is closed and OnClose has returned.
type Stopper interface {
	OnStop()
}

// Handshake is an opening handshake seen by Handshaker.OnHandshake.
type Handshake struct {
	ClientID    string      // the id the client will have
	Path        string      // request path, unescaped
	Query       url.Values  // parsed query string
	Header      http.Header // request header fields, canonical keys
	RemoteAddr  net.Addr    // the peer's address
	Subprotocol string      // the negotiated subprotocol, or ""

	// Set by the hook, both optional.
	UID  string            // bind the client to this uid on connect
	Info map[string]string // the client's first info
}

// Refuse returns an error that makes OnHandshake refuse the connection with
// an HTTP status (e.g. 401) and a short reason.
func Refuse(status int, reason string) error {
	return &wsproto.HTTPError{Status: status, Reason: reason}
}

// MessageType tells text from binary. As a SendOption it sets the frame
// type of a send; text is the default.
type MessageType uint8

// The message types, numbered as their WebSocket opcodes.
const (
	Text   MessageType = MessageType(wsproto.OpText)
	Binary MessageType = MessageType(wsproto.OpBinary)
)

func (t MessageType) String() string {
	if t == Binary {
		return "binary"
	}
	return "text"
}

func (t MessageType) opcode() wsproto.OpCode {
	if t == Binary {
		return wsproto.OpBinary
	}
	return wsproto.OpText
}

// Message is one message received from a client.
type Message struct {
	Type MessageType
	Data []byte // valid during OnMessage only
}

// IsText reports whether the message came in a text frame (valid UTF-8).
func (m Message) IsText() bool { return m.Type == Text }
