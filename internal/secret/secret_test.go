package secret

import "testing"

func TestMatches(t *testing.T) {
	h := Of("the-cluster-secret")
	for _, c := range []struct {
		candidate string
		want      bool
	}{
		{"the-cluster-secret", true},
		{"the-cluster-secreT", false},
		{"the-cluster-secret ", false}, // a longer candidate with the secret as prefix
		{"the-cluster", false},
		{"", false},
	} {
		if got := h.Matches(c.candidate); got != c.want {
			t.Errorf("Matches(%q) = %v, want %v", c.candidate, got, c.want)
		}
	}
	if empty := Of(""); !empty.Matches("") || empty.Matches("x") {
		t.Error("an empty secret matches only the empty candidate")
	}
}
