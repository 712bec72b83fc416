package httpapi

import (
	"context"

	"github.com/wsgate/wsgate/api"
)

// call is one route: an Api method, what its request carries, what it
// answers, and how it is made on an api.Api.
type call struct {
	name   string   // the api.Api method's name, and the route's last segment
	doc    string   // one line for the OpenAPI document and the README
	fields []*field // the request fields it takes
	answer kind     // the result's kind; none for a call that only succeeds or fails
	do     func(ctx context.Context, a api.Api, r *args) (any, error)

	requiredSet uint32 // bit i: fields[i] is required
}

// fieldIndex returns the index in c.fields of the field named name, -1
// if c takes none: a call has a handful, fewer than a map would pay for.
func (c *call) fieldIndex(name string) int {
	for i, f := range c.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

// The do functions below come in a few shapes; these adapt each to the
// table's one signature.

func send(f func(ctx context.Context, a api.Api, r *args, data []byte, opts []api.SendOption) error) func(context.Context, api.Api, *args) (any, error) {
	return func(ctx context.Context, a api.Api, r *args) (any, error) {
		data, opts, err := r.send()
		if err != nil {
			return nil, err
		}
		return nil, f(ctx, a, r, data, opts)
	}
}

func act(f func(ctx context.Context, a api.Api, r *args) error) func(context.Context, api.Api, *args) (any, error) {
	return func(ctx context.Context, a api.Api, r *args) (any, error) { return nil, f(ctx, a, r) }
}

func ask[R any](f func(ctx context.Context, a api.Api, r *args) (R, error)) func(context.Context, api.Api, *args) (any, error) {
	return func(ctx context.Context, a api.Api, r *args) (any, error) {
		v, err := f(ctx, a, r)
		return orEmpty(v), err
	}
}

// newCalls returns the table: one call per api.Api method, in the order
// of the interface. A test holds it to the interface.
func newCalls() []*call {
	f := newFieldSet()
	calls := []*call{
		{name: "SendToAll", doc: "Send to every client, except those excluded.",
			fields: []*field{f.message, f.binary, f.exclude},
			do: send(func(ctx context.Context, a api.Api, _ *args, d []byte, o []api.SendOption) error {
				return a.SendToAll(ctx, d, o...)
			})},
		{name: "SendToClients", doc: "Send to each listed client that is online; the rest are skipped.",
			fields: []*field{f.clientIDs, f.message, f.binary, f.exclude},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToClients(ctx, r.ClientIDs, d, o...)
			})},
		{name: "SendToClient", doc: "Send to one client: client_offline if it is not connected, overflow if it is not reading fast enough.",
			fields: []*field{f.clientID, f.message, f.binary, f.async},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToClient(ctx, r.ClientID, d, o...)
			})},
		{name: "SendToUID", doc: "Send to every client of a uid; nothing happens if it has none.",
			fields: []*field{f.uid, f.message, f.binary},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToUID(ctx, r.UID, d, o...)
			})},
		{name: "SendToUIDs", doc: "Send to every client of each uid.",
			fields: []*field{f.uids, f.message, f.binary},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToUIDs(ctx, r.UIDs, d, o...)
			})},
		{name: "SendToGroup", doc: "Send to every member of a group, except those excluded.",
			fields: []*field{f.group, f.message, f.binary, f.exclude},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToGroup(ctx, r.Group, d, o...)
			})},
		{name: "SendToGroups", doc: "Send to every member of each group, once to a client in several, except those excluded.",
			fields: []*field{f.groups, f.message, f.binary, f.exclude},
			do: send(func(ctx context.Context, a api.Api, r *args, d []byte, o []api.SendOption) error {
				return a.SendToGroups(ctx, r.Groups, d, o...)
			})},

		{name: "BindUID", doc: "Give the client a uid, replacing any it had.",
			fields: []*field{f.clientID, f.uid},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.BindUID(ctx, r.ClientID, r.UID) })},
		{name: "UnbindUID", doc: "Take the client's uid away; a no-op if it has none.",
			fields: []*field{f.clientID},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.UnbindUID(ctx, r.ClientID) })},
		{name: "IsUIDOnline", doc: "Whether the uid has at least one client.",
			fields: []*field{f.uid}, answer: boolean,
			do: ask(func(ctx context.Context, a api.Api, r *args) (bool, error) { return a.IsUIDOnline(ctx, r.UID) })},
		{name: "GetUIDByClientID", doc: `The client's uid, "" if it has none.`,
			fields: []*field{f.clientID}, answer: str,
			do: ask(func(ctx context.Context, a api.Api, r *args) (string, error) {
				return a.GetUIDByClientID(ctx, r.ClientID)
			})},
		{name: "GetClientIDsByUID", doc: "The clients of a uid (empty if it is offline).",
			fields: []*field{f.uid}, answer: strs,
			do: ask(func(ctx context.Context, a api.Api, r *args) ([]string, error) {
				return a.GetClientIDsByUID(ctx, r.UID)
			})},
		{name: "GetClientCountByUID", doc: "The number of clients of a uid.",
			fields: []*field{f.uid}, answer: integer,
			do: ask(func(ctx context.Context, a api.Api, r *args) (int, error) { return a.GetClientCountByUID(ctx, r.UID) })},
		{name: "GetClientInfosByUID", doc: "The info of every client of a uid, by client id.",
			fields: []*field{f.uid}, answer: infos,
			do: ask(func(ctx context.Context, a api.Api, r *args) (map[string]map[string]string, error) {
				return a.GetClientInfosByUID(ctx, r.UID)
			})},
		{name: "GetAllUIDs", doc: "Every online uid.", answer: strs,
			do: ask(func(ctx context.Context, a api.Api, _ *args) ([]string, error) { return a.GetAllUIDs(ctx) })},

		{name: "JoinGroup", doc: "Put the client in a group; joining twice is a no-op.",
			fields: []*field{f.clientID, f.group},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.JoinGroup(ctx, r.ClientID, r.Group) })},
		{name: "LeaveGroup", doc: "Take the client out of a group; a no-op if it is not in.",
			fields: []*field{f.clientID, f.group},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.LeaveGroup(ctx, r.ClientID, r.Group) })},
		{name: "Ungroup", doc: "Dissolve a group: every member leaves it and stays connected.",
			fields: []*field{f.group},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.Ungroup(ctx, r.Group) })},
		{name: "GetClientCountByGroup", doc: "The number of members of a group.",
			fields: []*field{f.group}, answer: integer,
			do: ask(func(ctx context.Context, a api.Api, r *args) (int, error) {
				return a.GetClientCountByGroup(ctx, r.Group)
			})},
		{name: "GetClientIDsByGroup", doc: "The members of a group.",
			fields: []*field{f.group}, answer: strs,
			do: ask(func(ctx context.Context, a api.Api, r *args) ([]string, error) {
				return a.GetClientIDsByGroup(ctx, r.Group)
			})},
		{name: "GetUIDsByGroup", doc: "The distinct uids of a group's members.",
			fields: []*field{f.group}, answer: strs,
			do: ask(func(ctx context.Context, a api.Api, r *args) ([]string, error) { return a.GetUIDsByGroup(ctx, r.Group) })},
		{name: "GetUIDCountByGroup", doc: "The number of distinct uids among a group's members.",
			fields: []*field{f.group}, answer: integer,
			do: ask(func(ctx context.Context, a api.Api, r *args) (int, error) { return a.GetUIDCountByGroup(ctx, r.Group) })},
		{name: "GetClientInfosByGroup", doc: "The info of every member of a group, by client id.",
			fields: []*field{f.group}, answer: infos,
			do: ask(func(ctx context.Context, a api.Api, r *args) (map[string]map[string]string, error) {
				return a.GetClientInfosByGroup(ctx, r.Group)
			})},
		{name: "GetGroupsByClientID", doc: "The groups the client is in.",
			fields: []*field{f.clientID}, answer: strs,
			do: ask(func(ctx context.Context, a api.Api, r *args) ([]string, error) {
				return a.GetGroupsByClientID(ctx, r.ClientID)
			})},
		{name: "GetAllGroups", doc: "Every group with at least one member.", answer: strs,
			do: ask(func(ctx context.Context, a api.Api, _ *args) ([]string, error) { return a.GetAllGroups(ctx) })},

		{name: "IsOnline", doc: "Whether the client is connected (false once it is closing).",
			fields: []*field{f.clientID}, answer: boolean,
			do: ask(func(ctx context.Context, a api.Api, r *args) (bool, error) { return a.IsOnline(ctx, r.ClientID) })},
		{name: "GetAllClientCount", doc: "The number of clients.", answer: integer,
			do: ask(func(ctx context.Context, a api.Api, _ *args) (int, error) { return a.GetAllClientCount(ctx) })},
		{name: "GetAllClientIDs", doc: "Every client.", answer: strs,
			do: ask(func(ctx context.Context, a api.Api, _ *args) ([]string, error) { return a.GetAllClientIDs(ctx) })},
		{name: "CloseClient", doc: "Send final if given, then close the client with code after flushing what is queued.",
			fields: []*field{f.clientID, f.code, f.reason, f.final, f.finalBinary},
			do: act(func(ctx context.Context, a api.Api, r *args) error {
				o, err := r.closeOptions()
				if err != nil {
					return err
				}
				return a.CloseClient(ctx, r.ClientID, o)
			})},
		{name: "DestroyClient", doc: "Drop the client's connection at once, dropping what is queued.",
			fields: []*field{f.clientID},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.DestroyClient(ctx, r.ClientID) })},

		{name: "GetInfo", doc: "The client's info.",
			fields: []*field{f.clientID}, answer: info,
			do: ask(func(ctx context.Context, a api.Api, r *args) (map[string]string, error) {
				return a.GetInfo(ctx, r.ClientID)
			})},
		{name: "SetInfo", doc: "Replace the client's info.",
			fields: []*field{f.clientID, f.info},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.SetInfo(ctx, r.ClientID, r.Info) })},
		{name: "UpdateInfo", doc: "Merge into the client's info: its keys overwrite, the others stay.",
			fields: []*field{f.clientID, f.info},
			do:     act(func(ctx context.Context, a api.Api, r *args) error { return a.UpdateInfo(ctx, r.ClientID, r.Info) })},
	}
	for _, c := range calls {
		if len(c.fields) > 32 {
			panic("httpapi: " + c.name + " has more fields than requiredSet has bits")
		}
		for i, fl := range c.fields {
			if fl.required {
				c.requiredSet |= 1 << i
			}
		}
	}
	return calls
}

// example is a body for c: its required fields, with example values.
func (c *call) example() map[string]any {
	body := map[string]any{}
	for _, f := range c.fields {
		if f.required {
			body[f.name] = f.example
		}
	}
	return body
}
