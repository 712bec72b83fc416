package api

import "testing"

// The tests that run the Api script (internal/testutil/apiscript) are in
// package api_test: the script imports api, so tests in package api cannot
// import it. These exports hand them this package's test helpers. Their
// nodes run a recorder, which greets each client with its clientID, as
// apiscript.Dial expects.

var (
	NodeIPs       = nodeIPs
	Quiet         = quiet
	WaitFor       = waitFor
	WaitConnected = waitConnected
)

const TestSecret = testSecret

// StartTestNode runs a node for a recorder on a free port of ip with o
// until the test ends.
func StartTestNode(t testing.TB, ip string, o Options) *Gateway {
	t.Helper()
	return startNode(t, ip, o, newRecorder())
}

// StartTestCluster starts a register and n nodes that reach each other,
// and returns the nodes and the register's address.
func StartTestCluster(t testing.TB, n int) ([]*Gateway, string) {
	t.Helper()
	c := startCluster(t, n)
	return c.nodes, c.reg.addr
}
