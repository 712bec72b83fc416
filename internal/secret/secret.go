// Package secret checks the cluster secret, the one check shared by the
// register and the peer RPC.
package secret

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Hash is the cluster secret as a server keeps it. Candidates are hashed
// before the comparison so that it takes the same time whatever their
// length (subtle.ConstantTimeCompare returns early on a length mismatch),
// and in constant time so that a wrong secret reveals nothing of the right
// one.
type Hash [sha256.Size]byte

// Of hashes the cluster secret.
func Of(secret string) Hash { return sha256.Sum256([]byte(secret)) }

// Matches reports whether candidate is the secret h was made of.
func (h *Hash) Matches(candidate string) bool {
	c := sha256.Sum256([]byte(candidate))
	return subtle.ConstantTimeCompare(c[:], h[:]) == 1
}
