package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds and returns when it first did; past
// within, it fails the test naming what it waited for.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Now()
}
