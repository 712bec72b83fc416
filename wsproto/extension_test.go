package wsproto

import (
	"strings"
	"testing"
)

// extList is the walk of values as "name;p=v;q" strings, one per element.
func extList(values ...string) []string {
	var out []string
	ForEachExtension(values, func(e *Extension) bool {
		var b strings.Builder
		b.WriteString(e.Name)
		for _, p := range e.Params() {
			b.WriteString(";" + p.Name)
			if p.HasValue {
				b.WriteString("=" + p.Value)
			}
		}
		if e.TooMany {
			b.WriteString(";...")
		}
		out = append(out, b.String())
		return true
	})
	return out
}

func TestForEachExtension(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   string
	}{
		{[]string{"permessage-deflate"}, "permessage-deflate"},
		{[]string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate;client_max_window_bits"},
		{[]string{" a ; x = 1 ;y,b;z=\"10\" , , c"}, "a;x=1;y|b;z=10|c"},
		{[]string{"a", "b;q", ""}, "a|b;q"},
		{[]string{`a;x="1\0"`}, "a;x=10"},
		{[]string{`a;x="1,0",b`}, ""},   // a comma is not a token character
		{[]string{`a;x="10`, "b"}, "b"}, // unterminated quote spoils its field only
		{[]string{"a;x=", "b"}, "b"},    // a value is missing
		{[]string{"a;;x", "b"}, "b"},    // an empty parameter
		{[]string{"a b", "c"}, "c"},     // two tokens in a row
		{[]string{"a, b c, d"}, "a"},    // the walk stops at the error
		{[]string{"a;1;2;3;4;5;6;7;8;9"}, "a;1;2;3;4;5;6;7;8;..."},
		{[]string{`a;x="\"q\""`}, ""},
	} {
		got := strings.Join(extList(tc.values...), "|")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.values, got, tc.want)
		}
	}
}

func TestNegotiateDeflate(t *testing.T) {
	const base = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tc := range []struct {
		values []string
		ok     bool
		bits   uint8 // the window the server keeps to
		resp   string
	}{
		{nil, false, 0, ""},
		{[]string{"x-webkit-deflate-frame"}, false, 0, ""},
		{[]string{"permessage-deflate"}, true, 15, base},
		// What browsers send.
		{[]string{"permessage-deflate; client_max_window_bits"}, true, 15, base},
		{[]string{"Permessage-Deflate; Client_Max_Window_Bits=10"}, true, 15, base},
		{[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, true, 15, base},
		{[]string{"permessage-deflate; server_max_window_bits=10"}, true, 10, base + "; server_max_window_bits=10"},
		{[]string{`permessage-deflate; server_max_window_bits="9"`}, true, 9, base + "; server_max_window_bits=9"},
		{[]string{"permessage-deflate; server_max_window_bits=15"}, true, 15, base + "; server_max_window_bits=15"},
		// Declined offers: a duplicate, an unknown parameter, a bad value,
		// a value where none belongs, a missing one.
		{[]string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, false, 0, ""},
		{[]string{"permessage-deflate; client_max_window_bits; client_max_window_bits=10"}, false, 0, ""},
		{[]string{"permessage-deflate; mux"}, false, 0, ""},
		{[]string{"permessage-deflate; server_max_window_bits=7"}, false, 0, ""},
		{[]string{"permessage-deflate; server_max_window_bits=16"}, false, 0, ""},
		{[]string{"permessage-deflate; server_max_window_bits=010"}, false, 0, ""},
		{[]string{"permessage-deflate; server_max_window_bits"}, false, 0, ""},
		{[]string{"permessage-deflate; client_max_window_bits=1"}, false, 0, ""},
		{[]string{"permessage-deflate; server_no_context_takeover=1"}, false, 0, ""},
		// The first acceptable offer wins, after declined ones.
		{[]string{"permessage-deflate; mux, permessage-deflate; server_max_window_bits=12, permessage-deflate"}, true, 12, base + "; server_max_window_bits=12"},
		{[]string{"foo, permessage-deflate; server_max_window_bits=99", "permessage-deflate"}, true, 15, base},
	} {
		o, ok := NegotiateDeflate(tc.values)
		if ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.values, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if o.WindowBits() != tc.bits {
			t.Errorf("%q: window bits %d, want %d", tc.values, o.WindowBits(), tc.bits)
		}
		if r := DeflateResponse(o); r != tc.resp {
			t.Errorf("%q: response %q, want %q", tc.values, r, tc.resp)
		}
	}
}

func TestNegotiateDeflateAllocs(t *testing.T) {
	values := []string{"permessage-deflate; client_max_window_bits"}
	if n := testing.AllocsPerRun(100, func() { NegotiateDeflate(values) }); n > 0 {
		t.Errorf("NegotiateDeflate allocates %.0f times", n)
	}
}
