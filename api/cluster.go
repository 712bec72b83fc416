package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// PartialError is returned, together with the merged answer of the nodes
// that did answer, by a call that needs every node when some did not
// answer in time (or, for a fan-out send, could not take the message).
// Missing lists their node ids. Get at it with errors.As:
//
//	n, err := a.GetAllClientCount(ctx)
//	var pe *api.PartialError
//	if errors.As(err, &pe) { /* n counts all but pe.Missing */ }
type PartialError = rpc.PartialError

// clusterAPI is the Api of a cluster member. A call naming a client goes
// to the node its clientID names: this one's router, or that peer over
// rpc. A fan-out send is applied here and sent once to each peer, which
// fans it out to its own clients. A query over the cluster asks every peer
// at once and merges their answers with this node's share.
//
// Sends and closes travel on the peer's ordered command stream, so the
// messages from this node to one client keep their order. The stream does
// not answer, so SendToClient, CloseClient and DestroyClient for a remote
// client first ask the owner whether the client is connected, to return
// ErrClientOffline as the owner itself would, then queue the command (one
// round trip; the Async option skips it for SendToClient). Everything else
// that answers is a call to the owner.
type clusterAPI struct {
	local localAPI // this node's router; empty for a connection-less Client
	self  string   // this node's id in the register and rpc
	// selfNode is the node number in this node's clientIDs; 0, which no
	// node has, for a connection-less Client.
	selfNode router.NodeID
	node     *rpc.Node
}

// owner says where the client with this id lives: the peer id of another
// node, or "" for this node. A malformed id is left to this node's router,
// which knows no such client and answers as it would for any unknown id.
func (a *clusterAPI) owner(id string) (remote string) {
	n, err := router.NodeOf(id)
	if err != nil || n == a.selfNode {
		return ""
	}
	return n.String()
}

// call asks the owner of client id and turns a failed answer back into
// the error the owner's own Api returned.
func (a *clusterAPI) call(ctx context.Context, peer, id string, req *rpcpb.Request) (*rpcpb.Response, error) {
	resp, err := a.node.Call(ctx, peer, req)
	switch {
	case errors.Is(err, rpc.ErrPeerUnavailable):
		return nil, fmt.Errorf("%w: %s (node %s is not reachable)", ErrClientOffline, id, peer)
	case err != nil:
		return nil, fmt.Errorf("api: call node %s: %w", peer, err)
	}
	if e := resp.GetError(); e != nil {
		return nil, errorFromProto(peer, e)
	}
	return resp, nil
}

// send queues a command for the owner of client id.
func (a *clusterAPI) send(peer, id string, cmd *rpcpb.Command) error {
	err := a.node.Send(peer, cmd)
	switch {
	case errors.Is(err, rpc.ErrPeerUnavailable):
		return fmt.Errorf("%w: %s (node %s is not reachable)", ErrClientOffline, id, peer)
	case err != nil:
		return fmt.Errorf("api: send to node %s: %w", peer, err)
	}
	return nil
}

// broadcast queues a command once for every peer. Peers that could not
// take it come back as a *PartialError.
func (a *clusterAPI) broadcast(cmd *rpcpb.Command) error {
	err := a.node.Broadcast(cmd)
	var pe *PartialError
	if err != nil && !errors.As(err, &pe) {
		return fmt.Errorf("api: broadcast: %w", err)
	}
	return err
}

// gather asks every peer and returns the answers that came. Peers that did
// not answer, or answered with an error, are listed in a *PartialError;
// any other error means nothing could be asked.
func (a *clusterAPI) gather(ctx context.Context, req *rpcpb.Request) ([]*rpcpb.Response, error) {
	got, err := a.node.CallAll(ctx, req)
	var pe *PartialError
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("api: ask every node: %w", err)
	}
	resps := make([]*rpcpb.Response, 0, len(got))
	for _, peer := range slices.Sorted(maps.Keys(got)) {
		resp := got[peer]
		if e := resp.GetError(); e != nil {
			if pe == nil {
				pe = &PartialError{}
			}
			pe.Missing = append(pe.Missing, peer)
			if pe.Errs == nil {
				pe.Errs = make(map[string]error)
			}
			pe.Errs[peer] = errorFromProto(peer, e)
			continue
		}
		resps = append(resps, resp)
	}
	if pe == nil {
		return resps, nil
	}
	slices.Sort(pe.Missing)
	return resps, pe
}

// message copies a payload into a command: the command is queued and sent
// after the call returns, when the caller may reuse data.
func message(data []byte, o SendOptions) *rpcpb.Message {
	return &rpcpb.Message{Data: slices.Clone(data), Binary: o.Type == Binary}
}

func (a *clusterAPI) SendToAll(ctx context.Context, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.local.sendToAll(data, o)
	return a.broadcast(&rpcpb.Command{Kind: &rpcpb.Command_SendToAll{SendToAll: &rpcpb.SendToAll{
		Message: message(data, o), ExcludeClientIds: slices.Clone(o.Exclude),
	}}})
}

func (a *clusterAPI) SendToClients(ctx context.Context, ids []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	// Split the list by owner; excluded ids go nowhere.
	excluded := make(map[string]bool, len(o.Exclude))
	for _, id := range o.Exclude {
		excluded[id] = true
	}
	var local []string
	byPeer := make(map[string][]string)
	for _, id := range ids {
		if excluded[id] {
			continue
		}
		if peer := a.owner(id); peer == "" {
			local = append(local, id)
		} else {
			byPeer[peer] = append(byPeer[peer], id)
		}
	}
	if len(local) > 0 {
		a.local.sendToClients(local, data, SendOptions{Type: o.Type})
	}
	if len(byPeer) == 0 {
		return nil
	}
	msg := message(data, o)
	// A peer that is gone has no clients to miss it: not an error, as a
	// local id that is not connected is not one either.
	var pe PartialError
	for peer, list := range byPeer {
		err := a.node.Send(peer, &rpcpb.Command{Kind: &rpcpb.Command_SendToClients{
			SendToClients: &rpcpb.SendToClients{Message: msg, ClientIds: list},
		}})
		if err != nil && !errors.Is(err, rpc.ErrPeerUnavailable) {
			pe.Missing = append(pe.Missing, peer)
			if pe.Errs == nil {
				pe.Errs = make(map[string]error)
			}
			pe.Errs[peer] = err
		}
	}
	if len(pe.Missing) > 0 {
		slices.Sort(pe.Missing)
		return &pe
	}
	return nil
}

func (a *clusterAPI) SendToClient(ctx context.Context, id string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	peer := a.owner(id)
	if peer == "" {
		return a.local.sendToClient(id, data, o)
	}
	if !o.Async {
		if err := a.confirm(ctx, peer, id); err != nil {
			return err
		}
	}
	return a.send(peer, id, &rpcpb.Command{Kind: &rpcpb.Command_SendToClients{
		SendToClients: &rpcpb.SendToClients{Message: message(data, o), ClientIds: []string{id}},
	}})
}

// confirm asks the owner whether a client is connected, before a command
// for it is queued: ErrClientOffline if not, as a local call would say.
func (a *clusterAPI) confirm(ctx context.Context, peer, id string) error {
	resp, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_IsOnline{IsOnline: ref(id)}})
	if err != nil {
		return err
	}
	if !resp.GetFlag() {
		return fmt.Errorf("%w: %s (node %s)", ErrClientOffline, id, peer)
	}
	return nil
}

func (a *clusterAPI) SendToUID(ctx context.Context, uid string, data []byte, opts ...SendOption) error {
	return a.SendToUIDs(ctx, []string{uid}, data, opts...)
}

func (a *clusterAPI) SendToUIDs(ctx context.Context, uids []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.local.sendToUIDs(uids, data, o)
	return a.broadcast(&rpcpb.Command{Kind: &rpcpb.Command_SendToUids{SendToUids: &rpcpb.SendToUids{
		Message: message(data, o), Uids: slices.Clone(uids),
	}}})
}

func (a *clusterAPI) SendToGroup(ctx context.Context, group string, data []byte, opts ...SendOption) error {
	return a.SendToGroups(ctx, []string{group}, data, opts...)
}

func (a *clusterAPI) SendToGroups(ctx context.Context, groups []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.local.sendToGroups(groups, data, o)
	return a.broadcast(&rpcpb.Command{Kind: &rpcpb.Command_SendToGroups{SendToGroups: &rpcpb.SendToGroups{
		Message: message(data, o), Groups: slices.Clone(groups), ExcludeClientIds: slices.Clone(o.Exclude),
	}}})
}

func (a *clusterAPI) BindUID(ctx context.Context, id, uid string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.BindUID(ctx, id, uid)
	}
	if uid == "" {
		return ErrEmptyUID
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_BindUid{
		BindUid: &rpcpb.BindUid{ClientId: id, Uid: uid},
	}})
	return err
}

func (a *clusterAPI) UnbindUID(ctx context.Context, id string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.UnbindUID(ctx, id)
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_UnbindUid{UnbindUid: ref(id)}})
	return err
}

func (a *clusterAPI) IsUIDOnline(ctx context.Context, uid string) (bool, error) {
	if on, err := a.local.IsUIDOnline(ctx, uid); on || err != nil {
		return on, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_IsUidOnline{IsUidOnline: &rpcpb.Uid{Uid: uid}}})
	for _, r := range resps {
		if r.GetFlag() {
			return true, nil // one node is enough, whoever else is missing
		}
	}
	return false, err
}

func (a *clusterAPI) GetUIDByClientID(ctx context.Context, id string) (string, error) {
	peer := a.owner(id)
	if peer == "" {
		return a.local.GetUIDByClientID(ctx, id)
	}
	resp, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_GetUidByClientId{GetUidByClientId: ref(id)}})
	return resp.GetText(), err
}

func (a *clusterAPI) GetClientIDsByUID(ctx context.Context, uid string) ([]string, error) {
	ids, err := a.local.GetClientIDsByUID(ctx, uid)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetClientIdsByUid{GetClientIdsByUid: &rpcpb.Uid{Uid: uid}}})
	return concatStrings(ids, resps), err
}

func (a *clusterAPI) GetAllUIDs(ctx context.Context) ([]string, error) {
	uids, err := a.local.GetAllUIDs(ctx)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetAllUids{GetAllUids: &rpcpb.Empty{}}})
	return unionStrings(uids, resps), err
}

func (a *clusterAPI) JoinGroup(ctx context.Context, id, group string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.JoinGroup(ctx, id, group)
	}
	if group == "" {
		return ErrEmptyGroup
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_JoinGroup{
		JoinGroup: &rpcpb.ClientGroup{ClientId: id, Group: group},
	}})
	return err
}

func (a *clusterAPI) LeaveGroup(ctx context.Context, id, group string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.LeaveGroup(ctx, id, group)
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_LeaveGroup{
		LeaveGroup: &rpcpb.ClientGroup{ClientId: id, Group: group},
	}})
	return err
}

func (a *clusterAPI) Ungroup(ctx context.Context, group string) error {
	if err := a.local.Ungroup(ctx, group); err != nil {
		return err
	}
	_, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_Ungroup{Ungroup: &rpcpb.Group{Group: group}}})
	return err
}

func (a *clusterAPI) GetClientCountByGroup(ctx context.Context, group string) (int, error) {
	n, err := a.local.GetClientCountByGroup(ctx, group)
	if err != nil {
		return 0, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetClientCountByGroup{
		GetClientCountByGroup: &rpcpb.Group{Group: group},
	}})
	return n + sumCounts(resps), err
}

func (a *clusterAPI) GetClientIDsByGroup(ctx context.Context, group string) ([]string, error) {
	ids, err := a.local.GetClientIDsByGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetClientIdsByGroup{
		GetClientIdsByGroup: &rpcpb.Group{Group: group},
	}})
	return concatStrings(ids, resps), err
}

func (a *clusterAPI) GetUIDsByGroup(ctx context.Context, group string) ([]string, error) {
	uids, err := a.local.GetUIDsByGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetUidsByGroup{
		GetUidsByGroup: &rpcpb.Group{Group: group},
	}})
	return unionStrings(uids, resps), err
}

// GetUIDCountByGroup counts distinct uids: one uid may have clients in the
// group on several nodes, so it asks for the lists, not the counts.
func (a *clusterAPI) GetUIDCountByGroup(ctx context.Context, group string) (int, error) {
	uids, err := a.GetUIDsByGroup(ctx, group)
	return len(uids), err
}

func (a *clusterAPI) GetClientInfosByGroup(ctx context.Context, group string) (map[string]map[string]string, error) {
	infos, err := a.local.GetClientInfosByGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetClientInfosByGroup{
		GetClientInfosByGroup: &rpcpb.Group{Group: group},
	}})
	for _, r := range resps {
		for id, info := range r.GetInfos().GetByClientId() {
			infos[id] = infoFromProto(info.GetValues())
		}
	}
	return infos, err
}

func (a *clusterAPI) GetGroupsByClientID(ctx context.Context, id string) ([]string, error) {
	peer := a.owner(id)
	if peer == "" {
		return a.local.GetGroupsByClientID(ctx, id)
	}
	resp, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_GetGroupsByClientId{GetGroupsByClientId: ref(id)}})
	if err != nil {
		return nil, err
	}
	return nonNil(resp.GetStrings().GetValues()), nil
}

func (a *clusterAPI) GetAllGroups(ctx context.Context) ([]string, error) {
	groups, err := a.local.GetAllGroups(ctx)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetAllGroups{GetAllGroups: &rpcpb.Empty{}}})
	return unionStrings(groups, resps), err
}

// IsOnline is false, with no error, for a client whose node is gone: that
// is the answer, not a failure to get one.
func (a *clusterAPI) IsOnline(ctx context.Context, id string) (bool, error) {
	peer := a.owner(id)
	if peer == "" {
		return a.local.IsOnline(ctx, id)
	}
	resp, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_IsOnline{IsOnline: ref(id)}})
	if errors.Is(err, ErrClientOffline) {
		return false, nil
	}
	return resp.GetFlag(), err
}

func (a *clusterAPI) GetAllClientCount(ctx context.Context) (int, error) {
	n, err := a.local.GetAllClientCount(ctx)
	if err != nil {
		return 0, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetAllClientCount{GetAllClientCount: &rpcpb.Empty{}}})
	return n + sumCounts(resps), err
}

func (a *clusterAPI) GetAllClientIDs(ctx context.Context) ([]string, error) {
	ids, err := a.local.GetAllClientIDs(ctx)
	if err != nil {
		return nil, err
	}
	resps, err := a.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetAllClientIds{GetAllClientIds: &rpcpb.Empty{}}})
	return concatStrings(ids, resps), err
}

func (a *clusterAPI) CloseClient(ctx context.Context, id string, o CloseOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	code, err := checkClose(o)
	if err != nil {
		return err
	}
	peer := a.owner(id)
	if peer == "" {
		return a.local.closeClient(id, o, code)
	}
	cc := &rpcpb.CloseClient{ClientId: id, Code: uint32(code), Reason: o.Reason}
	if o.Final != nil {
		cc.Final = &rpcpb.Message{Data: slices.Clone(o.Final), Binary: o.FinalType == Binary}
	}
	if err := a.confirm(ctx, peer, id); err != nil {
		return err
	}
	return a.send(peer, id, &rpcpb.Command{Kind: &rpcpb.Command_CloseClient{CloseClient: cc}})
}

func (a *clusterAPI) DestroyClient(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	peer := a.owner(id)
	if peer == "" {
		return a.local.DestroyClient(ctx, id)
	}
	if err := a.confirm(ctx, peer, id); err != nil {
		return err
	}
	return a.send(peer, id, &rpcpb.Command{Kind: &rpcpb.Command_CloseClient{
		CloseClient: &rpcpb.CloseClient{ClientId: id, Destroy: true},
	}})
}

func (a *clusterAPI) GetInfo(ctx context.Context, id string) (map[string]string, error) {
	peer := a.owner(id)
	if peer == "" {
		return a.local.GetInfo(ctx, id)
	}
	resp, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_GetInfo{GetInfo: ref(id)}})
	if err != nil {
		return nil, err
	}
	return infoFromProto(resp.GetInfo().GetValues()), nil
}

func (a *clusterAPI) SetInfo(ctx context.Context, id string, info map[string]string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.SetInfo(ctx, id, info)
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_SetInfo{
		SetInfo: &rpcpb.ClientInfo{ClientId: id, Info: info},
	}})
	return err
}

func (a *clusterAPI) UpdateInfo(ctx context.Context, id string, info map[string]string) error {
	peer := a.owner(id)
	if peer == "" {
		return a.local.UpdateInfo(ctx, id, info)
	}
	_, err := a.call(ctx, peer, id, &rpcpb.Request{Kind: &rpcpb.Request_UpdateInfo{
		UpdateInfo: &rpcpb.ClientInfo{ClientId: id, Info: info},
	}})
	return err
}

func ref(id string) *rpcpb.ClientRef { return &rpcpb.ClientRef{ClientId: id} }
