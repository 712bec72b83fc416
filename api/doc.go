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
// The calls map to those of GatewayWorker and bin-x/websocket as follows:
// sendToAll is SendToAll (with a list: SendToClients), sendToClient is
// SendToClient, sendToUid is SendToUID/SendToUIDs, sendToGroup is
// SendToGroup/SendToGroups, closeClient is CloseClient, destoryClient is
// DestroyClient, getSession/setSession/updateSession are
// GetInfo/SetInfo/UpdateInfo, getClientSessionsByGroup is
// GetClientInfosByGroup, and the rest keep their names in Go spelling
// (Uid becomes UID, Id becomes ID).
package api
