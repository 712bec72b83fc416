package api

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/wsproto"
)

// localAPI is the Api of a single node: every call is answered by its own
// router, at once. A cluster Api routes a call by the clientID's node and
// falls back to this for the local part.
type localAPI struct {
	r *router.Router
}

// NewLocalAPI returns an Api over one router; a Gateway makes its own, and
// a cluster layer uses this for its local share of each call.
func NewLocalAPI(r *router.Router) Api { return localAPI{r: r} }

// prepare checks the context and a message, and resolves the send options.
func prepare(ctx context.Context, data []byte, opts []SendOption) (SendOptions, error) {
	if err := ctx.Err(); err != nil {
		return SendOptions{}, err
	}
	o := ResolveSendOptions(opts)
	if o.Type == Text && !wsproto.ValidUTF8(data) {
		return o, fmt.Errorf("text message: %w", ErrInvalidUTF8)
	}
	return o, nil
}

// The unexported send and close methods apply an already checked call to
// this node's router; the cluster Api checks once and calls them for its
// local share.

func (a localAPI) sendToAll(data []byte, o SendOptions) {
	a.r.SendToAll(o.Type.opcode(), data, o.Exclude)
}

func (a localAPI) sendToClients(ids []string, data []byte, o SendOptions) {
	a.r.SendToClients(ids, o.Type.opcode(), data, o.Exclude)
}

func (a localAPI) sendToClient(id string, data []byte, o SendOptions) error {
	return a.r.SendToClient(id, o.Type.opcode(), data)
}

func (a localAPI) sendToUIDs(uids []string, data []byte, o SendOptions) {
	a.r.SendToUIDs(uids, o.Type.opcode(), data)
}

func (a localAPI) sendToGroups(groups []string, data []byte, o SendOptions) {
	a.r.SendToGroups(groups, o.Type.opcode(), data, o.Exclude)
}

func (a localAPI) closeClient(id string, o CloseOptions, code wsproto.StatusCode) error {
	return a.r.CloseClient(id, o.Final, o.FinalType.opcode(), code, o.Reason)
}

func (a localAPI) SendToAll(ctx context.Context, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.sendToAll(data, o)
	return nil
}

func (a localAPI) SendToClients(ctx context.Context, ids []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.sendToClients(ids, data, o)
	return nil
}

func (a localAPI) SendToClient(ctx context.Context, id string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	return a.sendToClient(id, data, o)
}

func (a localAPI) SendToUID(ctx context.Context, uid string, data []byte, opts ...SendOption) error {
	return a.SendToUIDs(ctx, []string{uid}, data, opts...)
}

func (a localAPI) SendToUIDs(ctx context.Context, uids []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.sendToUIDs(uids, data, o)
	return nil
}

func (a localAPI) SendToGroup(ctx context.Context, group string, data []byte, opts ...SendOption) error {
	return a.SendToGroups(ctx, []string{group}, data, opts...)
}

func (a localAPI) SendToGroups(ctx context.Context, groups []string, data []byte, opts ...SendOption) error {
	o, err := prepare(ctx, data, opts)
	if err != nil {
		return err
	}
	a.sendToGroups(groups, data, o)
	return nil
}

func (a localAPI) BindUID(ctx context.Context, id, uid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.BindUID(id, uid)
}

func (a localAPI) UnbindUID(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.UnbindUID(id)
}

func (a localAPI) IsUIDOnline(ctx context.Context, uid string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return a.r.IsUIDOnline(uid), nil
}

func (a localAPI) GetUIDByClientID(ctx context.Context, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return a.r.UIDOf(id)
}

func (a localAPI) GetClientIDsByUID(ctx context.Context, uid string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.ClientIDsByUID(uid), nil
}

func (a localAPI) GetAllUIDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.UIDs(), nil
}

func (a localAPI) JoinGroup(ctx context.Context, id, group string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.JoinGroup(id, group)
}

func (a localAPI) LeaveGroup(ctx context.Context, id, group string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.LeaveGroup(id, group)
}

func (a localAPI) Ungroup(ctx context.Context, group string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.r.Ungroup(group)
	return nil
}

func (a localAPI) GetClientCountByGroup(ctx context.Context, group string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return a.r.GroupCount(group), nil
}

func (a localAPI) GetClientIDsByGroup(ctx context.Context, group string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.ClientIDsByGroup(group), nil
}

func (a localAPI) GetUIDsByGroup(ctx context.Context, group string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.UIDsByGroup(group), nil
}

func (a localAPI) GetUIDCountByGroup(ctx context.Context, group string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return len(a.r.UIDsByGroup(group)), nil
}

func (a localAPI) GetClientInfosByGroup(ctx context.Context, group string) (map[string]map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.InfosByGroup(group), nil
}

func (a localAPI) GetGroupsByClientID(ctx context.Context, id string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.GroupsOf(id)
}

func (a localAPI) GetAllGroups(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.Groups(), nil
}

func (a localAPI) IsOnline(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return a.r.IsOnline(id), nil
}

func (a localAPI) GetAllClientCount(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return a.r.ClientCount(), nil
}

func (a localAPI) GetAllClientIDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.ClientIDs(), nil
}

func (a localAPI) CloseClient(ctx context.Context, id string, o CloseOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	code, err := checkClose(o)
	if err != nil {
		return err
	}
	return a.closeClient(id, o, code)
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

func (a localAPI) DestroyClient(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.DestroyClient(id)
}

func (a localAPI) GetInfo(ctx context.Context, id string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.r.Info(id)
}

func (a localAPI) SetInfo(ctx context.Context, id string, info map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.SetInfo(id, info)
}

func (a localAPI) UpdateInfo(ctx context.Context, id string, info map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.r.UpdateInfo(id, info)
}
