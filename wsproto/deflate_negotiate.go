package wsproto

import (
	"strconv"
	"strings"
)

// DeflateExtension is the name of the permessage-deflate extension
// (RFC 7692 section 7).
const DeflateExtension = "permessage-deflate"

// The parameters of permessage-deflate (RFC 7692 section 7.1).
const (
	paramServerNoContext = "server_no_context_takeover"
	paramClientNoContext = "client_no_context_takeover"
	paramServerMaxWindow = "server_max_window_bits"
	paramClientMaxWindow = "client_max_window_bits"
)

// MaxWindowBits is the LZ77 window of DEFLATE, and of compress/flate: 2^15
// bytes.
const MaxWindowBits = 15

// DeflateOffer is one permessage-deflate offer of a client.
type DeflateOffer struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	// ServerMaxWindowBits is the offer's server_max_window_bits (8 to 15),
	// or 0 when it has none.
	ServerMaxWindowBits uint8
	// ClientMaxWindowBits is the offer's client_max_window_bits (8 to 15),
	// 1 when it has the parameter without a value, 0 when it has none.
	ClientMaxWindowBits uint8
}

// ParseDeflateOffer reads e as a permessage-deflate offer. It reports
// false for another extension and for an offer the RFC says to decline:
// an unknown parameter, a parameter given twice or a value out of its
// range (RFC 7692 section 5.1).
func ParseDeflateOffer(e *Extension) (DeflateOffer, bool) {
	var o DeflateOffer
	if !strings.EqualFold(e.Name, DeflateExtension) || e.TooMany {
		return o, false
	}
	var seen [4]bool
	for _, p := range e.Params() {
		var idx int
		switch {
		case strings.EqualFold(p.Name, paramServerNoContext):
			idx, o.ServerNoContextTakeover = 0, true
			if p.HasValue {
				return o, false
			}
		case strings.EqualFold(p.Name, paramClientNoContext):
			idx, o.ClientNoContextTakeover = 1, true
			if p.HasValue {
				return o, false
			}
		case strings.EqualFold(p.Name, paramServerMaxWindow):
			idx = 2
			bits, ok := parseWindowBits(p.Value)
			if !p.HasValue || !ok {
				return o, false
			}
			o.ServerMaxWindowBits = bits
		case strings.EqualFold(p.Name, paramClientMaxWindow):
			idx, o.ClientMaxWindowBits = 3, 1
			if p.HasValue {
				bits, ok := parseWindowBits(p.Value)
				if !ok {
					return o, false
				}
				o.ClientMaxWindowBits = bits
			}
		default:
			return o, false
		}
		if seen[idx] {
			return o, false
		}
		seen[idx] = true
	}
	return o, true
}

// parseWindowBits reads a window size: 8 to 15 in decimal, without
// leading zeros (RFC 7692 section 7.1.2.1).
func parseWindowBits(v string) (uint8, bool) {
	switch {
	case len(v) == 1 && (v[0] == '8' || v[0] == '9'):
		return v[0] - '0', true
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + v[1] - '0', true
	}
	return 0, false
}

// NegotiateDeflate picks the first permessage-deflate offer the server can
// accept from the client's Sec-WebSocket-Extensions values. ok is false
// when no offer is acceptable.
//
// Every offer ParseDeflateOffer reads is acceptable: the server never
// keeps a compression context (server_no_context_takeover) and asks the
// client not to either (client_no_context_takeover), and it keeps to an
// offered server_max_window_bits by compressing only the messages no
// longer than that window (see DeflateOffer.WindowBits), since a message
// compressed on its own refers back no further than its own length.
func NegotiateDeflate(values []string) (offer DeflateOffer, ok bool) {
	// The walk of ForEachExtension, without a closure that would make
	// every handshake allocate.
	var e Extension
	for _, v := range values {
		p := extParser{s: v}
		for more := true; more; {
			var parsed bool
			if parsed, more = p.next(&e); !parsed {
				continue
			}
			if offer, ok = ParseDeflateOffer(&e); ok {
				return offer, true
			}
		}
	}
	return DeflateOffer{}, false
}

// WindowBits is the LZ77 window the server's messages must keep to under
// the offer: its server_max_window_bits, or MaxWindowBits.
func (o DeflateOffer) WindowBits() uint8 {
	if o.ServerMaxWindowBits != 0 {
		return o.ServerMaxWindowBits
	}
	return MaxWindowBits
}

// deflateResponses are the Sec-WebSocket-Extensions values accepting an
// offer, by its server_max_window_bits: built once, so that a handshake
// does not build one.
var deflateResponses = func() (r [MaxWindowBits + 1]string) {
	// RFC 7692 section 7.1.1.1: the server may answer
	// server_no_context_takeover even when the offer did not ask for it.
	// Section 7.1.1.2: it may answer client_no_context_takeover whether
	// or not the offer had it, and the client must then not keep its
	// context either. Neither side keeps LZ77 state between messages, so
	// an idle connection holds no compressor and no decompressor.
	const base = DeflateExtension + "; " + paramServerNoContext + "; " + paramClientNoContext
	r[0] = base
	for bits := 8; bits <= MaxWindowBits; bits++ {
		// Section 7.1.2.1: an offer's server_max_window_bits is
		// accepted by answering it with a value no larger.
		r[bits] = base + "; " + paramServerMaxWindow + "=" + strconv.Itoa(bits)
	}
	return r
}()

// DeflateResponse is the Sec-WebSocket-Extensions value that accepts the
// offer NegotiateDeflate chose.
func DeflateResponse(o DeflateOffer) string {
	return deflateResponses[o.ServerMaxWindowBits&0xf]
}
