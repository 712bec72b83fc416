package api

// SendOption adjusts a send: Binary (or Text) sets the frame type, Exclude
// leaves clients out.
type SendOption interface {
	// applySend returns o with the option applied; taking and returning a
	// value keeps a send's options off the heap.
	applySend(o sendOptions) sendOptions
}

// sendOptions are the resolved options of a send.
type sendOptions struct {
	Type    MessageType // Text unless Binary was given
	Exclude []string    // clientIDs that do not get the message
	Async   bool        // see Async
}

func (t MessageType) applySend(o sendOptions) sendOptions { o.Type = t; return o }

type exclude []string

func (e exclude) applySend(o sendOptions) sendOptions {
	o.Exclude = append(o.Exclude, e...)
	return o
}

// Exclude leaves the listed clients out of a fan-out send (SendToAll,
// SendToClients, SendToGroup, SendToGroups).
func Exclude(clientIDs ...string) SendOption { return exclude(clientIDs) }

type async struct{}

func (async) applySend(o sendOptions) sendOptions { o.Async = true; return o }

// Async makes SendToClient, for a client on another node of a cluster,
// return as soon as the message is queued for that node, without waiting
// for the node to say whether the client is connected. ErrClientOffline
// then means only that the node is gone; a message to a client that is
// not connected is dropped there. It saves a round trip per message, and
// changes nothing for a client on this node or for other sends.
func Async() SendOption { return async{} }

// resolve applies opts in order to the defaults.
func resolve(opts []SendOption) sendOptions {
	o := sendOptions{Type: Text}
	for _, opt := range opts {
		if opt != nil {
			o = opt.applySend(o)
		}
	}
	if o.Type != Binary {
		o.Type = Text
	}
	return o
}

// CloseOptions say how CloseClient closes a client. The zero value closes
// with 1000 and no final message.
type CloseOptions struct {
	// Final, if not nil, is sent as one last message before the close frame.
	Final []byte
	// FinalType is the frame type of Final; Text by default.
	FinalType MessageType
	// Code is the close code: 1000 (default), 1001, 1008 or 3000-4999.
	Code int
	// Reason is the close reason, at most 123 bytes of UTF-8 (longer is cut
	// between characters; not UTF-8 is refused with ErrInvalidUTF8).
	Reason string
}
