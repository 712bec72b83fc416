package poller

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// peerLimiter bounds, per client address, the connections open at once
// (Options.MaxConnsPerIP) and the new connections per second
// (Options.ConnectRatePerIP, a token bucket of ConnectBurstPerIP), so that
// one host cannot take the whole of MaxConns or keep the loops busy with
// handshakes. IPv6 clients are counted by their /64, the block one host
// is usually given. It exists only when one of the limits is set: without
// them, accepts ask the kernel for no address at all.
type peerLimiter struct {
	maxConns int32
	rate     float64 // tokens per nanosecond; 0: no rate limit
	burst    float64

	mu    sync.Mutex
	peers map[netip.Addr]*peerEntry
	// byFD names the entry each open connection counts against, so that
	// leave needs no address lookup: by then the socket may be gone.
	byFD fdTable[peerEntry]
	// lastSweep is when entries with nothing left to remember were last
	// dropped; wheel goroutine only.
	lastSweep int64
}

type peerEntry struct {
	conns  int32
	tokens float64
	at     int64 // time tokens was computed
}

// peerSweepEvery is how often entries of addresses with no connection and
// a full bucket are forgotten.
const peerSweepEvery = 10 * time.Second

func newPeerLimiter(o Options) *peerLimiter {
	if o.MaxConnsPerIP <= 0 && o.ConnectRatePerIP <= 0 {
		return nil
	}
	l := &peerLimiter{maxConns: int32(o.MaxConnsPerIP), peers: make(map[netip.Addr]*peerEntry)}
	if o.ConnectRatePerIP > 0 {
		l.rate = o.ConnectRatePerIP / float64(time.Second)
		l.burst = float64(o.ConnectBurstPerIP)
	}
	return l
}

// peerKey is what a client address counts as: itself for IPv4, its /64
// for IPv6.
func peerKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// peerFromAddr reads a client address from a net.Addr (netpoll).
func peerFromAddr(a net.Addr) (netip.Addr, bool) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(ta.IP)
		return ip, ok
	}
	return netip.Addr{}, false
}

// refusal says why join refused a connection.
type refusal uint8

const (
	admitted refusal = iota
	overConnsPerIP
	overConnectRate
)

// join counts a new connection on fd from peer, unless it passes a limit.
func (l *peerLimiter) join(fd int32, peer netip.Addr, now int64) refusal {
	key := peerKey(peer)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.peers[key]
	if e == nil {
		e = &peerEntry{tokens: l.burst, at: now}
		l.peers[key] = e
	}
	if l.maxConns > 0 && e.conns >= l.maxConns {
		return overConnsPerIP
	}
	if l.rate > 0 {
		e.refill(l, now)
		if e.tokens < 1 {
			return overConnectRate
		}
		e.tokens--
	}
	if err := l.byFD.add(fd, e); err != nil {
		return overConnsPerIP // beyond the table: admit refuses it anyway
	}
	e.conns++
	return admitted
}

func (e *peerEntry) refill(l *peerLimiter, now int64) {
	if now > e.at {
		e.tokens = min(l.burst, e.tokens+float64(now-e.at)*l.rate)
		e.at = now
	}
}

// leave uncounts the connection on fd; it runs once per joined
// connection, before fd is closed.
func (l *peerLimiter) leave(fd int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.byFD.slot(fd, false)
	if s == nil {
		return
	}
	if e := s.Swap(nil); e != nil {
		e.conns--
	}
}

// sweep forgets the addresses that have no connection and whose bucket
// is full again: they are as if never seen. It runs on the wheel's
// goroutine.
func (l *peerLimiter) sweep(now int64) {
	if now-l.lastSweep < int64(peerSweepEvery) {
		return
	}
	l.lastSweep = now
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.peers {
		if e.conns > 0 {
			continue
		}
		if l.rate > 0 {
			e.refill(l, now)
			if e.tokens < l.burst {
				continue
			}
		}
		delete(l.peers, k)
	}
}

// tracked is how many addresses the limiter remembers (tests).
func (l *peerLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}
