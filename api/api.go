package api

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/router"
)

// Api is what business code calls to reach clients: send to them, name them
// with a uid, put them in groups, keep info on them, close them. It works
// the same for a client on this node and, in a cluster, on any other node,
// so every call takes a context (a remote call waits for an answer and may
// time out) and returns an error. All methods are safe for concurrent use.
//
// The model:
//   - a clientID names one connection; it is never reused, and names the
//     node that owns the client (see router.ParseClientID);
//   - a client has at most one uid, a uid any number of clients; a uid is
//     online while it has a client;
//   - a client is in any number of groups; a group exists while it has a
//     member;
//   - a client has info, a map[string]string kept with it;
//   - during Application.OnClose the client's uid, groups and info still
//     answer; when OnClose returns, all are gone.
//
// Calls that name one client return an error wrapping ErrClientOffline when
// it is not connected (unknown, closed, or in the middle of closing for
// calls that would change it). Fan-out sends skip clients that are gone.
// Listings come in no particular order. Messages are text unless the
// Binary option is given; a text message must be valid UTF-8.
type Api interface {
	// SendToAll sends to every client, except those excluded with Exclude.
	SendToAll(ctx context.Context, data []byte, opts ...SendOption) error
	// SendToClients sends to each listed client that is online; the rest
	// are skipped. Exclude applies too.
	SendToClients(ctx context.Context, clientIDs []string, data []byte, opts ...SendOption) error
	// SendToClient sends to one client; ErrClientOffline if it is not
	// connected, ErrOverflow if it is not reading fast enough.
	SendToClient(ctx context.Context, clientID string, data []byte, opts ...SendOption) error
	// SendToUID sends to every client of uid; nothing happens if it has
	// none.
	SendToUID(ctx context.Context, uid string, data []byte, opts ...SendOption) error
	// SendToUIDs sends to every client of each uid.
	SendToUIDs(ctx context.Context, uids []string, data []byte, opts ...SendOption) error
	// SendToGroup sends to every member of group, except those excluded.
	SendToGroup(ctx context.Context, group string, data []byte, opts ...SendOption) error
	// SendToGroups sends to every member of each group, once to a client in
	// several of them, except those excluded.
	SendToGroups(ctx context.Context, groups []string, data []byte, opts ...SendOption) error

	// BindUID gives the client uid, replacing any uid it had (a client
	// has one uid at most). ErrEmptyUID if uid is "".
	BindUID(ctx context.Context, clientID, uid string) error
	// UnbindUID takes the client's uid away; a no-op if it has none. The
	// uid goes offline when its last client is unbound.
	UnbindUID(ctx context.Context, clientID string) error
	// IsUIDOnline reports whether uid has at least one client.
	IsUIDOnline(ctx context.Context, uid string) (bool, error)
	// GetUIDByClientID returns the client's uid, "" if it has none.
	GetUIDByClientID(ctx context.Context, clientID string) (string, error)
	// GetClientIDsByUID lists the clients of uid (empty if offline).
	GetClientIDsByUID(ctx context.Context, uid string) ([]string, error)
	// GetClientCountByUID is the number of clients of uid (0 if it is
	// offline).
	GetClientCountByUID(ctx context.Context, uid string) (int, error)
	// GetClientInfosByUID returns the info of every client of uid, by
	// clientID (empty if it is offline): one call where GetClientIDsByUID
	// and a GetInfo per client would take several.
	GetClientInfosByUID(ctx context.Context, uid string) (map[string]map[string]string, error)
	// GetAllUIDs lists every online uid.
	GetAllUIDs(ctx context.Context) ([]string, error)

	// JoinGroup puts the client in group; joining twice is a no-op.
	// ErrEmptyGroup if group is "".
	JoinGroup(ctx context.Context, clientID, group string) error
	// LeaveGroup takes the client out of group; a no-op if it is not in.
	LeaveGroup(ctx context.Context, clientID, group string) error
	// Ungroup dissolves group: every member leaves it, and stays connected.
	Ungroup(ctx context.Context, group string) error
	// GetClientCountByGroup is the number of members of group.
	GetClientCountByGroup(ctx context.Context, group string) (int, error)
	// GetClientIDsByGroup lists the members of group.
	GetClientIDsByGroup(ctx context.Context, group string) ([]string, error)
	// GetUIDsByGroup lists the distinct uids of group's members; members
	// without a uid are left out.
	GetUIDsByGroup(ctx context.Context, group string) ([]string, error)
	// GetUIDCountByGroup is the number of distinct uids among group's
	// members.
	GetUIDCountByGroup(ctx context.Context, group string) (int, error)
	// GetClientInfosByGroup returns the info of every member of group, by
	// clientID.
	GetClientInfosByGroup(ctx context.Context, group string) (map[string]map[string]string, error)
	// GetGroupsByClientID lists the groups the client is in.
	GetGroupsByClientID(ctx context.Context, clientID string) ([]string, error)
	// GetAllGroups lists every group with at least one member.
	GetAllGroups(ctx context.Context) ([]string, error)

	// IsOnline reports whether the client is connected (false once it is
	// closing).
	IsOnline(ctx context.Context, clientID string) (bool, error)
	// GetAllClientCount is the number of clients (one whose OnClose is
	// running still counts).
	GetAllClientCount(ctx context.Context) (int, error)
	// GetAllClientIDs lists every client (one whose OnClose is running
	// is still listed).
	GetAllClientIDs(ctx context.Context) ([]string, error)
	// CloseClient sends o.Final if set, then closes the connection with
	// o.Code after flushing what is queued. OnClose follows.
	CloseClient(ctx context.Context, clientID string, o CloseOptions) error
	// DestroyClient drops the connection at once, dropping what is queued.
	// OnClose follows.
	DestroyClient(ctx context.Context, clientID string) error

	// GetInfo returns a copy of the client's info (empty, not nil, if it
	// has none).
	GetInfo(ctx context.Context, clientID string) (map[string]string, error)
	// SetInfo replaces the client's info with a copy of info.
	SetInfo(ctx context.Context, clientID string, info map[string]string) error
	// UpdateInfo merges info into the client's info: its keys overwrite,
	// the others stay.
	UpdateInfo(ctx context.Context, clientID string, info map[string]string) error
}

// Errors returned by Api calls; compare with errors.Is.
var (
	// ErrClientOffline: the client is not connected (or is closing, for a
	// call that would change it or send to it).
	ErrClientOffline = router.ErrClientOffline
	// ErrEmptyUID and ErrEmptyGroup: "" is not a uid or a group.
	ErrEmptyUID   = router.ErrEmptyUID
	ErrEmptyGroup = router.ErrEmptyGroup
	// ErrInvalidUTF8: a text message must be valid UTF-8 (send binary
	// instead), and so must a close reason.
	ErrInvalidUTF8 = errors.New("not valid UTF-8")
	// ErrOverflow: the client's outbound queue is over its budget
	// (poller.Options.OutboundBudget), so the message was refused; the
	// overflow policy decides whether the client is also closed.
	ErrOverflow = poller.ErrOverflow
	// ErrBadCloseCode: CloseOptions.Code may not be sent on the wire.
	ErrBadCloseCode = errors.New("close code not allowed")
)
