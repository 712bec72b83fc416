package bench

import (
	"fmt"
	"testing"
)

// Every user gets clients on every target, and connection c keeps the
// target it has without users.
func TestWithUIDsSpreadsUsersOverTargets(t *testing.T) {
	var targets []Target
	for _, u := range []string{"ws://127.0.0.1:1/ws", "ws://127.0.0.2:2/ws?group=g"} {
		tg, err := ParseTarget(u)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	const users = 3
	got := withUIDs(targets, users)
	if len(got) != len(targets)*users {
		t.Fatalf("%d targets, want %d", len(got), len(targets)*users)
	}
	seen := map[string]bool{}
	for c := range 2 * len(got) {
		tg := got[c%len(got)]
		if tg.URL != targets[c%len(targets)].URL {
			t.Fatalf("connection %d goes to %s, want %s", c, tg.URL, targets[c%len(targets)].URL)
		}
		seen[tg.path] = true
	}
	for u := range users {
		for _, want := range []string{"/ws?uid=" + userName(u), "/ws?group=g&uid=" + userName(u)} {
			if !seen[want] {
				t.Errorf("no connection dials %s (have %v)", want, seen)
			}
		}
	}
	if fmt.Sprint(withUIDs(targets, 0)) != fmt.Sprint(targets) {
		t.Error("no users changed the targets")
	}
}
