// Package httpapi serves a node's Api over HTTP, for backends not written
// in Go: one route per Api call, POST /api/v1/<Call> with a JSON body and
// a JSON answer, a batch route, and an OpenAPI 3 document of them all.
//
// Every call is defined once, in calls.go: its name (the Go method's),
// its request fields, its answer and a doc line. That one table drives
// the router, the request decoding, the batch route and the OpenAPI
// document, and a test checks it against the api.Api interface, so a new
// Api method without a route fails the tests.
//
// A request passes, in order: the API key (401 before anything is read),
// the route (404) and method (405), the key's rate limit (429), the body
// size limit (413), the decoding of its fields (400), then the call on the
// node's api.Api, which routes it to the client's node or fans it out
// across the cluster exactly as a Go caller's call would.
package httpapi
