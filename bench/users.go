package bench

import (
	"net/url"
	"strconv"
	"strings"
)

// userName is the uid of user i in a run with -uids.
func userName(i int) string { return "u" + strconv.Itoa(i) }

// userNames lists the uids of a run with n users.
func userNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = userName(i)
	}
	return names
}

// withUIDs returns one target per URL and user: entry j is URL j mod
// len(targets) as user j / len(targets), so connection c (which dials
// entry c mod len) goes to the URL it would without users, and every user
// gets clients on every URL. With no users it returns targets.
func withUIDs(targets []Target, users int) []Target {
	if users <= 0 {
		return targets
	}
	out := make([]Target, 0, len(targets)*users)
	for u := range users {
		for _, t := range targets {
			q := url.Values{"uid": {userName(u)}}
			sep := "?"
			if strings.Contains(t.path, "?") {
				sep = "&"
			}
			t.path += sep + q.Encode()
			out = append(out, t)
		}
	}
	return out
}
