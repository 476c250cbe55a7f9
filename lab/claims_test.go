package lab

// Each test here checks a claim that a lab prints and docs/labs repeats,
// over several seeds and, for the theft labs, every theft point. The
// docs' own command excerpts are checked in cmd/blindpost (TestLabDocs).

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/x3dh"
)

var claimSeeds = []uint64{1, 2, 3}

// run runs a lab and returns its output.
func run(t *testing.T, f func(*bytes.Buffer) error) string {
	t.Helper()
	var out bytes.Buffer
	if err := f(&out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// mustContain fails unless out contains each line, in order.
func mustContain(t *testing.T, out string, lines ...string) {
	t.Helper()
	rest := out
	for _, l := range lines {
		i := strings.Index(rest, l)
		if i < 0 {
			t.Fatalf("output lacks %q (in order)\n%s", l, out)
		}
		rest = rest[i+len(l):]
	}
}

// Claim (x3dh): both sides compute the same DH1..DH4 and SK; with a
// one-time prekey there are four DH values, without it three.
func TestClaimX3DHAgreement(t *testing.T) {
	for _, seed := range claimSeeds {
		for _, oneTime := range []bool{true, false} {
			c, err := newConversation(seed, oneTime)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.send(c.alice, "m1", "hello")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.deliver(s); err != nil {
				t.Fatal(err)
			}
			a, b := c.x.aliceTrace, c.x.bobTrace
			want := 3
			if oneTime {
				want = 4
			}
			if len(a.DH) != want || len(b.DH) != want {
				t.Fatalf("seed %d: %d and %d DH values, want %d", seed, len(a.DH), len(b.DH), want)
			}
			for i := range a.DH {
				if a.DH[i] != b.DH[i] {
					t.Fatalf("seed %d: DH%d differs", seed, i+1)
				}
			}
			if a.Secrets != b.Secrets {
				t.Fatalf("seed %d: SK differs", seed)
			}
			// The traced run is the untraced one: Initiate gives the same SK.
			sk, err := x3dh.Initiate(c.alice.ik, c.x.ek, &c.x.bundle, nil)
			if err != nil || sk != a.Secrets {
				t.Fatalf("seed %d: Initiate disagrees with InitiateTraced: %v", seed, err)
			}
		}
		out := run(t, func(w *bytes.Buffer) error { return X3DH(w, seed) })
		for i := 1; i <= 4; i++ {
			mustContain(t, out, "equals Alice's DH"+strconv.Itoa(i)+": yes.")
		}
		mustContain(t, out, "check: Bob's SK equals Alice's SK: yes")
	}
}

// Claim (ratchet): every message has its own key, the key printed for a
// message is the one that encrypted it (checked inside the lab against the
// ciphertext and MAC), and the receiver's key equals the sender's.
func TestClaimRatchetKeys(t *testing.T) {
	for _, seed := range claimSeeds {
		c, err := runScript(seed, ratchetScript)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[[32]byte]string{}
		steps := 0
		for _, ev := range c.events {
			if s := ev.send; s != nil {
				if other, dup := seen[s.enc.seed]; dup {
					t.Fatalf("seed %d: %s and %s share a message key", seed, other, s.label)
				}
				seen[s.enc.seed] = s.label
				continue
			}
			r := ev.recv
			if r.dec.seed != r.send.enc.seed {
				t.Fatalf("seed %d: %s decrypted with another key", seed, r.send.label)
			}
			if r.dec.step != nil {
				steps++
			}
		}
		if len(seen) != 6 || steps != 4 {
			t.Fatalf("seed %d: %d keys, %d DH steps; want 6 and 4", seed, len(seen), steps)
		}
		out := run(t, func(w *bytes.Buffer) error { return Ratchet(w, seed) })
		if n := strings.Count(out, "equals the one"); n != 6 || strings.Count(out, ": yes.") != 6 {
			t.Fatalf("seed %d: %d key comparisons printed", seed, n)
		}
		mustContain(t, out, "result: 6 messages, each under its own message key, used once.",
			"result: RatchetInitAlice and 4 DH ratchet steps took the root chain from RK0 to RK5.")
	}
}

// Claims (forward-secrecy, post-compromise), for every theft point:
//   - no message sent before the theft is readable with the stolen state;
//   - the thief reads exactly the messages after the theft and before the
//     lockout, the first message on a ratchet key Bob made after the theft;
//   - the lockout comes after one round trip: it is Bob's first message
//     after Alice's first message on a new ratchet key after the theft.
func TestClaimTheft(t *testing.T) {
	for _, seed := range claimSeeds {
		for k := 1; k < TheftMessages; k++ {
			th, err := runTheft(seed, k)
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range th.tries {
				before := i < k
				locked := th.lockout >= 0 && i >= th.lockout
				switch {
				case before && a.read:
					t.Errorf("seed %d, theft after m%d: %s, sent before the theft, was read", seed, k, a.s.label)
				case !before && !locked && !a.read:
					t.Errorf("seed %d, theft after m%d: %s, before the lockout, was not read: %v", seed, k, a.s.label, a.err)
				case locked && a.read:
					t.Errorf("seed %d, theft after m%d: %s, after the lockout, was read", seed, k, a.s.label)
				}
			}
			if want := roundTrip(th); th.lockout != want {
				t.Errorf("seed %d, theft after m%d: lockout at index %d, one round trip says %d", seed, k, th.lockout, want)
			}
		}
	}
	out := run(t, func(w *bytes.Buffer) error { return ForwardSecrecy(w, Options{Seed: 1}) })
	mustContain(t, out, "result: 0 of 6 messages sent before the theft are readable with Bob's stolen state.")
	out = run(t, func(w *bytes.Buffer) error { return PostCompromise(w, Options{Seed: 1}) })
	mustContain(t, out, "---- m10 is Bob's first message on B3", "result: after the theft the thief read 3 messages; from m10 on it read 0 of 3.")
}

// roundTrip finds Bob's first message after Alice's first message, after
// the theft, on a ratchet key she had not used before it.
func roundTrip(th *theft) int {
	used := map[[32]byte]bool{}
	for _, s := range th.msgs[:th.k] {
		used[s.enc.msg.RatchetKey] = true
	}
	answered := false
	for i := th.k; i < len(th.msgs); i++ {
		s := th.msgs[i]
		if s.from == th.c.alice && !used[s.enc.msg.RatchetKey] {
			answered = true
		}
		if s.from == th.c.bob && answered {
			return i
		}
	}
	return -1
}

// Claims (out-of-order): each genuine message is read once whatever the
// order; replay, tampering and a too-large jump are refused without a
// change of state; a stolen state reads the message whose key is stored.
func TestClaimOutOfOrder(t *testing.T) {
	for _, seed := range claimSeeds {
		out := run(t, func(w *bytes.Buffer) error { return OutOfOrder(w, seed) })
		mustContain(t, out,
			`READ        "Part 3: the team."`,
			"MKSKIPPED   mk(A2,0)*", ", mk(A2,1)*",
			`READ        "Part 1: the plan."`,
			"REFUSED     ratchet: duplicate message",
			"check: the error is ratchet.ErrDuplicate: yes",
			"REFUSED     ratchet: invalid message: bad MAC",
			`READ        "Part 4: the dates."`,
			`READ        "Part 2: the budget."`,
			"MKSKIPPED   (empty)",
			"CANNOT READ m3", `READ        m4   "Part 2: the budget."`, "CANNOT READ m5",
			"REFUSED     ratchet: invalid message: counter 25002 is 25001 ahead",
		)
		if n := strings.Count(out, "READ        \""); n != 4 {
			t.Fatalf("seed %d: Bob read %d messages, want 4", seed, n)
		}
	}
}

// Claims (mitm): without an attacker the safety numbers match; with
// Mallory in the middle she reads and alters, both ends decrypt, and the
// numbers differ; a verified key cannot be replaced, and a bundle cannot
// pair Bob's identity key with another signed prekey.
func TestClaimMITM(t *testing.T) {
	for _, seed := range claimSeeds {
		out := run(t, func(w *bytes.Buffer) error { return MITM(w, seed) })
		mustContain(t, out,
			"MATCH       the two screens show the same 60 digits",
			`READ        Mallory reads "Meet me at 6 at the station."`,
			`ALTERED     Mallory sends on "Meet me at 7 at the station."`,
			`bob   reads    "Meet me at 7 at the station.", from "alice", with a valid MAC`,
			`READ        Mallory reads "OK, 7 it is."`,
			"MISMATCH    the screens differ",
			"REFUSED     Mallory's bundle (IK_M1): session: untrusted identity",
			"REFUSED     IK_B with Mallory's signed prekey: session: process bundle: x3dh: bad signed prekey signature",
		)
		// The two numbers printed in the attack differ, and each half
		// printed in the control run belongs to one party.
		nums := regexp.MustCompile(`screen for \w+:  ([0-9 ]{71})`).FindAllStringSubmatch(out, -1)
		if len(nums) != 4 || nums[0][1] != nums[1][1] || nums[2][1] == nums[3][1] {
			t.Fatalf("seed %d: safety numbers %q", seed, nums)
		}
	}
}

// Claims (prekey-exhaustion): sessions after the one-time prekeys run out
// use three DH values; used one-time prekeys are deleted; a later thief of
// IK_B and SPK_B reads exactly the sessions without one, up to Bob's
// first answer.
func TestClaimPrekeyExhaustion(t *testing.T) {
	for _, seed := range claimSeeds {
		out := run(t, func(w *bytes.Buffer) error { return PrekeyExhaustion(w, seed) })
		mustContain(t, out,
			"alice  gets a bundle with OPK_B #1: DH1..DH4 (4 DH values)",
			"carol  gets a bundle with OPK_B #2: DH1..DH4 (4 DH values)",
			"dave   gets a bundle with OPK_B #3: DH1..DH4 (4 DH values)",
			"erin   gets a bundle with no one-time prekey left: DH1..DH3 only, DH4 absent (3 DH values)",
			"frank  gets a bundle with no one-time prekey left: DH1..DH3 only, DH4 absent (3 DH values)",
			"check: OPK_B #1 is deleted from Bob's store after its use: yes",
			"check: OPK_B #3 is deleted from Bob's store after its use: yes",
			"CANNOT READ alice", "CANNOT READ carol", "CANNOT READ dave",
			`READ        erin   "Hi Bob, this is erin."`, `READ        frank  "Hi Bob, this is frank."`,
			`READ        erin message 1`, `READ        erin message 2`,
			"CANNOT READ Bob's answer", "CANNOT READ erin again",
			"result: the thief reads the start of 2 of 5 sessions",
		)
	}
}

// Claims (provider): no endpoint secret and no plaintext occurs in what
// the relay holds; the search is not vacuous (public values are found);
// the relay's own keys do not decrypt.
func TestClaimProvider(t *testing.T) {
	for _, seed := range claimSeeds {
		c, err := runScript(seed, ratchetScript)
		if err != nil {
			t.Fatal(err)
		}
		view := buildView(c)
		for _, s := range endpointSecrets(c) {
			if view.contains(s.bytes) {
				t.Errorf("seed %d: %s is in the relay's view", seed, s.name)
			}
		}
		for _, ev := range c.events {
			if s := ev.send; s != nil && view.contains([]byte(s.plaintext)) {
				t.Errorf("seed %d: plaintext of %s is in the relay's view", seed, s.label)
			}
		}
		// Control: public values the endpoints sent are found.
		for _, pub := range [][]byte{c.x.ek.Public[:], c.alice.ik.Public[:], c.x.init.ours.Public[:], c.events[0].send.enc.msg.Ciphertext} {
			if !view.contains(pub) {
				t.Fatalf("seed %d: the search misses a public value the relay has", seed)
			}
		}
		// Control: a secret added to the view is found.
		leaky := *view
		leaky.add("leak", false, c.x.spk.KeyPair.Private[:])
		if !leaky.contains(c.x.spk.KeyPair.Private[:]) {
			t.Fatal("the search misses a planted secret")
		}
		bad, err := providerAttempt(seed, c.events[0].send)
		if err != nil || bad == nil {
			t.Fatalf("seed %d: provider attempt: %v, %v", seed, bad, err)
		}
		out := run(t, func(w *bytes.Buffer) error { return Provider(w, seed) })
		mustContain(t, out, "check: none of the 56 secrets occurs in the relay's bytes: yes",
			"check: none of the 6 plaintexts occurs in the relay's bytes: yes",
			"CANNOT READ m1   ratchet: invalid message: bad MAC")
	}
}

// Claims (pqxdh): both sides of PQXDH compute the same DH values, KEM
// secret and SK, and Alice's SK is the KDF over them; every message's SPQR
// key is the same on both sides and salts the message keys (unsalted keys
// fail the MAC); epoch 1 takes 3 header, 30 ct1, 36 key vector and 5 ct2
// chunks, its secret is the same on both sides, and the first keys from it
// come right after; the future attacker with every X25519 key reads
// nothing, and with Alice's first keys too reads exactly the messages
// keyed from SPQR epoch 0.
func TestClaimPQXDH(t *testing.T) {
	for _, seed := range claimSeeds {
		r, err := runPQ(seed)
		if err != nil {
			t.Fatal(err)
		}
		a, b := r.c.x.aliceTrace, r.c.x.bobTrace
		if len(a.DH) != 4 || a.KEM == nil || b.KEM == nil || *a.KEM != *b.KEM || !sameSK(&a.Secrets, &b.Secrets) ||
			a.Secrets.Version != x3dh.SessionVersionPQXDH {
			t.Fatalf("seed %d: PQXDH disagrees", seed)
		}
		for i := range a.DH {
			if a.DH[i] != b.DH[i] {
				t.Fatalf("seed %d: DH%d differs", seed, i+1)
			}
		}
		if again := recomputeSK(a.DH, a.KEM); !sameSK(&again, &a.Secrets) {
			t.Fatalf("seed %d: SK is not KDFPQXDH(F || DH1..DH4 || SS)", seed)
		}
		chunks := map[string]int{}
		firstEpoch1 := 0
		for _, m := range r.msgs {
			e, d := m.s.enc, m.r.dec
			if e.pq.key == nil || d.pq.key == nil || *e.pq.key != *d.pq.key || e.seed != d.seed {
				t.Fatalf("seed %d: %s: keys differ", seed, m.s.label)
			}
			plain := ratchet.DeriveMessageKeys(e.seed, nil)
			if !macVerifies(&e.keys, e.msg, m.s.from.ik.Public, m.s.to.ik.Public) ||
				macVerifies(&plain, e.msg, m.s.from.ik.Public, m.s.to.ik.Public) {
				t.Fatalf("seed %d: %s: the SPQR salt does not decide the MAC", seed, m.s.label)
			}
			in := e.pq.trace.Message
			if in.Epoch == 1 && in.HasChunk {
				chunks[in.Data]++
			}
			if e.pq.trace.KeyEpoch == 1 && firstEpoch1 == 0 {
				firstEpoch1 = m.n
			}
		}
		want := map[string]int{"header": 3, "ct1": 30, "key vector": 36, "ct2": 5}
		for k, n := range want {
			if chunks[k] != n {
				t.Errorf("seed %d: epoch 1 sent %d %s chunks, want %d", seed, chunks[k], k, n)
			}
		}
		if firstEpoch1 != 87 || len(r.c.pq.secrets) != 1 {
			t.Fatalf("seed %d: first message keyed from epoch 1: m%d; %d epochs", seed, firstEpoch1, len(r.c.pq.secrets))
		}
		att := newFutureAttacker(r)
		guess := recomputeSK(a.DH, nil)
		tries, err := att.attack(guess.RootKey, guess.PQRKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range tries {
			if tr.read || tr.seedOK {
				t.Fatalf("seed %d: the attacker without SS got %s", seed, tr.m.s.label)
			}
		}
		tries, err = att.attack(a.Secrets.RootKey, a.Secrets.PQRKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range tries {
			if !tr.seedOK || tr.read != (tr.m.n < firstEpoch1) {
				t.Fatalf("seed %d: the attacker with the first keys: %s read %v", seed, tr.m.s.label, tr.read)
			}
		}
		out := run(t, func(w *bytes.Buffer) error { return PQXDH(w, seed) })
		mustContain(t, out,
			"check: XEdDSA signature of PQOPK_B under IK_B verifies: yes",
			"check: PQOPK_B with one bit flipped is refused: x3dh: bad kyber prekey signature",
			"gives this SK: yes",
			"equals Alice's SS: yes.",
			"check: Bob's RK0, CK0 and PQR equal Alice's: yes",
			"check: the salted keys verify m1's MAC: yes; the unsalted ones fail it: yes",
			"check: the receiver's SPQR key equals the sender's, and the salted keys verify the MAC: yes (90 of 90)",
			"Alice's; equals Bob's: yes.",
			"check: both sides' epoch 1 secrets equal KDFEpochSecret(1, K): yes",
			"check: its DH1..DH4 equal Alice's: yes",
			"result: with every X25519 private key the attacker reads 0 of 90 messages",
			"are the real ones: yes (90 of 90)",
			"---- m87 is the first message keyed from SPQR epoch 1 ----",
			"result: the attacker reads 86 of the first 86 messages; from m87 on, keyed from SPQR epoch 1, it reads 0 of 4.",
		)
	}
}

// TestRandomnessOnlyFromSeed: no file of the labs imports a source of
// randomness or reads the clock; every Generate*, Sign and Decrypt call
// reads a Stream.
func TestRandomnessOnlyFromSeed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("visual/*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			switch p, _ := strconv.Unquote(imp.Path.Value); p {
			case "crypto/rand", "math/rand", "math/rand/v2":
				t.Errorf("%s imports %s: the labs' randomness comes from the seed", f, p)
			}
		}
		if bytes.Contains(src, []byte("time.Now(")) {
			t.Errorf("%s reads the clock: the labs' clock is fixed", f)
		}
	}
}
