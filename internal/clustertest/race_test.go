//go:build race

package clustertest

// raceEnabled: the race detector slows every memory access; tests that
// count throughput scale their load down under it.
const raceEnabled = true
