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

// TestInfosByUID copies the info of each client of a uid, and only of its
// clients: a rebound client leaves, a removed one is gone.
func TestInfosByUID(t *testing.T) {
	r := New(Options{Shards: 1})
	gen := NewIDGenerator(1)
	var conn countingConn
	a, err := r.Add(gen.Next(), &conn, "u", map[string]string{"status": "away"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Add(gen.Next(), &conn, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Add(gen.Next(), &conn, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.BindUID(c.ID(), "v"); err != nil {
		t.Fatal(err)
	}
	got := r.InfosByUID("u")
	if len(got) != 2 || got[a.ID()]["status"] != "away" || got[b.ID()] == nil || len(got[b.ID()]) != 0 {
		t.Fatalf("InfosByUID(u) = %v, want %s away and %s with an empty info", got, a.ID(), b.ID())
	}
	got[a.ID()]["status"] = "changed"
	if again := r.InfosByUID("u"); again[a.ID()]["status"] != "away" {
		t.Fatalf("InfosByUID hands out the router's own map: %v", again)
	}
	r.Closing(a)
	r.Remove(a)
	if got := r.InfosByUID("u"); len(got) != 1 || got[b.ID()] == nil {
		t.Fatalf("InfosByUID(u) after removing %s = %v, want %s only", a.ID(), got, b.ID())
	}
	if got := r.InfosByUID(""); len(got) != 0 {
		t.Fatalf(`InfosByUID("") = %v, want none`, got)
	}
}
