package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay/client"
)

func TestAddSendReceiveVerify(t *testing.T) {
	url := startRelay(t)
	alice, bob := newUI(t, "alice", url).online(), newUI(t, "bob", url).online()

	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	if s := alice.statusBar(); !strings.Contains(s, "bob · session v4 · unverified") || !strings.Contains(s, "you: alice") {
		t.Fatalf("alice's status bar after /add: %q", s)
	}
	alice.typeLine("hello bob")
	bob.waitScreen("alice  hello bob")
	if !strings.Contains(bob.screen(), "▸ alice") {
		t.Fatalf("bob's first conversation was not opened:\n%s", bob.screen())
	}
	alice.waitScreen("hello bob ✓✓")

	bob.typeLine("hi alice")
	alice.waitScreen("bob    hi alice")
	bob.waitScreen("hi alice ✓✓")

	alice.typeLine("/verify")
	bob.typeLine("/verify")
	alice.waitScreen("same number on bob's screen? (y/n)")
	bob.waitScreen("same number on alice's screen? (y/n)")
	na, nb := alice.safetyNumber(), bob.safetyNumber()
	if na != nb {
		t.Fatalf("safety numbers differ:\nalice %s\nbob   %s", na, nb)
	}
	if alice.contactRecord("bob").Verified {
		t.Fatal("verified before the user confirmed")
	}
	alice.typeLine("y")
	alice.waitScreen("✔ bob is verified")
	if s := alice.statusBar(); !strings.Contains(s, "✔ verified") {
		t.Fatalf("status bar after /verify: %q", s)
	}
	if !alice.contactRecord("bob").Verified {
		t.Fatal("bob not marked verified in the profile")
	}
	alice.typeLine("/whois")
	bobAcct, err := bob.p.Account()
	if err != nil {
		t.Fatal(err)
	}
	hex := bobAcct.Identity.Public.String()
	alice.waitScreen("identity key " + hex[:8] + " " + hex[8:16])
	alice.waitScreen("session version 4 (PQXDH, with the SPQR post-quantum ratchet)")
	alice.waitScreen("verified yes, you compared the safety number")

	bob.typeLine("n")
	bob.waitScreen("not verified: if the numbers differ")
	if bob.contactRecord("alice").Verified || strings.Contains(bob.statusBar(), "✔ verified") {
		t.Fatal("a refused /verify marked the contact verified")
	}
	// Bob, who answered, knows alice's key from her first message.
	bob.typeLine("/whois")
	aliceAcct, err := alice.p.Account()
	if err != nil {
		t.Fatal(err)
	}
	hex = aliceAcct.Identity.Public.String()
	bob.waitScreen("identity key " + hex[:8] + " " + hex[8:16])
	bob.waitScreen("verified no: /verify to compare safety numbers")
}

func TestUnreadCountsAndMarkRead(t *testing.T) {
	url := startRelay(t)
	alice, bob, carol := newUI(t, "alice", url).online(), newUI(t, "bob", url).online(), newUI(t, "carol", url).online()
	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	carol.typeLine("/add alice")
	carol.waitScreen("added alice")
	carol.typeLine("one")
	carol.typeLine("two")
	alice.waitScreen("carol (2)")
	if c := alice.contactRecord("carol"); c.Unread != 2 {
		t.Fatalf("carol's unread count %d, want 2", c.Unread)
	}
	if !strings.Contains(alice.screen(), "▸ bob") {
		t.Fatal("an incoming message switched the open conversation")
	}
	alice.send(tea.KeyMsg{Type: tea.KeyTab})
	alice.waitScreen("carol  two")
	if c := alice.contactRecord("carol"); c.Unread != 0 {
		t.Fatalf("unread count %d after opening the conversation", c.Unread)
	}
	if strings.Contains(alice.screen(), "(2)") {
		t.Fatalf("unread badge still shown:\n%s", alice.screen())
	}
	// A message to the open conversation is read at once.
	carol.typeLine("three")
	alice.waitScreen("carol  three")
	alice.wait("carol read", func() bool { return alice.contactRecord("carol").Unread == 0 })
	_ = bob
}

// reinstall gives name a new identity key on the relay, proven with the
// old one, as a reinstalled client does; it returns the new user.
func reinstall(t *testing.T, old *ui, url string) *ui {
	t.Helper()
	nu := newUI(t, old.name, url)
	oldAcct, err := old.p.Account()
	if err != nil {
		t.Fatal(err)
	}
	newAcct, err := nu.p.Account()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(t.Context(), url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Register(t.Context(), client.Registration{Name: old.name, DeviceID: messenger.DeviceID,
		RegistrationID: newAcct.RegistrationID, IdentityKey: newAcct.Identity,
		IdentityChange: true, OldIdentityKey: &oldAcct.Identity}); err != nil {
		t.Fatal(err)
	}
	return nu
}

// changedIdentity sets up alice talking with bob, then bob reinstalling
// and writing from his new key.
func changedIdentity(t *testing.T) (alice, bob2 *ui) {
	url := startRelay(t)
	alice, bob := newUI(t, "alice", url).online(), newUI(t, "bob", url).online()
	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	alice.typeLine("before")
	alice.waitScreen("before ✓✓")

	bob2 = reinstall(t, bob, url).online()
	bob2.typeLine("/add alice")
	bob2.waitScreen("added alice")
	bob2.typeLine("new phone, same bob")
	alice.waitScreen("bob's safety number changed")
	return alice, bob2
}

func TestIdentityChangeBlocksSendingUntilApproved(t *testing.T) {
	alice, bob2 := changedIdentity(t)
	screen := alice.screen()
	if !strings.Contains(alice.statusBar(), "⚠ bob's safety number changed") {
		t.Fatalf("no warning in the status bar: %q", alice.statusBar())
	}
	if !alice.shows("type /approve to trust the new key, or /verify to compare first") {
		t.Fatalf("the warning does not say what to do:\n%s", screen)
	}
	if alice.shows("new phone, same bob") {
		t.Fatal("a message from the unapproved key was shown")
	}
	before, _ := alice.p.History("bob")

	alice.typeLine("to whom?")
	alice.waitScreen("not sent: bob's safety number changed")
	if h, _ := alice.p.History("bob"); len(h) != len(before) {
		t.Fatalf("a refused message was saved: %+v", h)
	}
	if box, _ := alice.p.Outbox(); len(box) != 0 {
		t.Fatalf("a refused message was queued: %+v", box)
	}

	alice.typeLine("/approve")
	alice.waitScreen("you now trust bob's new key")
	alice.waitScreen("bob    new phone, same bob")
	if s := alice.statusBar(); !strings.Contains(s, "unverified") || strings.Contains(s, "⚠") {
		t.Fatalf("status bar after approval: %q", s)
	}
	alice.typeLine("welcome back")
	bob2.waitScreen("alice  welcome back")
	// Never an automatic resend: the refused text never reaches bob.
	time.Sleep(200 * time.Millisecond)
	bob2.pump()
	if h, _ := bob2.p.History("alice"); len(h) != 2 {
		t.Fatalf("bob's new device got %+v, want his message and \"welcome back\"", h)
	}
	if strings.Contains(bob2.screen(), "to whom?") {
		t.Fatal("the refused message was resent")
	}
}

func TestVerifyNewKeyApprovesAndVerifies(t *testing.T) {
	alice, bob2 := changedIdentity(t)
	alice.typeLine("/verify")
	alice.waitScreen("safety number with bob's NEW key (not approved yet):")
	bob2.typeLine("/verify")
	bob2.waitScreen("same number on alice's screen?")
	if a, b := alice.safetyNumber(), bob2.safetyNumber(); a != b {
		t.Fatalf("alice shows %s for bob's new key, bob shows %s", a, b)
	}
	alice.typeLine("y")
	alice.waitScreen("bob's new key is approved and verified")
	c := alice.contactRecord("bob")
	if c.PendingKey != nil || !c.Verified {
		t.Fatalf("after confirming the new key: pending %v verified %v", c.PendingKey, c.Verified)
	}
	alice.waitScreen("bob    new phone, same bob")
	if s := alice.statusBar(); !strings.Contains(s, "✔ verified") {
		t.Fatalf("status bar: %q", s)
	}
}

func TestCommandsOffline(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	if s := alice.statusBar(); !strings.Contains(s, "connecting to ws://127.0.0.1:1") {
		t.Fatalf("status bar before connecting: %q", s)
	}
	alice.typeLine("hello?")
	alice.waitScreen("no conversation is open: type /add NAME first")
	alice.typeLine("/help")
	for _, c := range []string{"/add NAME", "/verify", "/approve", "/whois", "/help", "/quit"} {
		if !strings.Contains(alice.screen(), c) {
			t.Errorf("/help does not list %s", c)
		}
	}
	alice.typeLine("/nope")
	alice.waitScreen("unknown command /nope: type /help")
	alice.typeLine("/add Not A Name")
	alice.waitScreen("is not a valid name")
	alice.typeLine("/add alice")
	alice.waitScreen("that is you")
	alice.typeLine("/add bob")
	alice.waitScreen("added bob: not connected")
	alice.typeLine("hi")
	alice.waitScreen("not sent: not connected to the relay")
	alice.typeLine("/verify")
	alice.waitScreen("no safety number yet: not connected to the relay")
	alice.typeLine("/approve")
	alice.waitScreen("nothing to approve")
	alice.typeLine("/whois")
	alice.waitScreen("not known yet")
	alice.waitScreen("you (alice)")
	alice.send(struct{}{}) // a message the model does not know is ignored
	alice.send(EventMsg{Kind: messenger.EventDisconnected, Err: context.DeadlineExceeded})
	alice.waitScreen("disconnected, retrying (context deadline exceeded)")
	alice.typeLine("/quit")
	if !alice.quit {
		t.Fatal("/quit did not quit")
	}
}

func TestStaleLoadIgnored(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	alice.send(loadedMsg{gen: 1000, contacts: []profile.Contact{{Name: "zed"}}, selected: "zed"})
	alice.waitScreen("zed")
	alice.send(loadedMsg{gen: 999, contacts: []profile.Contact{{Name: "old"}}})
	if strings.Contains(alice.screen(), "old") {
		t.Fatal("an older load replaced a newer one")
	}
}

func TestIdentityWarningShownOnce(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	var key identity.PublicKey
	key[0] = 9
	if err := alice.p.UpdateContact("bob", func(c *profile.Contact) { c.PendingKey = &key }); err != nil {
		t.Fatal(err)
	}
	// The relay's notice and the held message both report the change.
	alice.send(EventMsg{Kind: messenger.EventIdentityChanged, Contact: "bob", Key: key})
	alice.send(EventMsg{Kind: messenger.EventIdentityChanged, Contact: "bob", Key: key})
	warnings := 0
	for _, n := range alice.m.notes["bob"] {
		if n.level == noteWarn {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d warnings for one change", warnings)
	}
	if !strings.Contains(alice.statusBar(), "⚠ bob's safety number changed") || !alice.shows("bob ⚠") {
		t.Fatalf("no warning in the status bar or the contact list:\n%s", alice.screen())
	}
}

func TestVerifyPromptEscAndVerifyYes(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	var key identity.PublicKey
	key[0] = 7
	if err := alice.p.UpdateContact("bob", func(c *profile.Contact) { c.PendingKey = &key }); err != nil {
		t.Fatal(err)
	}
	alice.send(EventMsg{Kind: messenger.EventIdentityChanged, Contact: "bob", Key: key})

	alice.typeLine("/verify")
	alice.waitScreen("same number on bob's screen? (y/n)")
	alice.typeLine("maybe")
	alice.waitScreen("answer y or n (esc cancels)")
	alice.send(tea.KeyMsg{Type: tea.KeyEsc})
	if alice.shows("(y/n)") {
		t.Fatal("esc left the question open")
	}
	if c := alice.contactRecord("bob"); c.PendingKey == nil || c.Verified {
		t.Fatal("a cancelled /verify changed the contact")
	}

	alice.typeLine("/verify yes")
	alice.waitScreen("bob's new key is approved and verified")
	if c := alice.contactRecord("bob"); c.PendingKey != nil || !c.Verified || alice.trusted("bob") != key {
		t.Fatalf("after /verify yes: %+v, trusted key %v", c, alice.trusted("bob"))
	}
	if s := alice.statusBar(); !strings.Contains(s, "✔ verified") {
		t.Fatalf("status bar: %q", s)
	}
}

// Regression: text typed in one burst (as tmux send-keys, a fast typist or
// an unbracketed paste deliver it) that spelled a key name ("end", "home",
// "pgup") was taken as that key and lost.
func TestTypedWordsThatSpellKeysStayText(t *testing.T) {
	url := startRelay(t)
	alice, _ := newUI(t, "alice", url).online(), newUI(t, "bob", url).online()
	alice.typeLine("/add bob")
	alice.waitScreen("added bob")
	for _, text := range []string{"end", "home", "pgup", "up", "tab", "enter", "esc", "ctrl+c", "end to end"} {
		alice.typeLine(text)
	}
	alice.wait("nine messages", func() bool { h, _ := alice.p.History("bob"); return len(h) == 9 })
	h, _ := alice.p.History("bob")
	if h[0].Text != "end" || h[2].Text != "pgup" || h[8].Text != "end to end" {
		t.Fatalf("sent %+v", h)
	}
	if alice.quit {
		t.Fatal("typing ctrl+c as text quit")
	}
}
