package api

// SendOption adjusts a send: Binary (or Text) sets the frame type, Exclude
// leaves clients out.
type SendOption interface {
	applySend(*SendOptions)
}

// SendOptions are the resolved options of a send; an Api implementation
// gets them from ResolveSendOptions.
type SendOptions struct {
	Type    MessageType // Text unless Binary was given
	Exclude []string    // clientIDs that do not get the message
}

func (t MessageType) applySend(o *SendOptions) { o.Type = t }

type exclude []string

func (e exclude) applySend(o *SendOptions) { o.Exclude = append(o.Exclude, e...) }

// Exclude leaves the listed clients out of a fan-out send (SendToAll,
// SendToClients, SendToGroup, SendToGroups).
func Exclude(clientIDs ...string) SendOption { return exclude(clientIDs) }

// ResolveSendOptions applies opts in order to the defaults.
func ResolveSendOptions(opts []SendOption) SendOptions {
	o := SendOptions{Type: Text}
	for _, opt := range opts {
		if opt != nil {
			opt.applySend(&o)
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
	// Reason is the close reason, at most 123 bytes of UTF-8 (longer is cut).
	Reason string
}
