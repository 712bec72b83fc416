// Package cluster carries out the Api's operations on the nodes that hold
// their clients.
//
// Each operation is defined once, in ops.go: where it goes (the owner of a
// clientID, the owner of each of a list, or every node), the router
// function that applies it, the wire message it travels in and, for a
// request to every node, how the answers merge. One dispatcher runs them
// all: on the calling node, Call (requests, which answer) and
// Dispatcher.Send (commands, which travel on the ordered stream and do
// not); on the receiving node, Handler, which finds the definition by the
// wire message's kind and applies it straight to the router. A single
// node is the same dispatcher with no peers.
//
// A send to a group from node A to a client on node B, top to bottom:
//
//	A: api.SendToGroup -> Dispatcher.Send -> SendToGroups.apply (A's own
//	   members) and SendToGroups.wire -> rpc.Node.Broadcast
//	B: rpc service.Commands -> Handler.HandleCommand ->
//	   SendToGroups.apply -> router.SendToGroups -> poller.Conn.QueueFrame
//
// Member (member.go) is a process's place in the cluster: its rpc node,
// its register client and, if it runs one, the embedded register.
package cluster
