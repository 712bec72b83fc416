package cluster

import (
	"maps"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wsgate/wsgate/rpc/rpcpb"
	"github.com/wsgate/wsgate/wsproto"
)

// unserved are the Request kinds no node sends any more: nodes ask for
// the uids of a group, as a uid may span nodes, never for their count.
var unserved = map[protoreflect.Name]bool{"get_uid_count_by_group": true}

// notAPICalls are the Request kinds the Handler answers itself, not from
// a definition: the operator's cluster page (NodeViews).
var notAPICalls = map[protoreflect.Name]bool{"get_node_view": true}

// TestEveryWireKindIsServed checks that each kind of Request and Command
// has exactly one definition that a receiving node applies, so that an
// operation left out of requests() or commands() fails here rather than
// as "unknown request" between nodes.
func TestEveryWireKindIsServed(t *testing.T) {
	h := NewHandler(nil, nil, nil)
	if n := len(requests()); n != len(h.requests) {
		t.Errorf("%d request definitions share wire kinds: %d kinds", n, len(h.requests))
	}
	if n := len(commands()); n != len(h.commands) {
		t.Errorf("%d command definitions share wire kinds: %d kinds", n, len(h.commands))
	}
	// Every field of the oneof, set to an empty message, must find a
	// definition by its Go type.
	check := func(m protoreflect.Message, served func(kind any) bool) {
		fields := m.Descriptor().Oneofs().Get(0).Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			one := m.New()
			one.Set(fd, one.NewField(fd))
			if !served(one.Interface()) && !unserved[fd.Name()] && !notAPICalls[fd.Name()] {
				t.Errorf("%s.%s has no definition", m.Descriptor().Name(), fd.Name())
			}
		}
	}
	check((&rpcpb.Request{}).ProtoReflect(), func(m any) bool {
		t, _ := wireKind(m.(*rpcpb.Request).GetKind())
		return h.requests[t] != nil
	})
	check((&rpcpb.Command{}).ProtoReflect(), func(m any) bool {
		t, _ := wireKind(m.(*rpcpb.Command).GetKind())
		return h.commands[t] != nil
	})
}

// TestArgumentsSurviveTheWire checks that what a definition puts in its
// wire message is what the receiving node reads back.
func TestArgumentsSurviveTheWire(t *testing.T) {
	in := Args{ID: "id", UID: "uid", Group: "group", Info: map[string]string{"k": "v"}}
	for _, op := range requests() {
		r, ok := op.(interface{ wireArgs(Args) Args })
		if !ok {
			t.Fatalf("%T cannot be checked", op)
		}
		out := r.wireArgs(in)
		if out.ID != "" && out.ID != in.ID || out.UID != "" && out.UID != in.UID ||
			out.Group != "" && out.Group != in.Group || out.Info != nil && !maps.Equal(out.Info, in.Info) {
			t.Errorf("kind %d: sent %+v, read %+v", op.kind(), in, out)
		}
	}
	m := Message{
		Op: wsproto.OpBinary, Data: []byte("data"), ID: "id", IDs: []string{"a"}, UIDs: []string{"u"},
		Groups: []string{"g"}, Exclude: []string{"x"}, Final: []byte{}, FinalOp: wsproto.OpBinary,
		Code: 4000, Reason: "bye",
	}
	for _, op := range commands() {
		got := messageOf(mustKind(op.wire(m)))
		if op == CloseClient {
			// An empty final message must stay one.
			if got.ID != m.ID || got.Code != m.Code || got.Reason != m.Reason || got.Final == nil || got.FinalOp != m.FinalOp {
				t.Errorf("CloseClient: sent %+v, read %+v", m, got)
			}
			continue
		}
		if got.Op != m.Op || string(got.Data) != string(m.Data) {
			t.Errorf("%T: sent %+v, read %+v", mustKind(op.wire(m)), m, got)
		}
	}
	if got := messageOf(mustKind(SendToClient.wire(m))); len(got.IDs) != 1 || got.IDs[0] != m.ID || got.Exclude != nil {
		t.Errorf("SendToClient travels as %+v, want a SendToClients of %s alone", got, m.ID)
	}
}

func (op *Request[R]) wireArgs(a Args) Args {
	_, m := wireKind(op.wire(a).GetKind())
	return argsOf(m)
}

func mustKind(c *rpcpb.Command) any {
	_, m := wireKind(c.GetKind())
	return m
}
