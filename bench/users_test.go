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

// Every URL's connections spread evenly over every source address, however
// the counts of URLs and sources divide.
func TestSourcesSpreadOverEveryURL(t *testing.T) {
	for _, tc := range []struct{ urls, sources int }{{52, 2}, {10, 20}, {3, 4}, {1, 3}} {
		per := map[[2]int]int{}
		conns := tc.urls * tc.sources * 100
		for k := range conns {
			per[[2]int{k % tc.urls, sourceOf(k, tc.urls, tc.sources)}]++
		}
		if len(per) != tc.urls*tc.sources {
			t.Errorf("%d urls, %d sources: %d pairs used, want %d", tc.urls, tc.sources, len(per), tc.urls*tc.sources)
		}
		for pair, n := range per {
			if n != 100 {
				t.Errorf("%d urls, %d sources: pair %v has %d connections, want 100", tc.urls, tc.sources, pair, n)
			}
		}
	}
}
