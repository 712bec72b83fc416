package wsproto

import "encoding/binary"

// UTF8Validator checks UTF-8 incrementally, so a code point may be split
// across frames or across reads. It rejects at the first byte that cannot
// start or continue a valid sequence (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), which lets a connection fail fast instead of
// buffering the rest of a bad message. The zero value is ready to use.
type UTF8Validator struct {
	need   uint8 // continuation bytes still expected
	lo, hi uint8 // allowed range of the next continuation byte
}

// Write validates p as the continuation of everything written before. It
// returns false once the stream is invalid; after that the validator stays
// invalid until Reset.
func (v *UTF8Validator) Write(p []byte) bool {
	if v.need == 0xff {
		return false
	}
	i := 0
	for i < len(p) {
		if v.need == 0 {
			// ASCII fast path, eight bytes at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			c := p[i]
			i++
			switch {
			case c < 0x80:
			case c >= 0xc2 && c <= 0xdf:
				v.need, v.lo, v.hi = 1, 0x80, 0xbf
			case c == 0xe0:
				v.need, v.lo, v.hi = 2, 0xa0, 0xbf
			case c == 0xed:
				v.need, v.lo, v.hi = 2, 0x80, 0x9f
			case c >= 0xe1 && c <= 0xef:
				v.need, v.lo, v.hi = 2, 0x80, 0xbf
			case c == 0xf0:
				v.need, v.lo, v.hi = 3, 0x90, 0xbf
			case c >= 0xf1 && c <= 0xf3:
				v.need, v.lo, v.hi = 3, 0x80, 0xbf
			case c == 0xf4:
				v.need, v.lo, v.hi = 3, 0x80, 0x8f
			default:
				v.need = 0xff
				return false
			}
			continue
		}
		c := p[i]
		i++
		if c < v.lo || c > v.hi {
			v.need = 0xff
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
	}
	return true
}

// Complete reports whether everything written so far is valid and ends on a
// code point boundary.
func (v *UTF8Validator) Complete() bool { return v.need == 0 }

// Reset makes the validator ready for a new message.
func (v *UTF8Validator) Reset() { *v = UTF8Validator{} }

// ValidUTF8 reports whether p is complete, valid UTF-8.
func ValidUTF8(p []byte) bool {
	var v UTF8Validator
	return v.Write(p) && v.Complete()
}
