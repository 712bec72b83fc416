package wsproto

import "testing"

func TestOriginAllowed(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		allowed      []string
		want         bool
	}{
		{"", "gw.example.com", nil, true},
		{"https://gw.example.com", "gw.example.com", nil, true},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", nil, true},
		{"HTTPS://GW.example.com", "gw.EXAMPLE.com", nil, true},
		{"https://evil.example", "gw.example.com", nil, false},
		{"http://127.0.0.1:9999", "127.0.0.1:8080", nil, false},
		{"null", "gw.example.com", nil, false},
		{"https://evil.example", "gw.example.com", []string{"*"}, true},
		{"https://app.example.com", "gw.example.com", []string{"app.example.com"}, true},
		{"https://app.example.com", "gw.example.com", []string{"https://app.example.com"}, true},
		{"http://app.example.com", "gw.example.com", []string{"https://app.example.com"}, false},
		{"https://gw.example.com", "gw.example.com", []string{"app.example.com"}, false},
	} {
		if got := OriginAllowed(tc.origin, tc.host, tc.allowed); got != tc.want {
			t.Errorf("OriginAllowed(%q, %q, %q) = %v, want %v", tc.origin, tc.host, tc.allowed, got, tc.want)
		}
	}
}
