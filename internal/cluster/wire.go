package cluster

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc/rpcpb"
	"github.com/wsgate/wsgate/wsproto"
)

// Args are the arguments of a Request; each uses those its wire message
// has.
type Args struct {
	ID    string // a clientID; its node answers a request for one client
	UID   string
	Group string
	Info  map[string]string
}

// Message is what a Command carries: a payload and whom it is for, or how
// to close a client; each Command uses the fields its wire message has.
type Message struct {
	Op   wsproto.OpCode // OpText or OpBinary
	Data []byte

	ID      string   // the client of SendToClient and CloseClient
	IDs     []string // SendToClients
	UIDs    []string // SendToUIDs
	Groups  []string // SendToGroups
	Exclude []string // clients left out of SendToAll, SendToClients and SendToGroups
	// Async sends to a client of another node without asking its node
	// first whether it is connected.
	Async bool

	// CloseClient: Destroy drops the connection at once; otherwise Final,
	// if not nil, goes out first, then a close frame with Code and Reason.
	Destroy bool
	Final   []byte
	FinalOp wsproto.OpCode
	Code    wsproto.StatusCode
	Reason  string
}

// detached copies what the caller may reuse once the call returns: a
// command for a peer is queued and sent later.
func (m Message) detached() Message {
	m.Data = clone(m.Data)
	m.Final = clone(m.Final)
	m.IDs = clone(m.IDs)
	m.UIDs = clone(m.UIDs)
	m.Groups = clone(m.Groups)
	m.Exclude = clone(m.Exclude)
	return m
}

// clone copies s, keeping nil and empty apart: an empty final message is
// still one.
func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// none is the result of a request that answers only whether it worked.
type none struct{}

// A codec carries a request's result across the wire.
type codec[R any] struct {
	encode func(R) *rpcpb.Response
	decode func(*rpcpb.Response) R
}

// The results a request can have.
var (
	empty = codec[none]{
		encode: func(none) *rpcpb.Response {
			return &rpcpb.Response{Result: &rpcpb.Response_Empty{Empty: &rpcpb.Empty{}}}
		},
		decode: func(*rpcpb.Response) none { return none{} },
	}
	flag = codec[bool]{
		encode: func(v bool) *rpcpb.Response { return &rpcpb.Response{Result: &rpcpb.Response_Flag{Flag: v}} },
		decode: (*rpcpb.Response).GetFlag,
	}
	count = codec[int]{
		encode: func(n int) *rpcpb.Response { return &rpcpb.Response{Result: &rpcpb.Response_Count{Count: int64(n)}} },
		decode: func(r *rpcpb.Response) int { return int(r.GetCount()) },
	}
	text = codec[string]{
		encode: func(s string) *rpcpb.Response { return &rpcpb.Response{Result: &rpcpb.Response_Text{Text: s}} },
		decode: (*rpcpb.Response).GetText,
	}
	list = codec[[]string]{
		encode: func(s []string) *rpcpb.Response {
			return &rpcpb.Response{Result: &rpcpb.Response_Strings{Strings: &rpcpb.Strings{Values: s}}}
		},
		// A listing is never nil.
		decode: func(r *rpcpb.Response) []string { return nonNil(r.GetStrings().GetValues()) },
	}
	info = codec[map[string]string]{
		encode: func(m map[string]string) *rpcpb.Response {
			return &rpcpb.Response{Result: &rpcpb.Response_Info{Info: &rpcpb.Info{Values: m}}}
		},
		decode: func(r *rpcpb.Response) map[string]string { return nonNilInfo(r.GetInfo().GetValues()) },
	}
	infos = codec[map[string]map[string]string]{
		encode: func(m map[string]map[string]string) *rpcpb.Response {
			by := make(map[string]*rpcpb.Info, len(m))
			for id, values := range m {
				by[id] = &rpcpb.Info{Values: values}
			}
			return &rpcpb.Response{Result: &rpcpb.Response_Infos{Infos: &rpcpb.Infos{ByClientId: by}}}
		},
		decode: func(r *rpcpb.Response) map[string]map[string]string {
			by := r.GetInfos().GetByClientId()
			m := make(map[string]map[string]string, len(by))
			for id, values := range by {
				m[id] = nonNilInfo(values.GetValues())
			}
			return m
		},
	}
)

// How the answers of several nodes become one.

func sum(mine int, theirs []int) int {
	for _, n := range theirs {
		mine += n
	}
	return mine
}

func anyTrue(mine bool, theirs []bool) bool {
	for _, v := range theirs {
		mine = mine || v
	}
	return mine
}

// concat joins lists that cannot overlap, such as clientIDs.
func concat(mine []string, theirs [][]string) []string {
	out := nonNil(mine)
	for _, s := range theirs {
		out = append(out, s...)
	}
	return out
}

// union joins lists that may overlap, such as uids and groups.
func union(mine []string, theirs [][]string) []string {
	seen := make(map[string]struct{}, len(mine))
	out := make([]string, 0, len(mine))
	for _, s := range append([][]string{mine}, theirs...) {
		for _, v := range s {
			if _, dup := seen[v]; !dup {
				seen[v] = struct{}{}
				out = append(out, v)
			}
		}
	}
	return out
}

func mergeInfos(mine map[string]map[string]string, theirs []map[string]map[string]string) map[string]map[string]string {
	for _, m := range theirs {
		for id, values := range m {
			mine[id] = values
		}
	}
	return mine
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nonNilInfo returns the info map, empty rather than nil as GetInfo
// promises.
func nonNilInfo(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Building wire messages.

func ref(a Args) *rpcpb.ClientRef { return &rpcpb.ClientRef{ClientId: a.ID} }
func group(a Args) *rpcpb.Group   { return &rpcpb.Group{Group: a.Group} }

func payload(m Message) *rpcpb.Message {
	return &rpcpb.Message{Data: m.Data, Binary: m.Op == wsproto.OpBinary}
}

// Reading them back is the same for every operation: the Go type of a
// Request's or Command's oneof names the operation, and the message it
// holds is read through the getters it has.

// wireKind returns the Go type of the oneof of a Request or a Command
// (such as *rpcpb.Request_BindUid) and the message it holds, the only
// field protoc-gen-go gives such a type; nil and nil if none is set.
func wireKind(kind any) (reflect.Type, any) {
	v := reflect.ValueOf(kind)
	if kind == nil || v.IsNil() {
		return nil, nil
	}
	return v.Type(), v.Elem().Field(0).Interface()
}

// argsOf reads the arguments of a request's message.
func argsOf(m any) Args {
	var a Args
	if x, ok := m.(interface{ GetClientId() string }); ok {
		a.ID = x.GetClientId()
	}
	if x, ok := m.(interface{ GetUid() string }); ok {
		a.UID = x.GetUid()
	}
	if x, ok := m.(interface{ GetGroup() string }); ok {
		a.Group = x.GetGroup()
	}
	if x, ok := m.(interface{ GetInfo() map[string]string }); ok {
		a.Info = x.GetInfo()
	}
	return a
}

// messageOf reads a command's message.
func messageOf(m any) Message {
	var c Message
	if x, ok := m.(interface{ GetMessage() *rpcpb.Message }); ok {
		c.Op, c.Data = opcode(x.GetMessage()), x.GetMessage().GetData()
	}
	if x, ok := m.(interface{ GetClientIds() []string }); ok {
		c.IDs = x.GetClientIds()
	}
	if x, ok := m.(interface{ GetUids() []string }); ok {
		c.UIDs = x.GetUids()
	}
	if x, ok := m.(interface{ GetGroups() []string }); ok {
		c.Groups = x.GetGroups()
	}
	if x, ok := m.(interface{ GetExcludeClientIds() []string }); ok {
		c.Exclude = x.GetExcludeClientIds()
	}
	if x, ok := m.(*rpcpb.CloseClient); ok {
		c.ID, c.Destroy, c.Code, c.Reason = x.GetClientId(), x.GetDestroy(), wsproto.StatusCode(x.GetCode()), x.GetReason()
		if f := x.GetFinal(); f != nil {
			// An empty final message is still one.
			c.Final, c.FinalOp = f.GetData(), opcode(f)
			if c.Final == nil {
				c.Final = []byte{}
			}
		}
	}
	return c
}

func opcode(m *rpcpb.Message) wsproto.OpCode {
	if m.GetBinary() {
		return wsproto.OpBinary
	}
	return wsproto.OpText
}

// errorToProto carries a router error to the calling node.
func errorToProto(err error) *rpcpb.Error {
	code := rpcpb.Error_UNKNOWN
	switch {
	case errors.Is(err, router.ErrClientOffline):
		code = rpcpb.Error_CLIENT_OFFLINE
	case errors.Is(err, router.ErrEmptyUID):
		code = rpcpb.Error_EMPTY_UID
	case errors.Is(err, router.ErrEmptyGroup):
		code = rpcpb.Error_EMPTY_GROUP
	}
	return &rpcpb.Error{Code: code, Message: err.Error()}
}

// errInvalidRequest is what a node answers with INVALID, seen by the caller.
var errInvalidRequest = errors.New("invalid request")

// errorFromProto turns the owner's error back into the sentinel its router
// returned, so errors.Is works the same on every node.
func errorFromProto(peer string, e *rpcpb.Error) error {
	var base error
	switch e.GetCode() {
	case rpcpb.Error_CLIENT_OFFLINE:
		base = router.ErrClientOffline
	case rpcpb.Error_EMPTY_UID:
		base = router.ErrEmptyUID
	case rpcpb.Error_EMPTY_GROUP:
		base = router.ErrEmptyGroup
	case rpcpb.Error_INVALID:
		base = errInvalidRequest
	default:
		return fmt.Errorf("cluster: node %s: %s", peer, e.GetMessage())
	}
	return fmt.Errorf("%w (node %s: %s)", base, peer, e.GetMessage())
}
