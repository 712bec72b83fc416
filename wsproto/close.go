package wsproto

import "encoding/binary"

// ValidCloseCode reports whether code may be sent in a close frame:
// 1000-1003, 1007-1014 and the registered and private range 3000-4999.
// 1004-1006 and 1015 are reserved for local use and never sent on the wire.
func ValidCloseCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClosePayload validates the payload of a close frame and splits it.
// An empty payload yields CloseNoStatus. The reason aliases p.
func ParseClosePayload(p []byte) (code StatusCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, ErrClosePayloadTooShort
	}
	code = StatusCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return 0, nil, ErrInvalidCloseCode
	}
	reason = p[2:]
	if !ValidUTF8(reason) {
		return 0, nil, ErrInvalidCloseUTF8
	}
	return code, reason, nil
}

// AppendClosePayload appends a close payload with code and reason to dst,
// truncating the reason so the payload fits a control frame. A code of
// CloseNoStatus appends nothing, as that code must not be sent.
func AppendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if code == CloseNoStatus || code == 0 {
		return dst
	}
	if len(reason) > MaxControlPayload-2 {
		reason = truncateUTF8(reason, MaxControlPayload-2)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// truncateUTF8 cuts s to at most n bytes without splitting a code point.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
