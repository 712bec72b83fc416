// Package testutil holds what the tests of several packages need alike: a
// TCP proxy that can freeze or reset its connections, as a hung machine or a
// broken network would, and a self-signed certificate for TLS tests. Only
// tests import it.
package testutil
