package poller

import "sync/atomic"

// Stats are a server's counters since it started.
type Stats struct {
	Conns             int64  // not yet gone: in the handshake, open, or in OnClose
	Accepted          uint64 // TCP connections accepted
	Opened            uint64 // handshakes completed
	Rejected          uint64 // accepts closed at once: MaxConns reached or shutting down
	HandshakesRefused uint64 // answered with an HTTP error
	HandshakeTimeouts uint64 // no complete request head within HandshakeTimeout
	ProtocolErrors    uint64 // connections failed for violating RFC 6455
	Overflows         uint64 // sends over a connection's OutboundBudget
	PingTimeouts      uint64 // closed after MaxMissedPongs unanswered pings
	WriteTimeouts     uint64 // closed after a full socket did not drain for WriteTimeout
	InboundRefusals   uint64 // closed (1013) for a frame over Options.InboundBudget
	InboundBytes      int64  // bytes held now in partial frames and messages, of InboundBudget
	MessageTimeouts   uint64 // closed (1008) for a message not completed within MessageTimeout
	MessagesIn        uint64 // data messages received
	// RefusedConnsPerIP and RefusedConnectRate count accepts closed at
	// once for Options.MaxConnsPerIP and Options.ConnectRatePerIP.
	RefusedConnsPerIP  uint64
	RefusedConnectRate uint64
	// MessageRateExceeded counts data messages over Options.MessageRate:
	// dropped, or (MessageRateClose) the message that closed its
	// connection.
	MessageRateExceeded uint64
	// SlowInlineTasks counts inline read tasks that held the event loop
	// for SlowInlineTask or longer (see Options.InlineHandlers).
	SlowInlineTasks uint64
	// CompressedConns counts handshakes that negotiated permessage-deflate
	// (Options.Compression).
	CompressedConns uint64
	// MessagesDeflated counts the messages compressed for sending: once
	// per message, however many connections it went to.
	// DeflateBytesIn and DeflateBytesOut are their payload bytes before
	// and after (a message that would not shrink is sent as it is and
	// counts the same on both sides).
	MessagesDeflated uint64
	DeflateBytesIn   uint64
	DeflateBytesOut  uint64
}

type counters struct {
	accepted, opened, rejected, handshakesRefused, handshakeTimeouts   atomic.Uint64
	protocolErrors, overflows, pingTimeouts, writeTimeouts, messagesIn atomic.Uint64
	slowInlineTasks, inboundRefusals, messageTimeouts                  atomic.Uint64
	refusedConnsPerIP, refusedConnectRate, messageRateExceeded         atomic.Uint64
	compressedConns, messagesDeflated, deflateBytesIn, deflateBytesOut atomic.Uint64
	lastSlowLog                                                        atomic.Int64 // unix ns of the last slow-task warning
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Conns:               s.count.Load(),
		Accepted:            c.accepted.Load(),
		Opened:              c.opened.Load(),
		Rejected:            c.rejected.Load(),
		HandshakesRefused:   c.handshakesRefused.Load(),
		HandshakeTimeouts:   c.handshakeTimeouts.Load(),
		ProtocolErrors:      c.protocolErrors.Load(),
		Overflows:           c.overflows.Load(),
		PingTimeouts:        c.pingTimeouts.Load(),
		WriteTimeouts:       c.writeTimeouts.Load(),
		InboundRefusals:     c.inboundRefusals.Load(),
		InboundBytes:        s.inboundBytes(),
		MessageTimeouts:     c.messageTimeouts.Load(),
		MessagesIn:          c.messagesIn.Load(),
		SlowInlineTasks:     c.slowInlineTasks.Load(),
		RefusedConnsPerIP:   c.refusedConnsPerIP.Load(),
		RefusedConnectRate:  c.refusedConnectRate.Load(),
		MessageRateExceeded: c.messageRateExceeded.Load(),
		CompressedConns:     c.compressedConns.Load(),
		MessagesDeflated:    c.messagesDeflated.Load(),
		DeflateBytesIn:      c.deflateBytesIn.Load(),
		DeflateBytesOut:     c.deflateBytesOut.Load(),
	}
}
