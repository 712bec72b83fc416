package bench

import (
	"strings"
	"testing"
)

// Every user gets clients on every target, and a user's query goes after
// the target's own.
func TestUsersSpreadOverTargets(t *testing.T) {
	const urls, users = 3, 4
	seen := map[[2]int]int{}
	for k := range 2 * urls * users {
		seen[[2]int{k % urls, userOf(k, urls, users)}]++
	}
	if len(seen) != urls*users {
		t.Fatalf("%d (url, user) pairs, want %d", len(seen), urls*users)
	}
	for _, raw := range []string{"ws://127.0.0.1:1/ws", "ws://127.0.0.2:2/ws?group=g"} {
		tg, err := ParseTarget(raw)
		if err != nil {
			t.Fatal(err)
		}
		orig := tg.path
		got := asUser(&tg, userName(7)).path
		if want := strings.Replace(orig+"?uid=u7", "?group=g?", "?group=g&", 1); got != want {
			t.Errorf("%s as u7: %q, want %q", raw, got, want)
		}
		if tg.path != orig {
			t.Error("asUser changed the shared target")
		}
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
