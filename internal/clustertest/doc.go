// Package clustertest holds the cluster tests that need more than one
// package's view: a register and gateway nodes started as separate wsgate
// processes and killed with SIGKILL, and the no-loss test that pushes a
// million messages across the nodes of a cluster and counts them at real
// WebSocket clients. It has no code of its own outside its tests.
package clustertest
