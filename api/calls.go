package api

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/wsgate/wsgate/internal/cluster"
	"github.com/wsgate/wsgate/rpc"
	"github.com/wsgate/wsgate/wsproto"
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

// nodeAPI is the Api of a cluster member, a single node being a member
// without peers. It checks what the caller passed, then hands the
// operation to the dispatcher, which applies it to this node's router or
// takes it to the nodes that hold its clients (see internal/cluster).
type nodeAPI struct {
	d *cluster.Dispatcher
}

// prepare checks the context and a message, and resolves the send options.
func prepare(ctx context.Context, data []byte, opts []SendOption) (sendOptions, error) {
	if err := ctx.Err(); err != nil {
		return sendOptions{}, err
	}
	o := resolve(opts)
	if o.Type == Text && !wsproto.ValidUTF8(data) {
		return o, fmt.Errorf("text message: %w", ErrInvalidUTF8)
	}
	return o, nil
}

// send checks a send and carries it out; m names its recipients.
func (a nodeAPI) send(ctx context.Context, op *cluster.Command, m cluster.Message, data []byte, opts []SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	m.Op, m.Data, m.Exclude, m.Async = o.Type.opcode(), data, o.Exclude, o.Async
	return a.d.Send(ctx, op, m)
}

func (a nodeAPI) SendToAll(ctx context.Context, data []byte, opts ...SendOption) error {
	return a.send(ctx, cluster.SendToAll, cluster.Message{}, data, opts)
}

func (a nodeAPI) SendToClients(ctx context.Context, ids []string, data []byte, opts ...SendOption) error {
	return a.send(ctx, cluster.SendToClients, cluster.Message{IDs: ids}, data, opts)
}

func (a nodeAPI) SendToClient(ctx context.Context, id string, data []byte, opts ...SendOption) error {
	return a.send(ctx, cluster.SendToClient, cluster.Message{ID: id}, data, opts)
}

func (a nodeAPI) SendToUID(ctx context.Context, uid string, data []byte, opts ...SendOption) error {
	return a.SendToUIDs(ctx, []string{uid}, data, opts...)
}

func (a nodeAPI) SendToUIDs(ctx context.Context, uids []string, data []byte, opts ...SendOption) error {
	return a.send(ctx, cluster.SendToUIDs, cluster.Message{UIDs: uids}, data, opts)
}

func (a nodeAPI) SendToGroup(ctx context.Context, group string, data []byte, opts ...SendOption) error {
	return a.SendToGroups(ctx, []string{group}, data, opts...)
}

func (a nodeAPI) SendToGroups(ctx context.Context, groups []string, data []byte, opts ...SendOption) error {
	return a.send(ctx, cluster.SendToGroups, cluster.Message{Groups: groups}, data, opts)
}

func (a nodeAPI) BindUID(ctx context.Context, id, uid string) error {
	_, err := cluster.Call(ctx, a.d, cluster.BindUID, cluster.Args{ID: id, UID: uid})
	return err
}

func (a nodeAPI) UnbindUID(ctx context.Context, id string) error {
	_, err := cluster.Call(ctx, a.d, cluster.UnbindUID, cluster.Args{ID: id})
	return err
}

func (a nodeAPI) IsUIDOnline(ctx context.Context, uid string) (bool, error) {
	return cluster.Call(ctx, a.d, cluster.IsUIDOnline, cluster.Args{UID: uid})
}

func (a nodeAPI) GetUIDByClientID(ctx context.Context, id string) (string, error) {
	return cluster.Call(ctx, a.d, cluster.GetUIDByClientID, cluster.Args{ID: id})
}

func (a nodeAPI) GetClientIDsByUID(ctx context.Context, uid string) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientIDsByUID, cluster.Args{UID: uid})
}

func (a nodeAPI) GetClientCountByUID(ctx context.Context, uid string) (int, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientCountByUID, cluster.Args{UID: uid})
}

func (a nodeAPI) GetClientInfosByUID(ctx context.Context, uid string) (map[string]map[string]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientInfosByUID, cluster.Args{UID: uid})
}

func (a nodeAPI) GetAllUIDs(ctx context.Context) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetAllUIDs, cluster.Args{})
}

func (a nodeAPI) JoinGroup(ctx context.Context, id, group string) error {
	_, err := cluster.Call(ctx, a.d, cluster.JoinGroup, cluster.Args{ID: id, Group: group})
	return err
}

func (a nodeAPI) LeaveGroup(ctx context.Context, id, group string) error {
	_, err := cluster.Call(ctx, a.d, cluster.LeaveGroup, cluster.Args{ID: id, Group: group})
	return err
}

func (a nodeAPI) Ungroup(ctx context.Context, group string) error {
	_, err := cluster.Call(ctx, a.d, cluster.Ungroup, cluster.Args{Group: group})
	return err
}

func (a nodeAPI) GetClientCountByGroup(ctx context.Context, group string) (int, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientCountByGroup, cluster.Args{Group: group})
}

func (a nodeAPI) GetClientIDsByGroup(ctx context.Context, group string) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientIDsByGroup, cluster.Args{Group: group})
}

func (a nodeAPI) GetUIDsByGroup(ctx context.Context, group string) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetUIDsByGroup, cluster.Args{Group: group})
}

// GetUIDCountByGroup counts distinct uids: one uid may have clients in the
// group on several nodes, so it asks for the lists, not the counts.
func (a nodeAPI) GetUIDCountByGroup(ctx context.Context, group string) (int, error) {
	uids, err := a.GetUIDsByGroup(ctx, group)
	return len(uids), err
}

func (a nodeAPI) GetClientInfosByGroup(ctx context.Context, group string) (map[string]map[string]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetClientInfosByGroup, cluster.Args{Group: group})
}

func (a nodeAPI) GetGroupsByClientID(ctx context.Context, id string) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetGroupsByClientID, cluster.Args{ID: id})
}

func (a nodeAPI) GetAllGroups(ctx context.Context) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetAllGroups, cluster.Args{})
}

// IsOnline is false, with no error, for a client whose node is gone: that
// is the answer, not a failure to get one.
func (a nodeAPI) IsOnline(ctx context.Context, id string) (bool, error) {
	on, err := cluster.Call(ctx, a.d, cluster.IsOnline, cluster.Args{ID: id})
	if errors.Is(err, ErrClientOffline) {
		return false, nil
	}
	return on, err
}

func (a nodeAPI) GetAllClientCount(ctx context.Context) (int, error) {
	return cluster.Call(ctx, a.d, cluster.GetAllClientCount, cluster.Args{})
}

func (a nodeAPI) GetAllClientIDs(ctx context.Context) ([]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetAllClientIDs, cluster.Args{})
}

func (a nodeAPI) CloseClient(ctx context.Context, id string, o CloseOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	code, err := checkClose(o)
	if err != nil {
		return err
	}
	return a.d.Send(ctx, cluster.CloseClient, cluster.Message{
		ID: id, Code: code, Reason: o.Reason, Final: o.Final, FinalOp: o.FinalType.opcode(),
	})
}

// checkClose validates CloseOptions and resolves the close code.
func checkClose(o CloseOptions) (wsproto.StatusCode, error) {
	code := wsproto.StatusCode(o.Code)
	if o.Code == 0 {
		code = wsproto.CloseNormal
	}
	if !wsproto.ValidCloseCode(code) {
		return 0, fmt.Errorf("%w: %d", ErrBadCloseCode, o.Code)
	}
	if o.Final != nil && o.FinalType != Binary && !wsproto.ValidUTF8(o.Final) {
		return 0, fmt.Errorf("final message: %w", ErrInvalidUTF8)
	}
	if !utf8.ValidString(o.Reason) {
		// The peer must fail the connection on it (RFC 6455 section 8.1).
		return 0, fmt.Errorf("close reason: %w", ErrInvalidUTF8)
	}
	return code, nil
}

func (a nodeAPI) DestroyClient(ctx context.Context, id string) error {
	return a.d.Send(ctx, cluster.CloseClient, cluster.Message{ID: id, Destroy: true})
}

func (a nodeAPI) GetInfo(ctx context.Context, id string) (map[string]string, error) {
	return cluster.Call(ctx, a.d, cluster.GetInfo, cluster.Args{ID: id})
}

func (a nodeAPI) SetInfo(ctx context.Context, id string, info map[string]string) error {
	_, err := cluster.Call(ctx, a.d, cluster.SetInfo, cluster.Args{ID: id, Info: info})
	return err
}

func (a nodeAPI) UpdateInfo(ctx context.Context, id string, info map[string]string) error {
	_, err := cluster.Call(ctx, a.d, cluster.UpdateInfo, cluster.Args{ID: id, Info: info})
	return err
}
