package router

import (
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// TestIndexFindsEveryClient adds clients past several growths of the
// index: each must be found by the index itself, by its own id and by an
// equal copy (an id that came over the wire), and by nothing once removed.
func TestIndexFindsEveryClient(t *testing.T) {
	r := New(Options{})
	g := NewIDGenerator(7)
	var conn countingConn
	const n = 5*indexMinSlots + 3
	cs := make([]*Client, n)
	for i := range cs {
		c, err := r.Add(g.Next(), &conn, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	if got := len(r.index.table.Load().slots); got < n {
		t.Fatalf("index has %d slots for %d clients", got, n)
	}
	for _, c := range cs {
		if r.index.get(c.ID()) != c {
			t.Fatalf("index does not hold %s", c.ID())
		}
		copied := strings.Clone(c.ID())
		if got, ok := r.Lookup(copied); !ok || got != c {
			t.Fatalf("Lookup(copy of %s) = %v, %v", c.ID(), got, ok)
		}
	}
	for i, c := range cs {
		if i%2 == 0 {
			r.Closing(c)
			r.Remove(c)
		}
	}
	for i, c := range cs {
		_, ok := r.Lookup(c.ID())
		if ok != (i%2 == 1) {
			t.Fatalf("client %d: Lookup found %v after removing every even one", i, ok)
		}
	}
}

// TestIndexGrowthRacingRemove adds and removes clients from several
// goroutines while the index grows under them (run with -race): at the
// end the index answers for no removed client, and Lookup finds every
// live one.
func TestIndexGrowthRacingRemove(t *testing.T) {
	r := New(Options{Shards: 4})
	g := NewIDGenerator(1)
	const workers, each = 4, 3 * indexMinSlots
	kept := make([][]*Client, workers)
	var removed sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn countingConn
			for i := range each {
				c, err := r.Add(g.Next(), &conn, "", nil)
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					r.Closing(c)
					r.Remove(c)
					removed.Store(c, true)
					continue
				}
				kept[w] = append(kept[w], c)
			}
		}()
	}
	wg.Wait()
	for _, cs := range kept {
		for _, c := range cs {
			if got, ok := r.Lookup(c.ID()); !ok || got != c {
				t.Fatalf("live client %s: Lookup = %v, %v", c.ID(), got, ok)
			}
		}
	}
	removed.Range(func(k, _ any) bool {
		if c := k.(*Client); r.index.get(c.ID()) != nil {
			t.Fatalf("removed client %s is answered by the index", c.ID())
		}
		return true
	})
}

// TestIndexSharedSlot: clients whose ids end alike share a slot; the later
// takes it and the earlier is found in the map, before and after the later
// is removed.
func TestIndexSharedSlot(t *testing.T) {
	r := New(Options{})
	var conn countingConn
	a, err := r.Add(ClientIDParts{Node: 1, Incarnation: 1, Seq: 5}.String(), &conn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Add(ClientIDParts{Node: 1, Incarnation: 2, Seq: 5}.String(), &conn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.index.get(b.ID()) != b || r.index.get(a.ID()) != nil {
		t.Fatal("the later client does not hold the shared slot")
	}
	for _, c := range []*Client{a, b} {
		if got, ok := r.Lookup(c.ID()); !ok || got != c {
			t.Fatalf("Lookup(%s) = %v, %v", c.ID(), got, ok)
		}
	}
	r.Closing(b)
	r.Remove(b)
	if _, ok := r.Lookup(b.ID()); ok {
		t.Fatal("removed client still found")
	}
	if got, ok := r.Lookup(a.ID()); !ok || got != a {
		t.Fatalf("Lookup(%s) after its slot-mate left = %v, %v", a.ID(), got, ok)
	}
}

// TestIndexRemovedInSlot: a client removed while a growth copied it may
// stay in a slot; it must answer nothing there.
func TestIndexRemovedInSlot(t *testing.T) {
	r := New(Options{})
	var conn countingConn
	c, err := r.Add(NewIDGenerator(1).Next(), &conn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Closing(c)
	r.Remove(c)
	r.index.put(c) // what a racing growth could leave behind
	if _, ok := r.Lookup(c.ID()); ok {
		t.Fatal("a removed client left in its slot was found")
	}
}

// TestIndexOtherIDs: ids without a clientID's shape are found in the map.
func TestIndexOtherIDs(t *testing.T) {
	r := New(Options{})
	var conn countingConn
	for _, id := range []string{"a", strings.Repeat("z", ClientIDLen), strings.Repeat("0", ClientIDLen-1) + "G"} {
		c, err := r.Add(id, &conn, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := r.Lookup(id); !ok || got != c || c.ID() != id {
			t.Fatalf("Lookup(%q) = %v, %v", id, got, ok)
		}
	}
}

func TestIndexKey(t *testing.T) {
	for _, tc := range []struct {
		id  string
		key uint32
		ok  bool
	}{
		{ClientIDParts{Node: 1, Incarnation: 2, Seq: 0x1_89abcdef}.String(), 0x89abcdef, true},
		{ClientIDParts{Seq: 1}.String(), 1, true},
		{"short", 0, false},
		{strings.Repeat("0", ClientIDLen-1) + "F", 0, false}, // upper case is not a clientID
	} {
		if k, ok := indexKey(tc.id); k != tc.key || ok != tc.ok {
			t.Errorf("indexKey(%q) = %#x, %v; want %#x, %v", tc.id, k, ok, tc.key, tc.ok)
		}
	}
}

// BenchmarkLookup finds clients among 10,000 in an order the caches do not
// follow, by the ids the gateway handed out.
func BenchmarkLookup(b *testing.B) {
	r, ids := shuffledClients(b, 10000)
	i := 0
	for b.Loop() {
		if _, ok := r.Lookup(ids[i]); !ok {
			b.Fatal("missing")
		}
		i = (i + 1) % len(ids)
	}
}

// TestClientSize keeps a client's entry, its id included, in the 96-byte
// size class: every connection holds one.
func TestClientSize(t *testing.T) {
	if n := unsafe.Sizeof(Client{}); n > 96 {
		t.Fatalf("Client is %d bytes, over the 96-byte size class", n)
	}
}
