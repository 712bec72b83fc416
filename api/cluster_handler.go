package api

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// peerHandler applies what other nodes send to this node's clients, through
// the same local Api this node's own calls use: a fan-out command is
// encoded into one frame here and shared by every local recipient.
type peerHandler struct {
	local localAPI
	log   *slog.Logger
}

// HandleCommand applies one command. Its failures have nobody to go to
// (the sender did not wait); those other than a client being gone are
// logged.
func (h peerHandler) HandleCommand(from string, cmd *rpcpb.Command) {
	ctx := context.Background()
	var err error
	switch k := cmd.GetKind().(type) {
	case *rpcpb.Command_SendToAll:
		c := k.SendToAll
		err = h.local.SendToAll(ctx, c.GetMessage().GetData(), messageType(c.GetMessage()), Exclude(c.GetExcludeClientIds()...))
	case *rpcpb.Command_SendToClients:
		c := k.SendToClients
		err = h.local.SendToClients(ctx, c.GetClientIds(), c.GetMessage().GetData(), messageType(c.GetMessage()), Exclude(c.GetExcludeClientIds()...))
	case *rpcpb.Command_SendToUids:
		c := k.SendToUids
		err = h.local.SendToUIDs(ctx, c.GetUids(), c.GetMessage().GetData(), messageType(c.GetMessage()))
	case *rpcpb.Command_SendToGroups:
		c := k.SendToGroups
		err = h.local.SendToGroups(ctx, c.GetGroups(), c.GetMessage().GetData(), messageType(c.GetMessage()), Exclude(c.GetExcludeClientIds()...))
	case *rpcpb.Command_CloseClient:
		c := k.CloseClient
		if c.GetDestroy() {
			err = h.local.DestroyClient(ctx, c.GetClientId())
			break
		}
		o := CloseOptions{Code: int(c.GetCode()), Reason: c.GetReason()}
		if f := c.GetFinal(); f != nil {
			o.Final, o.FinalType = nonNilBytes(f.GetData()), messageType(f)
		}
		err = h.local.CloseClient(ctx, c.GetClientId(), o)
	default:
		h.log.Warn("cluster: unknown command from peer", "peer", from)
		return
	}
	if err != nil && !isOffline(err) {
		h.log.Warn("cluster: command from peer failed", "peer", from, "err", err)
	}
}

// HandleRequest answers one request from this node's share of the cluster.
func (h peerHandler) HandleRequest(ctx context.Context, from string, req *rpcpb.Request) (*rpcpb.Response, error) {
	l := h.local
	switch k := req.GetKind().(type) {
	case *rpcpb.Request_BindUid:
		return done(l.BindUID(ctx, k.BindUid.GetClientId(), k.BindUid.GetUid()))
	case *rpcpb.Request_UnbindUid:
		return done(l.UnbindUID(ctx, k.UnbindUid.GetClientId()))
	case *rpcpb.Request_JoinGroup:
		return done(l.JoinGroup(ctx, k.JoinGroup.GetClientId(), k.JoinGroup.GetGroup()))
	case *rpcpb.Request_LeaveGroup:
		return done(l.LeaveGroup(ctx, k.LeaveGroup.GetClientId(), k.LeaveGroup.GetGroup()))
	case *rpcpb.Request_SetInfo:
		return done(l.SetInfo(ctx, k.SetInfo.GetClientId(), k.SetInfo.GetInfo()))
	case *rpcpb.Request_UpdateInfo:
		return done(l.UpdateInfo(ctx, k.UpdateInfo.GetClientId(), k.UpdateInfo.GetInfo()))
	case *rpcpb.Request_GetInfo:
		info, err := l.GetInfo(ctx, k.GetInfo.GetClientId())
		return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Info{Info: &rpcpb.Info{Values: info}} })
	case *rpcpb.Request_IsOnline:
		on, err := l.IsOnline(ctx, k.IsOnline.GetClientId())
		return flag(on, err)
	case *rpcpb.Request_GetUidByClientId:
		uid, err := l.GetUIDByClientID(ctx, k.GetUidByClientId.GetClientId())
		return answer(err, func(r *rpcpb.Response) { r.Result = &rpcpb.Response_Text{Text: uid} })
	case *rpcpb.Request_GetGroupsByClientId:
		return list(l.GetGroupsByClientID(ctx, k.GetGroupsByClientId.GetClientId()))
	case *rpcpb.Request_IsUidOnline:
		return flag(l.IsUIDOnline(ctx, k.IsUidOnline.GetUid()))
	case *rpcpb.Request_GetClientIdsByUid:
		return list(l.GetClientIDsByUID(ctx, k.GetClientIdsByUid.GetUid()))
	case *rpcpb.Request_Ungroup:
		return done(l.Ungroup(ctx, k.Ungroup.GetGroup()))
	case *rpcpb.Request_GetClientCountByGroup:
		return count(l.GetClientCountByGroup(ctx, k.GetClientCountByGroup.GetGroup()))
	case *rpcpb.Request_GetClientIdsByGroup:
		return list(l.GetClientIDsByGroup(ctx, k.GetClientIdsByGroup.GetGroup()))
	case *rpcpb.Request_GetUidsByGroup:
		return list(l.GetUIDsByGroup(ctx, k.GetUidsByGroup.GetGroup()))
	case *rpcpb.Request_GetUidCountByGroup:
		return count(l.GetUIDCountByGroup(ctx, k.GetUidCountByGroup.GetGroup()))
	case *rpcpb.Request_GetClientInfosByGroup:
		infos, err := l.GetClientInfosByGroup(ctx, k.GetClientInfosByGroup.GetGroup())
		return answer(err, func(r *rpcpb.Response) {
			by := make(map[string]*rpcpb.Info, len(infos))
			for id, info := range infos {
				by[id] = &rpcpb.Info{Values: info}
			}
			r.Result = &rpcpb.Response_Infos{Infos: &rpcpb.Infos{ByClientId: by}}
		})
	case *rpcpb.Request_GetAllUids:
		return list(l.GetAllUIDs(ctx))
	case *rpcpb.Request_GetAllGroups:
		return list(l.GetAllGroups(ctx))
	case *rpcpb.Request_GetAllClientIds:
		return list(l.GetAllClientIDs(ctx))
	case *rpcpb.Request_GetAllClientCount:
		return count(l.GetAllClientCount(ctx))
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

func messageType(m *rpcpb.Message) MessageType {
	if m.GetBinary() {
		return Binary
	}
	return Text
}

// nonNilBytes keeps an empty final message from reading as "none".
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func isOffline(err error) bool { return errors.Is(err, ErrClientOffline) }
