package poller

import "context"

// runTask is the runner netpoll uses for every connection's read task
// (netpoll.Config.Runner, process-wide): a plain goroutine for the task's
// duration, so that a handler that blocks holds up only its own
// connection. netpoll's default, a goroutine pool, costs an allocation
// per read for its worker. Running the task inline on the poller's
// goroutine would save the hand-over, but netpoll cannot close a
// connection from there: freeing its operator waits for the poller to
// leave it, which is the goroutine doing the waiting.
func runTask(_ context.Context, task func()) {
	go task()
}
