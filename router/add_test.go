package router

import (
	"testing"
)

// TestRemoveRacingAddLeavesNoUID removes each client the moment it can be
// found, while Add is still giving it its first uid: once both are done,
// the uid must not be online with no client behind it.
func TestRemoveRacingAddLeavesNoUID(t *testing.T) {
	r := New(Options{Shards: 1})
	gen := NewIDGenerator(1)
	const n = 20000
	ids := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := range ids {
			for {
				if c, ok := r.Lookup(id); ok {
					r.Closing(c)
					r.Remove(c)
					break
				}
			}
		}
	}()
	var conn countingConn
	for i := 0; i < n; i++ {
		id := gen.Next()
		ids <- id
		if _, err := r.Add(id, &conn, "u", nil); err != nil {
			t.Fatal(err)
		}
	}
	close(ids)
	<-done
	if r.ClientCount() != 0 || r.IsUIDOnline("u") {
		t.Fatalf("left behind: %d clients, uid online %v with %d clients", r.ClientCount(), r.IsUIDOnline("u"), len(r.ClientIDsByUID("u")))
	}
}
