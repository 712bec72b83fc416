package api

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc/rpcpb"
	"github.com/wsgate/wsgate/wsproto"
)

// peerHandler applies what other nodes send straight to this node's router:
// the sender checked the call (context, UTF-8, close code) already, so the
// command goes down, never back up through the Api. A fan-out command is
// encoded into one frame here and shared by every local recipient.
type peerHandler struct {
	r   *router.Router
	log *slog.Logger
}

// HandleCommand applies one command. Its failures have nobody to go to
// (the sender did not wait); those other than a client being gone are
// logged.
func (h peerHandler) HandleCommand(from string, cmd *rpcpb.Command) {
	var err error
	switch k := cmd.GetKind().(type) {
	case *rpcpb.Command_SendToAll:
		c := k.SendToAll
		h.r.SendToAll(opcodeOf(c.GetMessage()), c.GetMessage().GetData(), c.GetExcludeClientIds())
	case *rpcpb.Command_SendToClients:
		c := k.SendToClients
		h.r.SendToClients(c.GetClientIds(), opcodeOf(c.GetMessage()), c.GetMessage().GetData(), c.GetExcludeClientIds())
	case *rpcpb.Command_SendToUids:
		c := k.SendToUids
		h.r.SendToUIDs(c.GetUids(), opcodeOf(c.GetMessage()), c.GetMessage().GetData())
	case *rpcpb.Command_SendToGroups:
		c := k.SendToGroups
		h.r.SendToGroups(c.GetGroups(), opcodeOf(c.GetMessage()), c.GetMessage().GetData(), c.GetExcludeClientIds())
	case *rpcpb.Command_CloseClient:
		c := k.CloseClient
		if c.GetDestroy() {
			err = h.r.DestroyClient(c.GetClientId())
			break
		}
		var final []byte
		if f := c.GetFinal(); f != nil {
			final = nonNilBytes(f.GetData())
		}
		err = h.r.CloseClient(c.GetClientId(), final, opcodeOf(c.GetFinal()), wsproto.StatusCode(c.GetCode()), c.GetReason())
	default:
		h.log.Warn("cluster: unknown command from peer", "peer", from)
		return
	}
	if err != nil && !errors.Is(err, ErrClientOffline) {
		h.log.Warn("cluster: command from peer failed", "peer", from, "err", err)
	}
}

// HandleRequest answers one request from this node's share of the cluster.
func (h peerHandler) HandleRequest(ctx context.Context, from string, req *rpcpb.Request) (*rpcpb.Response, error) {
	r := h.r
	switch k := req.GetKind().(type) {
	case *rpcpb.Request_BindUid:
		return done(r.BindUID(k.BindUid.GetClientId(), k.BindUid.GetUid()))
	case *rpcpb.Request_UnbindUid:
		return done(r.UnbindUID(k.UnbindUid.GetClientId()))
	case *rpcpb.Request_JoinGroup:
		return done(r.JoinGroup(k.JoinGroup.GetClientId(), k.JoinGroup.GetGroup()))
	case *rpcpb.Request_LeaveGroup:
		return done(r.LeaveGroup(k.LeaveGroup.GetClientId(), k.LeaveGroup.GetGroup()))
	case *rpcpb.Request_SetInfo:
		return done(r.SetInfo(k.SetInfo.GetClientId(), k.SetInfo.GetInfo()))
	case *rpcpb.Request_UpdateInfo:
		return done(r.UpdateInfo(k.UpdateInfo.GetClientId(), k.UpdateInfo.GetInfo()))
	case *rpcpb.Request_GetInfo:
		info, err := r.Info(k.GetInfo.GetClientId())
		return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Info{Info: &rpcpb.Info{Values: info}} })
	case *rpcpb.Request_IsOnline:
		return flag(r.IsOnline(k.IsOnline.GetClientId()), nil)
	case *rpcpb.Request_GetUidByClientId:
		uid, err := r.UIDOf(k.GetUidByClientId.GetClientId())
		return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Text{Text: uid} })
	case *rpcpb.Request_GetGroupsByClientId:
		return list(r.GroupsOf(k.GetGroupsByClientId.GetClientId()))
	case *rpcpb.Request_IsUidOnline:
		return flag(r.IsUIDOnline(k.IsUidOnline.GetUid()), nil)
	case *rpcpb.Request_GetClientIdsByUid:
		return list(r.ClientIDsByUID(k.GetClientIdsByUid.GetUid()), nil)
	case *rpcpb.Request_Ungroup:
		r.Ungroup(k.Ungroup.GetGroup())
		return done(nil)
	case *rpcpb.Request_GetClientCountByGroup:
		return count(r.GroupCount(k.GetClientCountByGroup.GetGroup()), nil)
	case *rpcpb.Request_GetClientIdsByGroup:
		return list(r.ClientIDsByGroup(k.GetClientIdsByGroup.GetGroup()), nil)
	case *rpcpb.Request_GetUidsByGroup:
		return list(r.UIDsByGroup(k.GetUidsByGroup.GetGroup()), nil)
	case *rpcpb.Request_GetUidCountByGroup:
		return count(len(r.UIDsByGroup(k.GetUidCountByGroup.GetGroup())), nil)
	case *rpcpb.Request_GetClientInfosByGroup:
		infos := r.InfosByGroup(k.GetClientInfosByGroup.GetGroup())
		by := make(map[string]*rpcpb.Info, len(infos))
		for id, info := range infos {
			by[id] = &rpcpb.Info{Values: info}
		}
		return &rpcpb.Response{Result: &rpcpb.Response_Infos{Infos: &rpcpb.Infos{ByClientId: by}}}, nil
	case *rpcpb.Request_GetAllUids:
		return list(r.UIDs(), nil)
	case *rpcpb.Request_GetAllGroups:
		return list(r.Groups(), nil)
	case *rpcpb.Request_GetAllClientIds:
		return list(r.ClientIDs(), nil)
	case *rpcpb.Request_GetAllClientCount:
		return count(r.ClientCount(), nil)
	}
	return &rpcpb.Response{Result: &rpcpb.Response_Error{Error: &rpcpb.Error{
		Code: rpcpb.Error_INVALID, Message: "unknown request",
	}}}, nil
}

// answer is the Response for err, or the one fill makes when err is nil.
func answer(err error, fill func(*rpcpb.Response)) (*rpcpb.Response, error) {
	r := &rpcpb.Response{}
	if err != nil {
		r.Result = &rpcpb.Response_Error{Error: errorToProto(err)}
		return r, nil
	}
	fill(r)
	return r, nil
}

func done(err error) (*rpcpb.Response, error) {
	return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Empty{Empty: &rpcpb.Empty{}} })
}

func flag(v bool, err error) (*rpcpb.Response, error) {
	return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Flag{Flag: v} })
}

func count(n int, err error) (*rpcpb.Response, error) {
	return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Count{Count: int64(n)} })
}

func list(s []string, err error) (*rpcpb.Response, error) {
	return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Strings{Strings: &rpcpb.Strings{Values: s}} })
}

// opcodeOf is the frame type a Message goes out as.
func opcodeOf(m *rpcpb.Message) wsproto.OpCode {
	if m.GetBinary() {
		return wsproto.OpBinary
	}
	return wsproto.OpText
}

// nonNilBytes keeps an empty final message from reading as "none".
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
