// Package testutil holds what the tests of several packages need alike: a
// WebSocket test client, a TCP proxy that can freeze or reset its
// connections, as a hung machine or a broken network would, a self-signed
// certificate for TLS tests, a log sink safe for concurrent writes, and the
// wsgate binary and processes that the process tests build and run.
// Only tests import it. It imports no package of wsgate, so that every
// package's own tests can use it.
package testutil
