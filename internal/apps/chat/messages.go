package chat

import "encoding/json"

// The server's messages. Struct field order is the JSON order, so "type"
// comes first.

type welcome struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

type joined struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Name string `json:"name"`
}

type left joined

type said struct {
	Type string `json:"type"`
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
}

type whispered struct {
	Type string `json:"type"`
	From string `json:"from"`
	Text string `json:"text"`
}

type shouted whispered

// whisperSent confirms a whisper to its sender, who asked for it with
// "confirm":true. Without it a client cannot tell a whisper that went out
// from one still waiting for its error: the server answers a connection's
// requests in order, but sends nothing for a whisper that succeeded. It is
// opt-in so that clients written before it get no message they do not
// know. The text is echoed so that the client can show the line from the
// confirmation alone.
type whisperSent struct {
	Type string `json:"type"`
	To   string `json:"to"`
	Text string `json:"text"`
}

type whoReply struct {
	Type    string   `json:"type"`
	Room    string   `json:"room"`
	Names   []string `json:"names"`
	Clients int      `json:"clients"`
}

type statusReply struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

type clientStatus struct {
	ClientID string `json:"client_id"`
	Status   string `json:"status"`
}

type whoisReply struct {
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Online  bool           `json:"online"`
	Clients []clientStatus `json:"clients"`
}

type roomsReply struct {
	Type  string   `json:"type"`
	Rooms []string `json:"rooms"`
}

type statsReply struct {
	Type    string `json:"type"`
	Clients int    `json:"clients"`
	Users   int    `json:"users"`
}

type errorReply struct {
	Type  string `json:"type"`
	Error string `json:"error"`
}

// encode marshals a reply; the types above cannot fail to marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("chat: encode " + err.Error())
	}
	return b
}
