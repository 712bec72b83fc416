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

// userOf is the user connection k connects as, with users users and urls
// targets: connection k goes to URL k mod urls, so counting users by
// k / urls gives every user clients on every URL.
func userOf(k, urls, users int) int { return (k / urls) % users }

// asUser returns t with ?uid=name added to its request target. It is made
// per connection, at dial time: a target per URL and user would be
// millions of them in every worker at a million connections.
func asUser(t *Target, name string) *Target {
	u := *t
	sep := "?"
	if strings.Contains(u.path, "?") {
		sep = "&"
	}
	u.path += sep + url.Values{"uid": {name}}.Encode()
	return &u
}
