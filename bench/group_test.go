package bench

import (
	"slices"
	"testing"
	"time"
)

func TestGroupAddsQuery(t *testing.T) {
	o := Options{Workload: "bcast", Conns: 1, Duration: time.Second, Group: "room 1", Rate: -1,
		URLs: []string{"ws://127.0.0.1:8080/ws", "ws://127.0.0.2:8080/ws?x=1"}}
	if err := o.complete(); err != nil {
		t.Fatal(err)
	}
	want := []string{"ws://127.0.0.1:8080/ws?group=room+1", "ws://127.0.0.2:8080/ws?group=room+1&x=1"}
	if !slices.Equal(o.URLs, want) {
		t.Fatalf("URLs %q, want %q", o.URLs, want)
	}
	o = Options{Workload: "echo", Conns: 1, Duration: time.Second, Group: "g"}
	if err := o.complete(); err == nil {
		t.Fatal("-group accepted for echo")
	}
}
