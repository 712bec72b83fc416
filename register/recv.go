package register

import "context"

// receive runs recv (a stream's Recv) in a goroutine of its own, so that
// heartbeats, list pushes and the silence timer keep going while it
// blocks: the messages come out of the first channel, and the error that
// ended the stream out of the second. The goroutine ends with the stream,
// or when ctx ends (the stream's owner returned and reads no more).
func receive[T any](ctx context.Context, recv func() (T, error)) (<-chan T, <-chan error) {
	incoming := make(chan T)
	recvErr := make(chan error, 1)
	go func() {
		for {
			msg, err := recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case incoming <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return incoming, recvErr
}
