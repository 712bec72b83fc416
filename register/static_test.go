package register

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStaticDeliversTheListWithoutSelf(t *testing.T) {
	all := []Peer{{ID: "b", Addr: "h:2"}, {ID: "a", Addr: "h:1"}, {ID: "c", Addr: "h:3"}}
	s, err := NewStatic(Peer{ID: "b"}, all)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []Peer, 1)
	s.OnChange(func(p []Peer) { got <- p })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []Peer{{ID: "a", Addr: "h:1"}, {ID: "c", Addr: "h:3"}}
	select {
	case p := <-got:
		if !slices.Equal(p, want) {
			t.Fatalf("list %v, want %v", p, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no list delivered")
	}
	if err := s.Joined(context.Background()); err != nil || s.Ready() != nil {
		t.Fatalf("joined %v, ready %v; want both nil", err, s.Ready())
	}
}

func TestStaticRefusesBadLists(t *testing.T) {
	for _, tc := range []struct {
		name string
		list []Peer
		want string
	}{
		{"no address", []Peer{{ID: "a"}}, "needs an ID and an address"},
		{"no id", []Peer{{Addr: "h:1"}}, "needs an ID and an address"},
		{"twice", []Peer{{ID: "a", Addr: "h:1"}, {ID: "a", Addr: "h:2"}}, "listed twice"},
	} {
		if _, err := NewStatic(Peer{ID: "x"}, tc.list); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
