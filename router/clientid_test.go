package router

import (
	"errors"
	"strings"
	"testing"
)

func TestClientIDRoundTrip(t *testing.T) {
	p := ClientIDParts{Node: 0xdeadbeef, Incarnation: 1<<63 + 5, Seq: 42}
	id := p.String()
	if len(id) != ClientIDLen || !strings.HasPrefix(id, "deadbeef") {
		t.Fatalf("id %q", id)
	}
	back, err := ParseClientID(id)
	if err != nil || back != p {
		t.Fatalf("parsed %+v %v, want %+v", back, err, p)
	}
	if n, _ := NodeOf(id); n != 0xdeadbeef {
		t.Fatalf("NodeOf %v", n)
	}
}

func TestParseClientIDRejects(t *testing.T) {
	for _, id := range []string{
		"",
		"abc",
		strings.Repeat("0", ClientIDLen-1),
		strings.Repeat("0", ClientIDLen+1),
		strings.Repeat("g", ClientIDLen),
		strings.Repeat("A", ClientIDLen), // upper case: one spelling per id
	} {
		if _, err := ParseClientID(id); !errors.Is(err, ErrBadClientID) {
			t.Errorf("ParseClientID(%q) = %v, want ErrBadClientID", id, err)
		}
	}
}

func TestIDGeneratorNeverRepeats(t *testing.T) {
	g1 := NewIDGenerator(7)
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		id := g1.Next()
		if seen[id] {
			t.Fatalf("id %s issued twice", id)
		}
		seen[id] = true
	}
	// A restart of the same node is a new incarnation.
	g2 := NewIDGenerator(7)
	if g2.Incarnation() == g1.Incarnation() {
		t.Fatal("two starts share an incarnation")
	}
	if id := g2.Next(); seen[id] {
		t.Fatalf("restarted node reissued %s", id)
	}
	p, _ := ParseClientID(g2.Next())
	if p.Node != 7 || p.Incarnation != g2.Incarnation() || p.Seq != 2 {
		t.Fatalf("parts %+v", p)
	}
}

// TestNewClient: an entry made by the generator carries the next id, which
// parses back to the generator's node and incarnation, and the router
// finds it by that id once added.
func TestNewClient(t *testing.T) {
	g := NewIDGenerator(42)
	r := New(Options{})
	var conn countingConn
	first := g.Next()
	for i := uint64(2); i < 5; i++ {
		c := g.NewClient(&conn)
		p, err := ParseClientID(c.ID())
		if err != nil {
			t.Fatal(err)
		}
		if p != (ClientIDParts{Node: 42, Incarnation: g.Incarnation(), Seq: i}) || c.ID() <= first {
			t.Fatalf("NewClient made %s (%+v) after %s", c.ID(), p, first)
		}
		if err := r.AddClient(c, "u", nil); err != nil {
			t.Fatal(err)
		}
		if got, ok := r.Lookup(strings.Clone(c.ID())); !ok || got != c || c.Conn() != &conn {
			t.Fatalf("Lookup(%s) = %v, %v", c.ID(), got, ok)
		}
	}
	if n := len(r.ClientIDsByUID("u")); n != 3 {
		t.Fatalf("uid u has %d clients, want 3", n)
	}
}
