// Package api is the public face of wsgate: the Application a program
// implements, the Api it calls, and the Gateway that runs a node.
//
// A program implements Application (OnConnect, OnMessage, OnClose; and, if
// it wants them, Handshaker, Starter and Stopper), starts a Gateway with it,
// and reaches clients through the Api that OnStart receives (or
// Gateway.Api). Every client has a clientID that is unique for all time and
// names its node; clients can be given a uid, put in groups and carry a
// small info map, and messages go to one client, a list, a uid, a group or
// everyone.
//
// The Api is an interface so that the same calls work on a single node
// (the Gateway's own Api, answered by its router) and across a cluster,
// where a call for a client is routed to the node its clientID names.
// Every call takes a context and returns an error for that reason.
//
// A cluster: set Options.Cluster and the Gateway joins the registers
// (or runs one of its own, EmbeddedRegister), learns the other nodes
// from them, and serves and uses node-to-node rpc. Its Api then answers
// for every client of the cluster:
//   - a call naming a clientID goes to the node that owns it only; if
//     that node is not a live peer the answer is ErrClientOffline at once;
//   - SendToAll, SendToGroup(s) and SendToUID(s) are applied here and sent
//     once to each other node, which encodes the frame once for all its
//     clients; each node reaches the members it has when the send arrives
//     there;
//   - a query over the whole cluster (counts, listings) asks every node
//     at once and merges their answers; nodes that did not answer in
//     time are named by a *PartialError returned with the merged answer;
//   - messages from one node to one client keep their order.
//
// A Client is a cluster member with no WebSockets: a web backend uses its
// Api to push to users of the gateways.
//
// The calls map to those of GatewayWorker and bin-x/websocket as follows:
// sendToAll is SendToAll (with a list: SendToClients), sendToClient is
// SendToClient, sendToUid is SendToUID/SendToUIDs, sendToGroup is
// SendToGroup/SendToGroups, closeClient is CloseClient, destoryClient is
// DestroyClient, getSession/setSession/updateSession are
// GetInfo/SetInfo/UpdateInfo, getClientSessionsByGroup is
// GetClientInfosByGroup, and the rest keep their names in Go spelling
// (Uid becomes UID, Id becomes ID). GetClientInfosByUID has no
// counterpart there: it is getClientIdByUid and a getSession per client,
// in one call.
package api
