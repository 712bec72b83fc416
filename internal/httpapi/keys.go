package httpapi

import (
	"net/http"
	"strings"

	"github.com/wsgate/wsgate/internal/secret"
)

// keys are the API keys the server accepts, each with its own rate limit.
// Several keys let an operator give each backend its own, and rotate one
// without a gap.
type keys struct {
	hashes []secret.Hash
}

func newKeys(list []string) keys {
	k := keys{hashes: make([]secret.Hash, len(list))}
	for i, key := range list {
		k.hashes[i] = secret.Of(key)
	}
	return k
}

// match returns the index of the key the request's "Authorization: Bearer
// <key>" names, or -1. Every key is compared, in constant time, whichever
// matches, so the time taken says nothing of the keys.
func (k keys) match(r *http.Request) int {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return -1
	}
	found := -1
	for i := range k.hashes {
		if k.hashes[i].Matches(key) && found < 0 {
			found = i
		}
	}
	return found
}
