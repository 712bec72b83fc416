package poller

import "testing"

// TestBackendChoice: the backends parse by name, anything else is refused
// by ParseBackend and by NewServer, and the default is epoll.
func TestBackendChoice(t *testing.T) {
	for _, b := range backends {
		if got, err := ParseBackend(string(b)); got != b || err != nil {
			t.Errorf("ParseBackend(%q) = %q, %v", b, got, err)
		}
	}
	if _, err := ParseBackend("kqueue"); err == nil {
		t.Error(`ParseBackend("kqueue"): no error`)
	}
	if _, err := NewServer(Options{Handler: &echoHandler{}, Backend: "kqueue"}); err == nil {
		t.Error(`NewServer with Backend "kqueue": no error`)
	}
	s, err := NewServer(Options{Handler: &echoHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendEpoll {
		t.Errorf("default backend %q, want epoll", s.Backend())
	}
}
