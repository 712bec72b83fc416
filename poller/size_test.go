package poller

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps the per-connection struct in the 192-byte size class:
// every idle connection holds one, so a field added carelessly costs a
// size class (16 bytes) per connection.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 192 {
		t.Fatalf("Conn is %d bytes, over the 192-byte size class", n)
	}
}
