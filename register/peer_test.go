package register

import (
	"slices"
	"testing"
)

func TestMergePeers(t *testing.T) {
	fromA := []Peer{{ID: "n1", Addr: "h1:1", Incarnation: 5}, {ID: "n2", Addr: "h2:1", Incarnation: 1}}
	fromB := []Peer{{ID: "n3", Addr: "h3:1", Incarnation: 1}, {ID: "n1", Addr: "h1:2", Incarnation: 7}}
	got := mergePeers(fromA, nil, fromB)
	want := []Peer{
		{ID: "n1", Addr: "h1:2", Incarnation: 7}, // the restarted n1 wins
		{ID: "n2", Addr: "h2:1", Incarnation: 1},
		{ID: "n3", Addr: "h3:1", Incarnation: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	if got := mergePeers(); len(got) != 0 {
		t.Errorf("merge of nothing gave %v", got)
	}
}
