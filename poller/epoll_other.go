//go:build !linux

package poller

import "errors"

func newEpollTransport(s *Server) (transport, error) {
	return nil, errors.New("poller: the epoll backend needs Linux; use BackendNetpoll")
}
