package cluster

import (
	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc/rpcpb"
	"github.com/wsgate/wsgate/wsproto"
)

// Every operation of the Api, defined once: where it goes, which router
// function applies it on the node that holds its clients, the wire message
// it travels in, and, for a request that asks every node, how their
// answers become one, as a single node holding all their clients would
// have answered: counts add up, clientID lists are concatenated (a
// clientID lives on one node only), uid and group lists are merged without
// repeats (a uid or a group may span nodes).
//
// Adding an operation takes a router method, a message in
// rpc/rpcpb/node.proto (a field of Request or Command), a definition here
// listed in requests or commands, and the Api method that names it.
// The definitions are variables only because Go has no constant structs:
// nothing writes them after initialisation.

// Requests about one client, answered by the node that owns it.
var (
	BindUID = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.BindUID(a.ID, a.UID) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_BindUid{BindUid: &rpcpb.BindUid{ClientId: a.ID, Uid: a.UID}}}
		},
	}
	UnbindUID = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.UnbindUID(a.ID) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_UnbindUid{UnbindUid: ref(a)}}
		},
	}
	JoinGroup = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.JoinGroup(a.ID, a.Group) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_JoinGroup{JoinGroup: &rpcpb.ClientGroup{ClientId: a.ID, Group: a.Group}}}
		},
	}
	LeaveGroup = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.LeaveGroup(a.ID, a.Group) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_LeaveGroup{LeaveGroup: &rpcpb.ClientGroup{ClientId: a.ID, Group: a.Group}}}
		},
	}
	SetInfo = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.SetInfo(a.ID, a.Info) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_SetInfo{SetInfo: &rpcpb.ClientInfo{ClientId: a.ID, Info: a.Info}}}
		},
	}
	UpdateInfo = &Request[none]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (none, error) { return none{}, r.UpdateInfo(a.ID, a.Info) },
		result: empty,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_UpdateInfo{UpdateInfo: &rpcpb.ClientInfo{ClientId: a.ID, Info: a.Info}}}
		},
	}
	GetInfo = &Request[map[string]string]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (map[string]string, error) { return r.Info(a.ID) },
		result: info,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetInfo{GetInfo: ref(a)}}
		},
	}
	IsOnline = &Request[bool]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (bool, error) { return r.IsOnline(a.ID), nil },
		result: flag,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_IsOnline{IsOnline: ref(a)}}
		},
	}
	GetUIDByClientID = &Request[string]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) (string, error) { return r.UIDOf(a.ID) },
		result: text,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetUidByClientId{GetUidByClientId: ref(a)}}
		},
	}
	GetGroupsByClientID = &Request[[]string]{
		to:     toOwner,
		apply:  func(r *router.Router, a Args) ([]string, error) { return r.GroupsOf(a.ID) },
		result: list,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetGroupsByClientId{GetGroupsByClientId: ref(a)}}
		},
	}
)

// Requests about the whole cluster, answered by every node for its own
// clients.
var (
	IsUIDOnline = &Request[bool]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) (bool, error) { return r.IsUIDOnline(a.UID), nil },
		result: flag,
		merge:  anyTrue,
		// One node that has the uid is enough, whoever else is missing.
		settled: func(on bool) bool { return on },
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_IsUidOnline{IsUidOnline: &rpcpb.Uid{Uid: a.UID}}}
		},
	}
	GetClientIDsByUID = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) ([]string, error) { return r.ClientIDsByUID(a.UID), nil },
		result: list,
		merge:  concat,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientIdsByUid{GetClientIdsByUid: &rpcpb.Uid{Uid: a.UID}}}
		},
	}
	GetClientCountByUID = &Request[int]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) (int, error) { return r.ClientCountByUID(a.UID), nil },
		result: count,
		merge:  sum,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientCountByUid{GetClientCountByUid: &rpcpb.Uid{Uid: a.UID}}}
		},
	}
	GetClientInfosByUID = &Request[map[string]map[string]string]{
		to: toEveryNode,
		apply: func(r *router.Router, a Args) (map[string]map[string]string, error) {
			return r.InfosByUID(a.UID), nil
		},
		result: infos,
		merge:  mergeInfos,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientInfosByUid{GetClientInfosByUid: &rpcpb.Uid{Uid: a.UID}}}
		},
	}
	Ungroup = &Request[none]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) (none, error) { r.Ungroup(a.Group); return none{}, nil },
		result: empty,
		merge:  func(none, []none) none { return none{} },
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_Ungroup{Ungroup: group(a)}}
		},
	}
	GetClientCountByGroup = &Request[int]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) (int, error) { return r.GroupCount(a.Group), nil },
		result: count,
		merge:  sum,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientCountByGroup{GetClientCountByGroup: group(a)}}
		},
	}
	GetClientIDsByGroup = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) ([]string, error) { return r.ClientIDsByGroup(a.Group), nil },
		result: list,
		merge:  concat,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientIdsByGroup{GetClientIdsByGroup: group(a)}}
		},
	}
	GetUIDsByGroup = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, a Args) ([]string, error) { return r.UIDsByGroup(a.Group), nil },
		result: list,
		merge:  union,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetUidsByGroup{GetUidsByGroup: group(a)}}
		},
	}
	GetClientInfosByGroup = &Request[map[string]map[string]string]{
		to: toEveryNode,
		apply: func(r *router.Router, a Args) (map[string]map[string]string, error) {
			return r.InfosByGroup(a.Group), nil
		},
		result: infos,
		merge:  mergeInfos,
		wire: func(a Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetClientInfosByGroup{GetClientInfosByGroup: group(a)}}
		},
	}
	GetAllUIDs = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, _ Args) ([]string, error) { return r.UIDs(), nil },
		result: list,
		merge:  union,
		wire: func(Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetAllUids{GetAllUids: &rpcpb.Empty{}}}
		},
	}
	GetAllGroups = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, _ Args) ([]string, error) { return r.Groups(), nil },
		result: list,
		merge:  union,
		wire: func(Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetAllGroups{GetAllGroups: &rpcpb.Empty{}}}
		},
	}
	GetAllClientIDs = &Request[[]string]{
		to:     toEveryNode,
		apply:  func(r *router.Router, _ Args) ([]string, error) { return r.ClientIDs(), nil },
		result: list,
		merge:  concat,
		wire: func(Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetAllClientIds{GetAllClientIds: &rpcpb.Empty{}}}
		},
	}
	GetAllClientCount = &Request[int]{
		to:     toEveryNode,
		apply:  func(r *router.Router, _ Args) (int, error) { return r.ClientCount(), nil },
		result: count,
		merge:  sum,
		wire: func(Args) *rpcpb.Request {
			return &rpcpb.Request{Kind: &rpcpb.Request_GetAllClientCount{GetAllClientCount: &rpcpb.Empty{}}}
		},
	}
)

// requests are the requests a node answers for its peers.
func requests() []request {
	return []request{
		BindUID, UnbindUID, JoinGroup, LeaveGroup, SetInfo, UpdateInfo,
		GetInfo, IsOnline, GetUIDByClientID, GetGroupsByClientID,
		IsUIDOnline, GetClientIDsByUID, GetClientCountByUID, GetClientInfosByUID,
		Ungroup, GetClientCountByGroup, GetClientIDsByGroup, GetUIDsByGroup,
		GetClientInfosByGroup,
		GetAllUIDs, GetAllGroups, GetAllClientIDs, GetAllClientCount,
	}
}

// Commands: sends and closes, which travel on the ordered stream and are
// not answered.
var (
	SendToAll = &Command{
		to: toEveryNode,
		apply: func(r *router.Router, m Message) error {
			r.SendToAll(m.Op, m.Data, m.Exclude)
			return nil
		},
		wire: func(m Message) *rpcpb.Command {
			return &rpcpb.Command{Kind: &rpcpb.Command_SendToAll{SendToAll: &rpcpb.SendToAll{
				Message: payload(m), ExcludeClientIds: m.Exclude,
			}}}
		},
	}
	SendToClients = &Command{
		to: toOwners,
		apply: func(r *router.Router, m Message) error {
			r.SendToClients(m.IDs, m.Op, m.Data, m.Exclude)
			return nil
		},
		wire: func(m Message) *rpcpb.Command {
			return &rpcpb.Command{Kind: &rpcpb.Command_SendToClients{SendToClients: &rpcpb.SendToClients{
				Message: payload(m), ClientIds: m.IDs, ExcludeClientIds: m.Exclude,
			}}}
		},
	}
	// SendToClient answers whether the client took the message, so it has
	// a router function of its own; on the wire it is a SendToClients of
	// that one client, which is all its owner needs.
	SendToClient = &Command{
		to:    toOwner,
		apply: func(r *router.Router, m Message) error { return r.SendToClient(m.ID, m.Op, m.Data) },
		wire: func(m Message) *rpcpb.Command {
			m.IDs, m.Exclude = []string{m.ID}, nil
			return SendToClients.wire(m)
		},
	}
	SendToUIDs = &Command{
		to: toEveryNode,
		apply: func(r *router.Router, m Message) error {
			r.SendToUIDs(m.UIDs, m.Op, m.Data)
			return nil
		},
		wire: func(m Message) *rpcpb.Command {
			return &rpcpb.Command{Kind: &rpcpb.Command_SendToUids{SendToUids: &rpcpb.SendToUids{
				Message: payload(m), Uids: m.UIDs,
			}}}
		},
	}
	SendToGroups = &Command{
		to: toEveryNode,
		apply: func(r *router.Router, m Message) error {
			r.SendToGroups(m.Groups, m.Op, m.Data, m.Exclude)
			return nil
		},
		wire: func(m Message) *rpcpb.Command {
			return &rpcpb.Command{Kind: &rpcpb.Command_SendToGroups{SendToGroups: &rpcpb.SendToGroups{
				Message: payload(m), Groups: m.Groups, ExcludeClientIds: m.Exclude,
			}}}
		},
	}
	// CloseClient closes, or with Destroy drops, one client.
	CloseClient = &Command{
		to: toOwner,
		apply: func(r *router.Router, m Message) error {
			if m.Destroy {
				return r.DestroyClient(m.ID)
			}
			return r.CloseClient(m.ID, m.Final, m.FinalOp, m.Code, m.Reason)
		},
		wire: func(m Message) *rpcpb.Command {
			c := &rpcpb.CloseClient{ClientId: m.ID, Destroy: m.Destroy, Code: uint32(m.Code), Reason: m.Reason}
			if m.Final != nil {
				c.Final = &rpcpb.Message{Data: m.Final, Binary: m.FinalOp == wsproto.OpBinary}
			}
			return &rpcpb.Command{Kind: &rpcpb.Command_CloseClient{CloseClient: c}}
		},
	}
)

// commands are the commands a node applies for its peers: one for each
// kind of Command message (SendToClient travels as SendToClients).
func commands() []*Command {
	return []*Command{SendToAll, SendToClients, SendToUIDs, SendToGroups, CloseClient}
}
