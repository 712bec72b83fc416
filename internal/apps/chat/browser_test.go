package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/poller"
)

// TestChatInBrowser drives the chat page in headless Chromium: two tabs log
// in, join a room, and each sees the other's message; one asks who is in
// the room and whispers to the other. It runs with the server's
// compression off, then on: Chromium offers permessage-deflate on every
// connection, and with a threshold of one byte every message it gets is
// compressed.
func TestChatInBrowser(t *testing.T) {
	exe := testutil.Chromium(t)
	t.Run("plain", func(t *testing.T) {
		g := startChat(t)
		chatInBrowser(t, exe, g)
		if st := g.Stats(); st.CompressedConns != 0 || st.MessagesDeflated != 0 {
			t.Errorf("compression off, yet %d connections negotiated it and %d messages were compressed", st.CompressedConns, st.MessagesDeflated)
		}
	})
	t.Run("compression", func(t *testing.T) {
		g := startChatWith(t, poller.Options{Compression: true, CompressionThreshold: 1})
		chatInBrowser(t, exe, g)
		if st := g.Stats(); st.CompressedConns < 2 || st.MessagesDeflated == 0 {
			t.Errorf("%d connections negotiated compression and %d messages were compressed; want the browser's every connection and its messages", st.CompressedConns, st.MessagesDeflated)
		}
	})
}

func chatInBrowser(t *testing.T, exe string, g *api.Gateway) {
	page := "http://" + g.Addr().String() + "/"

	ann := testutil.Browser(t, exe, 90*time.Second) // the browser's first tab

	enter := func(tab context.Context, name string) {
		t.Helper()
		err := chromedp.Do(tab,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state="open"]`)),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(`//span[@id="me"][contains(., "logged in as `+name+`")]`),
			chromedp.Click(chromedp.ID("join")),
			chromedp.WaitVisible(`//ul[@id="joined"]/li[.="lobby"]`),
		)
		if err != nil {
			t.Fatalf("%s logs in and joins: %v", name, err)
		}
	}
	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.ID("text"), text),
			chromedp.Click(chromedp.ID("say")),
		); err != nil {
			t.Fatalf("say %q: %v", text, err)
		}
	}
	sees := func(tab context.Context, who, line string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.WaitVisible(`//ul[@id="log"]/li[.="`+line+`"]`),
		); err != nil {
			t.Fatalf("%s never saw %q: %v", who, line, err)
		}
	}

	enter(ann, "ann")                          // starts the browser
	bob, cancelBob := chromedp.NewContext(ann) // a second tab in it
	defer cancelBob()
	enter(bob, "bob")
	sees(ann, "ann", "[lobby] bob joined")

	say(ann, "hello from ann")
	sees(bob, "bob", "[lobby] ann: hello from ann")
	say(bob, "hi ann, bob here")
	sees(ann, "ann", "[lobby] bob: hi ann, bob here")

	if err := chromedp.Do(ann,
		chromedp.Click(chromedp.ID("who")),
		chromedp.WaitVisible(`//ul[@id="members"][li[.="ann"]][li[.="bob"]]`),
		chromedp.SendKeys(chromedp.ID("to"), "bob"),
		chromedp.SendKeys(chromedp.ID("whisper-text"), "a secret"),
		chromedp.Click(chromedp.ID("whisper")),
	); err != nil {
		t.Fatalf("who and whisper: %v", err)
	}
	sees(bob, "bob", "ann whispers: a secret")

	// Texts are shown as text, never parsed as HTML.
	const markup = `<img src=x onerror=document.body.dataset.pwned=1><b>bold</b>`
	say(ann, markup)
	sees(bob, "bob", "[lobby] ann: "+markup)
	elements, err := chromedp.Run(bob, chromedp.Evaluate[int](`document.querySelectorAll("#log li *").length`))
	if err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(bob, chromedp.Evaluate[string](`document.body.dataset.pwned || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if elements != 0 || pwned != "" {
		t.Fatalf("a message became markup: %d elements in the log, pwned %q", elements, pwned)
	}

	// bob's connection drops, and before his page reconnects someone else
	// takes his name: the page's login is refused, and it shows itself
	// logged out, ready for another name.
	ids, err := g.Api().GetClientIDsByUID(ann, "bob")
	if err != nil || len(ids) != 1 {
		t.Fatalf("bob's clients: %v %v", ids, err)
	}
	if err := g.Api().DestroyClient(ann, ids[0]); err != nil {
		t.Fatal(err)
	}
	takeWhenFree(t, connect(t, g), "bob")
	if err := chromedp.Do(bob,
		chromedp.WaitVisible(`//ul[@id="log"]/li[.="error: name bob is taken"]`),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatalf("bob's page after its name was taken: %v", err)
	}
	if me, err := chromedp.Run(bob, chromedp.Evaluate[string](`document.getElementById("me").textContent`)); err != nil || me != "" {
		t.Fatalf("bob's page refused its name shows %q (%v), want nothing", me, err)
	}
	if err := chromedp.Do(bob,
		chromedp.SetValue(chromedp.ID("name"), "bobby"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(`//span[@id="me"][contains(., "logged in as bobby")]`),
	); err != nil {
		t.Fatalf("bob's page after its name was taken: %v", err)
	}
}
