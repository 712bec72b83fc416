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
