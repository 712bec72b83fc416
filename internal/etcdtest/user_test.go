package etcdtest

import (
	"testing"

	"github.com/wsgate/wsgate/internal/apps/chat/chattest"
)

// user is the chat's test client.
type user = chattest.User

// login connects to the chat node at url and logs in as name.
func login(t testing.TB, url, name string) *user {
	t.Helper()
	return chattest.Login(t, url, name)
}
