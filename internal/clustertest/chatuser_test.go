package clustertest

import (
	"testing"

	"github.com/wsgate/wsgate/internal/apps/chat/chattest"
)

// user is the chat's test client.
type user = chattest.User

// connect connects to the chat node at url without logging in; name is
// for failure messages.
func connect(t testing.TB, url, name string) *user {
	t.Helper()
	return chattest.Connect(t, url, name)
}

// login connects to the chat node at url and logs in as name.
func login(t testing.TB, url, name string) *user {
	t.Helper()
	return chattest.Login(t, url, name)
}
