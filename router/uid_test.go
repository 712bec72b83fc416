package router

import "testing"

// TestClientCountByUID counts the clients of a uid through bind, rebind,
// unbind and removal, a closing client still counting.
func TestClientCountByUID(t *testing.T) {
	r := New(Options{Shards: 1})
	gen := NewIDGenerator(1)
	var conn countingConn
	var cs []*Client
	for range 3 {
		c, err := r.Add(gen.Next(), &conn, "u", nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	count := func(want int) {
		t.Helper()
		if got := r.ClientCountByUID("u"); got != want {
			t.Fatalf("ClientCountByUID(u) = %d, want %d", got, want)
		}
	}
	count(3)
	if err := r.BindUID(cs[0].ID(), "v"); err != nil {
		t.Fatal(err)
	}
	count(2)
	if err := r.UnbindUID(cs[1].ID()); err != nil {
		t.Fatal(err)
	}
	count(1)
	r.Closing(cs[2])
	count(1)
	r.Remove(cs[2])
	count(0)
	if n := r.ClientCountByUID(""); n != 0 {
		t.Fatalf(`ClientCountByUID("") = %d, want 0`, n)
	}
}
