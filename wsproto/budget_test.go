package wsproto

import (
	"bytes"
	"errors"
	"testing"
)

// Decoders sharing a Budget hold at most its limit in partial frames: a
// frame that would pass it fails with 1013, and what a message held comes
// back when it completes or its decoder is released.
func TestBudgetBoundsPartialFrames(t *testing.T) {
	budget := NewBudget(100)
	a := &Decoder{Budget: budget}
	b := &Decoder{Budget: budget}
	var ra, rb recorder

	big := (&client{}).binary(bytes.Repeat([]byte("a"), 80)).b
	if _, err := a.Feed(big[:20], &ra); err != nil {
		t.Fatal(err)
	}
	if got := budget.Used(); got != 80 {
		t.Fatalf("a partial frame of 80 bytes holds %d of the budget, want all 80 at once", got)
	}

	// b's 30-byte frame does not fit while a holds 80.
	over := (&client{}).binary(bytes.Repeat([]byte("b"), 30)).b
	_, err := b.Feed(over[:10], &rb)
	var pe *ProtocolError
	if !errors.Is(err, ErrInboundBudget) || !errors.As(err, &pe) || pe.Code != CloseTryAgainLater {
		t.Fatalf("a frame over the budget: got %v, want ErrInboundBudget (1013)", err)
	}
	b.Release()

	// A frame that arrives whole is decoded in place and takes nothing.
	c := &Decoder{Budget: budget}
	if _, err := c.Feed(over, &rb); err != nil || len(rb.events) != 1 {
		t.Fatalf("a whole frame with the budget spent: err %v, %d messages", err, len(rb.events))
	}

	// a completes: its 80 bytes come back.
	if _, err := a.Feed(big[20:], &ra); err != nil || len(ra.events) != 1 {
		t.Fatalf("completing a: err %v, %d messages", err, len(ra.events))
	}
	if got := budget.Used(); got != 0 {
		t.Fatalf("after the message, %d bytes still lent", got)
	}

	// A fragmented message holds its fragments until released.
	frag := (&client{}).frame(OpText, false, []byte("hello ")).frame(OpContinuation, false, []byte("wor")).b
	d := &Decoder{Budget: budget}
	if _, err := d.Feed(frag, &rb); err != nil {
		t.Fatal(err)
	}
	if got := budget.Used(); got != 9 {
		t.Fatalf("two fragments of 9 bytes hold %d", got)
	}
	d.Release()
	if got := budget.Used(); got != 0 {
		t.Fatalf("after Release, %d bytes still lent", got)
	}
	if d.Budget != budget {
		t.Fatal("Release dropped the budget")
	}
}
