package poller

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestMaxConnsPerIP: past MaxConnsPerIP, a new connection from the same
// address is closed at once and counted, while other addresses are served;
// once one of the address's connections leaves, it may open another.
func TestMaxConnsPerIP(t *testing.T) {
	s := startServer(t, Options{MaxConnsPerIP: 2})
	a := []*client{dialFrom(t, s, "127.0.0.1", true), dialFrom(t, s, "127.0.0.1", true)}
	dialFrom(t, s, "127.0.0.1", false).expectEOF()
	if got := s.Stats().RefusedConnsPerIP; got != 1 {
		t.Fatalf("Stats().RefusedConnsPerIP = %d, want 1", got)
	}
	other := dialFrom(t, s, "127.0.0.2", true)
	for _, c := range append(a, other) {
		c.writeFrame(true, wsproto.OpText, []byte("x"))
		c.expectMessage(wsproto.OpText, []byte("x"))
	}
	a[0].write(closeFrame(closePayload(1000, "")))
	a[0].expectClose(1000)
	a[0].expectEOF()
	waitFor(t, 5*time.Second, "the closed connection to leave", func() bool { return s.Stats().Conns == 2 })
	c := dialFrom(t, s, "127.0.0.1", true)
	c.writeFrame(true, wsproto.OpText, []byte("y"))
	c.expectMessage(wsproto.OpText, []byte("y"))
	if got := s.Stats().Rejected; got != 0 {
		t.Errorf("Stats().Rejected = %d, want 0: per-address refusals are counted apart", got)
	}
}

// TestConnectRatePerIP: an address that used its burst is refused until
// its bucket refills, even after its connections closed; other addresses
// are not affected.
func TestConnectRatePerIP(t *testing.T) {
	s := startServer(t, Options{ConnectRatePerIP: 0.1, ConnectBurstPerIP: 2}) // a token per 10s
	for range 2 {
		c := dialFrom(t, s, "127.0.0.1", true)
		c.nc.Close()
	}
	waitFor(t, 5*time.Second, "the closed connections to leave", func() bool { return s.Stats().Conns == 0 })
	dialFrom(t, s, "127.0.0.1", false).expectEOF()
	if got := s.Stats().RefusedConnectRate; got != 1 {
		t.Fatalf("Stats().RefusedConnectRate = %d, want 1", got)
	}
	c := dialFrom(t, s, "127.0.0.3", true)
	c.writeFrame(true, wsproto.OpText, []byte("x"))
	c.expectMessage(wsproto.OpText, []byte("x"))
}

// TestPeerKey: IPv4 addresses count alone, IPv4-mapped IPv6 ones as IPv4,
// and IPv6 ones by their /64.
func TestPeerKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.1", "::ffff:192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
	} {
		if ka, kb := peerKey(netip.MustParseAddr(tc.a)), peerKey(netip.MustParseAddr(tc.b)); ka != kb {
			t.Errorf("peerKey(%s) = %v, peerKey(%s) = %v: want one key", tc.a, ka, tc.b, kb)
		}
	}
	if peerKey(netip.MustParseAddr("2001:db8:1:2::1")) == peerKey(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("two /64s share a key")
	}
	if peerKey(netip.MustParseAddr("192.0.2.1")) == peerKey(netip.MustParseAddr("192.0.2.2")) {
		t.Error("two IPv4 addresses share a key")
	}
}

// TestPeerSweep: the limiter forgets an address once it has no connection
// and a full bucket, and not before, so that its memory is bounded by the
// connections open and the addresses seen lately.
func TestPeerSweep(t *testing.T) {
	l := newPeerLimiter(Options{MaxConnsPerIP: 5, ConnectRatePerIP: 1, ConnectBurstPerIP: 1})
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := int64(time.Hour)
	if l.join(3, a, now) != admitted || l.join(4, b, now) != admitted {
		t.Fatal("first connections refused")
	}
	if got := l.join(5, a, now); got != overConnectRate {
		t.Fatalf("second connection within the second: %v, want overConnectRate", got)
	}
	l.leave(4)
	l.leave(4) // a second leave for one connection changes nothing
	now += int64(peerSweepEvery)
	l.sweep(now)
	if got := l.tracked(); got != 1 {
		t.Fatalf("after the sweep %d addresses tracked, want 1 (the one with a connection)", got)
	}
	l.leave(3)
	l.join(6, b, now) // b is new again: admitted, and its bucket empty now
	l.leave(6)
	now += int64(peerSweepEvery)
	l.sweep(now)
	if got := l.tracked(); got != 0 {
		t.Fatalf("after the last sweep %d addresses tracked, want 0", got)
	}
	if newPeerLimiter(Options{}) != nil {
		t.Error("a limiter without limits exists")
	}
}
