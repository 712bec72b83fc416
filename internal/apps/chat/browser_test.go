package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/poller"
)

// TestChatInBrowser drives the chat page in headless Chromium: two tabs log
// in, which joins them to the lobby, and each sees the other's message; one
// asks who is in the room and whispers to the other, then to someone
// offline. The page is checked at a desktop's width and a phone's, with a
// screenshot of each (written to $WSGATE_SCREENSHOT_DIR when set). It runs
// with the server's compression off, then on: Chromium offers permessage-deflate on every
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

	// The chat's controls, which work only once logged in.
	const controls = `[...document.querySelectorAll(".needs-login input, .needs-login button")]`
	// usable checks that the tab's controls are all enabled, or all
	// disabled.
	usable := func(tab context.Context, who string, want bool) {
		t.Helper()
		wrong, err := chromedp.Run(tab, chromedp.Evaluate[string](controls+
			`.filter((el) => el.disabled === `+fmt.Sprint(want)+`).map((el) => el.id).join(" ")`))
		if err != nil || wrong != "" {
			t.Fatalf("%s: want the controls enabled %v, but not: %q (%v)", who, want, wrong, err)
		}
	}
	enter := func(tab context.Context, name string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state="open"]`)),
		); err != nil {
			t.Fatalf("%s opens the page: %v", name, err)
		}
		usable(tab, name+"'s page before logging in", false)
		// Logging in is all it takes to be in the lobby.
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(`//span[@id="me"][contains(., "logged in as `+name+`")]`),
			chromedp.WaitVisible(`//ul[@id="joined"]/li[.="lobby"]`),
			chromedp.WaitVisible(`//ul[@id="log"]/li[.="[lobby] `+name+` joined"]`),
		); err != nil {
			t.Fatalf("%s logs in and is in the lobby: %v", name, err)
		}
		usable(tab, name+"'s page logged in", true)
		// The client id is at hand for debugging, not in the welcome text.
		title, err := chromedp.Run(tab, chromedp.Evaluate[string](
			`[...document.querySelectorAll("#log li")].find((li) => li.textContent === "welcome, `+name+`")?.title ?? "no welcome line"`))
		if err != nil || !strings.HasPrefix(title, "client id ") {
			t.Fatalf("%s's welcome line has title %q (%v), want the client id", name, title, err)
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
	sees(ann, "ann", "you whisper to bob: a secret")

	// A whisper to someone offline is an error, never shown as sent: the
	// server answers in order, so a confirmation would have come first.
	if err := chromedp.Do(ann,
		chromedp.SetValue(chromedp.ID("to"), "zed"),
		chromedp.SendKeys(chromedp.ID("whisper-text"), "anyone there?"),
		chromedp.Click(chromedp.ID("whisper")),
	); err != nil {
		t.Fatalf("whisper to zed: %v", err)
	}
	sees(ann, "ann", "error: zed is offline")
	if n, err := chromedp.Run(ann, chromedp.Evaluate[int](
		`[...document.querySelectorAll("#log li")].filter((li) => li.textContent.includes("to zed")).length`)); err != nil || n != 0 {
		t.Fatalf("the whisper to zed, who is offline, shows as sent (%d lines, %v)", n, err)
	}

	// Every line carries its local time, HH:MM, shown before it.
	if bad, err := chromedp.Run(ann, chromedp.Evaluate[string](`[...document.querySelectorAll("#log li")].filter((li) =>
		!/^[0-2][0-9]:[0-5][0-9]$/.test(li.dataset.time) ||
		getComputedStyle(li, "::before").content !== '"' + li.dataset.time + '"').map((li) => li.textContent).join(" | ")`)); err != nil || bad != "" {
		t.Fatalf("lines without a time: %q (%v)", bad, err)
	}
	if icon, err := chromedp.Run(ann, chromedp.Evaluate[string](`document.querySelector('link[rel="icon"]')?.href ?? ""`)); err != nil || !strings.HasPrefix(icon, "data:image/svg+xml,") {
		t.Fatalf("favicon %.40q (%v), want one inline, so that the browser asks the server for none", icon, err)
	}

	screenshot(t, ann, "chat-1280.png", chromedp.EmulateViewport(1280, 720))
	screenshot(t, ann, "chat-390.png", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	// At a phone's width nothing scrolls sideways, and every control is
	// within the screen.
	if w, err := chromedp.Run(ann, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 390 {
		t.Fatalf("at 390 px the document is %d px wide (%v)", w, err)
	}
	if off, err := chromedp.Run(ann, chromedp.Evaluate[string](controls+`.filter((el) => {
		const r = el.getBoundingClientRect();
		return r.left < 0 || r.right > innerWidth || r.top < 0 || r.bottom > innerHeight;
	}).map((el) => el.id).join(" ")`)); err != nil || off != "" {
		t.Fatalf("at 390 px, controls off the screen: %q (%v)", off, err)
	}
	if err := chromedp.Do(ann, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}

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
	// Disconnected, the page waits 2 s before it reconnects: time to see
	// its controls off.
	if err := chromedp.Do(bob, chromedp.WaitVisible(chromedp.CSS(`body[data-state="closed"]`))); err != nil {
		t.Fatalf("bob's page never saw its connection close: %v", err)
	}
	usable(bob, "bob's page disconnected", false)
	takeWhenFree(t, connect(t, g), "bob")
	if err := chromedp.Do(bob,
		chromedp.WaitVisible(`//ul[@id="log"]/li[.="error: name bob is taken"]`),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatalf("bob's page after its name was taken: %v", err)
	}
	usable(bob, "bob's page logged out", false)
	if me, err := chromedp.Run(bob, chromedp.Evaluate[string](`document.getElementById("me").textContent`)); err != nil || me != "" {
		t.Fatalf("bob's page refused its name shows %q (%v), want nothing", me, err)
	}
	if err := chromedp.Do(bob,
		chromedp.SetValue(chromedp.ID("name"), "bobby"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(`//span[@id="me"][contains(., "logged in as bobby")]`),
		chromedp.WaitVisible(`//ul[@id="log"]/li[.="[lobby] bobby joined"]`),
	); err != nil {
		t.Fatalf("bob's page after its name was taken: %v", err)
	}
}

// screenshot sizes the tab's viewport and takes a screenshot of it, kept
// as dir/name when WSGATE_SCREENSHOT_DIR names a dir.
func screenshot(t *testing.T, tab context.Context, name string, viewport chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, viewport); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if dir := os.Getenv("WSGATE_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
