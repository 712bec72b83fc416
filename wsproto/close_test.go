package wsproto

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidCloseCode(t *testing.T) {
	for code := range 1 << 16 { // every uint16
		c := StatusCode(code)
		want := (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
		if ValidCloseCode(c) != want {
			t.Errorf("ValidCloseCode(%d) = %v", code, !want)
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	cases := []struct {
		p      string
		code   StatusCode
		reason string
		err    error
	}{
		{"", CloseNoStatus, "", nil},
		{"\x03", 0, "", ErrClosePayloadTooShort},
		{"\x03\xe8", 1000, "", nil},
		{"\x03\xe9bye", 1001, "bye", nil},
		{"\x0f\xa0☃", 4000, "☃", nil},
		{"\x03\xed", 0, "", ErrInvalidCloseCode},
		{"\x00\x00", 0, "", ErrInvalidCloseCode},
		{"\x03\xe8\xff", 0, "", ErrInvalidCloseUTF8},
	}
	for _, c := range cases {
		code, reason, err := ParseClosePayload([]byte(c.p))
		if code != c.code || string(reason) != c.reason || err != c.err {
			t.Errorf("%q: %d %q %v", c.p, code, reason, err)
		}
	}
}

func TestAppendClosePayload(t *testing.T) {
	if p := AppendClosePayload(nil, CloseNoStatus, "x"); len(p) != 0 {
		t.Fatalf("1005 sent: %q", p)
	}
	p := AppendClosePayload(nil, CloseTooBig, "big")
	if code, reason, err := ParseClosePayload(p); code != CloseTooBig || string(reason) != "big" || err != nil {
		t.Fatalf("%d %q %v", code, reason, err)
	}
	// Long reasons are cut on a code point boundary to fit a control frame.
	for _, long := range []string{strings.Repeat("a", 200), strings.Repeat("é", 100), strings.Repeat("€", 50), "a" + strings.Repeat("𝄞", 40)} {
		p := AppendClosePayload([]byte("prefix"), CloseGoingAway, long)[len("prefix"):]
		if len(p) > MaxControlPayload || len(p) < MaxControlPayload-3 {
			t.Fatalf("payload of %d bytes", len(p))
		}
		if !utf8.Valid(p[2:]) || !strings.HasPrefix(long, string(p[2:])) {
			t.Fatalf("reason cut badly: %q", p[2:])
		}
	}
}
