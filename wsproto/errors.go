package wsproto

import "strconv"

// ProtocolError is a violation of RFC 6455 by the peer. Code is the close
// code the connection must be failed with.
type ProtocolError struct {
	Code   StatusCode
	Reason string
}

func (e *ProtocolError) Error() string {
	return "websocket: " + e.Reason + " (close " + strconv.Itoa(int(e.Code)) + ")"
}

func protocolError(code StatusCode, reason string) *ProtocolError {
	return &ProtocolError{Code: code, Reason: reason}
}

// Close codes used by this package (RFC 6455 section 7.4.1).
const (
	CloseNormal          StatusCode = 1000
	CloseGoingAway       StatusCode = 1001
	CloseProtocolError   StatusCode = 1002
	CloseUnsupported     StatusCode = 1003
	CloseNoStatus        StatusCode = 1005
	CloseAbnormal        StatusCode = 1006
	CloseInvalidPayload  StatusCode = 1007
	ClosePolicyViolation StatusCode = 1008
	CloseTooBig          StatusCode = 1009
	CloseInternalError   StatusCode = 1011
	CloseTryAgainLater   StatusCode = 1013
)

// ErrInboundBudget is what a Decoder returns when the bytes of a partial
// frame would pass its Budget. The peer broke no rule, but the connection
// must be closed (with its Code, 1013) as for a violation: the stream
// cannot be followed without those bytes.
var ErrInboundBudget = protocolError(CloseTryAgainLater, "inbound memory budget exhausted")

// The protocol violations a decoder reports. They are values so that tests
// and callers can compare them.
var (
	ErrLengthOverflow       = protocolError(CloseProtocolError, "64-bit payload length has its top bit set")
	ErrReservedBits         = protocolError(CloseProtocolError, "reserved bits set without a negotiated extension")
	ErrCompressedFrame      = protocolError(CloseProtocolError, "RSV1 set on a control or continuation frame")
	ErrReservedOpCode       = protocolError(CloseProtocolError, "reserved opcode")
	ErrUnmasked             = protocolError(CloseProtocolError, "client frame is not masked")
	ErrMaskedServer         = protocolError(CloseProtocolError, "server frame is masked")
	ErrControlTooLong       = protocolError(CloseProtocolError, "control frame payload over 125 bytes")
	ErrControlFragmented    = protocolError(CloseProtocolError, "fragmented control frame")
	ErrUnexpectedContinue   = protocolError(CloseProtocolError, "continuation frame without a message in progress")
	ErrExpectedContinue     = protocolError(CloseProtocolError, "new data frame while a fragmented message is in progress")
	ErrFrameTooBig          = protocolError(CloseTooBig, "frame over the size limit")
	ErrMessageTooBig        = protocolError(CloseTooBig, "message over the size limit")
	ErrInvalidUTF8          = protocolError(CloseInvalidPayload, "text is not valid UTF-8")
	ErrInvalidCloseUTF8     = protocolError(CloseInvalidPayload, "close reason is not valid UTF-8")
	ErrClosePayloadTooShort = protocolError(CloseProtocolError, "close payload of 1 byte")
	ErrInvalidCloseCode     = protocolError(CloseProtocolError, "invalid close code")
)
