package ratchet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/wire"
)

// seeded returns a deterministic randomness source for a test.
func seeded(seed uint64) *mrand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return mrand.NewChaCha8(s)
}

// newPair returns Alice's and Bob's states as if X3DH gave them root and
// chain: Bob's ratchet key is his signed prekey.
func newPair(t testing.TB, r *mrand.ChaCha8) (alice, bob State) {
	t.Helper()
	aID, _ := identity.GenerateKeyPair(r)
	bID, _ := identity.GenerateKeyPair(r)
	spk, _ := identity.GenerateKeyPair(r)
	aRatchet, _ := identity.GenerateKeyPair(r)
	var root RootKey
	var chain [KeySize]byte
	r.Read(root[:])
	r.Read(chain[:])
	alice, err := NewInitiator(3, aID.Public, bID.Public, root, chain, spk.Public, aRatchet)
	if err != nil {
		t.Fatal(err)
	}
	bob = NewResponder(3, bID.Public, aID.Public, root, chain, spk)
	return alice, bob
}

func encryptT(t testing.TB, s State, pt string) (State, *wire.SignalMessage) {
	t.Helper()
	next, m, err := s.Encrypt([]byte(pt), Header{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Deliver the bytes, not the struct: the receiver parses what arrives.
	parsed, err := wire.ParseSignalMessage(bytes.Clone(m.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return next, parsed
}

func decryptT(t testing.TB, s State, m *wire.SignalMessage, r *mrand.ChaCha8, want string) State {
	t.Helper()
	next, pt, err := s.Decrypt(m, r)
	if err != nil {
		t.Fatalf("decrypt counter %d: %v", m.Counter, err)
	}
	if string(pt) != want {
		t.Fatalf("decrypted %q, want %q", pt, want)
	}
	return next
}

// TestStatesAgree runs a conversation and, after every step, compares the
// sender's sending chain with the receiver's chain for the same ratchet key,
// and the two root keys after each DH step.
func TestStatesAgree(t *testing.T) {
	r := seeded(1)
	alice, bob := newPair(t, r)
	parties := [2]*State{&alice, &bob}
	for round := range 40 {
		from, to := parties[round%2], parties[1-round%2]
		for i := range round%4 + 1 {
			var m *wire.SignalMessage
			*from, m = encryptT(t, *from, fmt.Sprint(round, i))
			*to = decryptT(t, *to, m, r, fmt.Sprint(round, i))
			rc := to.Receivers[to.receiverIndex(from.Sender.RatchetKey.Public)]
			if rc.Chain != from.Sender.Chain {
				t.Fatalf("round %d: receiving chain %v differs from sending chain %v", round, rc.Chain, from.Sender.Chain)
			}
		}
		if round > 0 && from.Root == to.Root {
			t.Fatalf("round %d: receiver's root did not move past the sender's", round)
		}
	}
	// Bob spoke last, so Alice's next message carries a new ratchet key and
	// moves Bob's root; a second one from the same chain does not.
	var m *wire.SignalMessage
	alice, m = encryptT(t, alice, "x")
	rootBefore := bob.Root
	bob = decryptT(t, bob, m, r, "x")
	if bob.Root == rootBefore {
		t.Fatal("a new ratchet key did not move the root")
	}
	alice, m = encryptT(t, alice, "y")
	rootBefore = bob.Root
	bob = decryptT(t, bob, m, r, "y")
	if bob.Root != rootBefore {
		t.Fatal("a known ratchet key moved the root")
	}
}

func TestOutOfOrderWithinAndAcrossChains(t *testing.T) {
	r := seeded(2)
	alice, bob := newPair(t, r)
	var first []*wire.SignalMessage
	for i := range 5 {
		var m *wire.SignalMessage
		alice, m = encryptT(t, alice, fmt.Sprint("a", i))
		first = append(first, m)
	}
	bob = decryptT(t, bob, first[4], r, "a4")
	bob = decryptT(t, bob, first[1], r, "a1")
	// Bob answers; Alice ratchets and sends on a new chain.
	var m *wire.SignalMessage
	bob, m = encryptT(t, bob, "b0")
	alice = decryptT(t, alice, m, r, "b0")
	alice, m = encryptT(t, alice, "a-new")
	if m.PreviousCounter != 4 {
		t.Fatalf("previous counter %d, want 4", m.PreviousCounter)
	}
	bob = decryptT(t, bob, m, r, "a-new")
	// Late messages of the old chain still decrypt, once.
	for _, i := range []int{3, 0, 2} {
		bob = decryptT(t, bob, first[i], r, fmt.Sprint("a", i))
	}
	if _, _, err := bob.Decrypt(first[2], r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay: %v, want ErrDuplicate", err)
	}
}

// advance moves a sending chain forward by n messages without sending them.
func advance(s State, n int) State {
	for range n {
		s.Sender.Chain, _ = KDFCK(s.Sender.Chain)
	}
	return s
}

func TestMaxForwardJumps(t *testing.T) {
	r := seeded(3)
	alice, bob := newPair(t, r)
	_, far := encryptT(t, advance(alice, MaxForwardJumps+1), "too far")
	before := bob.Clone()
	if _, _, err := bob.Decrypt(far, r); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("jump of %d: %v, want ErrInvalidMessage", MaxForwardJumps+1, err)
	}
	if !reflect.DeepEqual(before, bob) {
		t.Fatal("refused message changed the state")
	}
	alice, edge := encryptT(t, advance(alice, MaxForwardJumps), "edge")
	bob = decryptT(t, bob, edge, r, "edge")
	if n := len(bob.Receivers[0].Skipped); n != MaxSkippedKeys {
		t.Fatalf("%d skipped keys stored, want %d", n, MaxSkippedKeys)
	}
	_ = alice
}

func TestSkippedKeyEviction(t *testing.T) {
	r := seeded(4)
	alice, bob := newPair(t, r)
	var msgs []*wire.SignalMessage
	for i := range MaxSkippedKeys + 501 {
		var m *wire.SignalMessage
		alice, m = encryptT(t, alice, fmt.Sprint(i))
		msgs = append(msgs, m)
	}
	last := len(msgs) - 1
	bob = decryptT(t, bob, msgs[last], r, fmt.Sprint(last))
	// The oldest 500 keys were evicted; the rest remain.
	if _, _, err := bob.Decrypt(msgs[0], r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("evicted key: %v, want ErrDuplicate", err)
	}
	if _, _, err := bob.Decrypt(msgs[499], r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("evicted key: %v, want ErrDuplicate", err)
	}
	bob = decryptT(t, bob, msgs[500], r, "500")
	bob = decryptT(t, bob, msgs[last-1], r, fmt.Sprint(last-1))
	if n := len(bob.Receivers[0].Skipped); n != MaxSkippedKeys-2 {
		t.Fatalf("%d keys left, want %d", n, MaxSkippedKeys-2)
	}
}

func TestReceiverChainEviction(t *testing.T) {
	r := seeded(5)
	alice, bob := newPair(t, r)
	var m *wire.SignalMessage
	var fromFirstChain *wire.SignalMessage
	for round := range MaxReceiverChains + 1 {
		alice, m = encryptT(t, alice, "a")
		if round == 0 {
			alice, fromFirstChain = encryptT(t, alice, "late")
		}
		bob = decryptT(t, bob, m, r, "a")
		bob, m = encryptT(t, bob, "b")
		alice = decryptT(t, alice, m, r, "b")
	}
	if len(bob.Receivers) != MaxReceiverChains {
		t.Fatalf("%d receiver chains, want %d", len(bob.Receivers), MaxReceiverChains)
	}
	// The first chain is gone: its late message cannot be decrypted.
	if _, _, err := bob.Decrypt(fromFirstChain, r); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("message of an evicted chain: %v, want ErrInvalidMessage", err)
	}
}

// TestTamper flips every bit of a message (but the unauthenticated low
// nibble of the version byte) and checks that each is refused and that the
// state is unchanged; then the genuine message decrypts.
func TestTamper(t *testing.T) {
	r := seeded(6)
	alice, bob := newPair(t, r)
	alice, m := encryptT(t, alice, "the genuine message")
	raw := m.Bytes()
	before := bob.Clone()
	for i := 4; i < len(raw)*8; i++ {
		b := bytes.Clone(raw)
		b[i/8] ^= 1 << (i % 8)
		tm, err := wire.ParseSignalMessage(b)
		if err != nil {
			continue // refused by the parser
		}
		if _, _, err := bob.Decrypt(tm, r); err == nil {
			t.Fatalf("bit %d flipped: accepted", i)
		}
	}
	if !reflect.DeepEqual(before, bob) {
		t.Fatal("tampered messages changed the state")
	}
	// Associated data: the identities are bound into the MAC.
	wrongAD := bob
	wrongAD.RemoteIdentity[0] ^= 1
	if _, _, err := wrongAD.Decrypt(m, r); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("wrong remote identity: %v", err)
	}
	decryptT(t, bob, m, r, "the genuine message")
}

func TestDecryptLeavesReceiverUnchanged(t *testing.T) {
	r := seeded(7)
	alice, bob := newPair(t, r)
	var msgs []*wire.SignalMessage
	for i := range 4 {
		var m *wire.SignalMessage
		alice, m = encryptT(t, alice, fmt.Sprint(i))
		msgs = append(msgs, m)
	}
	bob = decryptT(t, bob, msgs[3], r, "3")
	before := bob.Clone()
	_ = decryptT(t, bob, msgs[1], r, "1")
	if !reflect.DeepEqual(before, bob) {
		t.Fatal("Decrypt changed the state it was called on")
	}
}

func TestVersionMismatchRefused(t *testing.T) {
	r := seeded(8)
	alice, bob := newPair(t, r)
	alice.Version = 4
	_, m := encryptT(t, alice, "v4")
	if _, _, err := bob.Decrypt(m, r); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("version 4 message in a version 3 session: %v", err)
	}
}

func TestLowOrderRatchetKeyRefused(t *testing.T) {
	r := seeded(9)
	alice, bob := newPair(t, r)
	alice, m := encryptT(t, alice, "x")
	m.RatchetKey = identity.PublicKey{} // u = 0: low order
	if _, _, err := bob.Decrypt(m, r); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("low-order ratchet key: %v", err)
	}
	_ = alice
}

func TestSecretsRedacted(t *testing.T) {
	r := seeded(10)
	alice, _ := newPair(t, r)
	secret := fmt.Sprintf("%x", alice.Root[:8])
	chain := fmt.Sprintf("%x", alice.Sender.Chain.Key[:8])
	priv := fmt.Sprintf("%x", alice.Sender.RatchetKey.Private[:8])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for _, v := range []any{alice, alice.Root, alice.Sender.Chain, MessageSeed{1}, MessageKeys{}} {
			out := fmt.Sprintf(verb, v)
			for _, s := range []string{secret, chain, priv} {
				if strings.Contains(out, s) {
					t.Errorf("%s of %T leaks a secret: %s", verb, v, out)
				}
			}
		}
	}
}

func TestPaddingChecked(t *testing.T) {
	var mk MessageKeys
	rand.Read(mk.CipherKey[:])
	for n := range 40 {
		pt := bytes.Repeat([]byte{'p'}, n)
		ct := encrypt(&mk, pt)
		if len(ct)%16 != 0 || len(ct) <= n {
			t.Fatalf("ciphertext of %d bytes for %d", len(ct), n)
		}
		got, err := decrypt(&mk, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
	}
	if _, err := decrypt(&mk, nil); err == nil {
		t.Fatal("empty ciphertext accepted")
	}
	if _, err := decrypt(&mk, make([]byte, 17)); err == nil {
		t.Fatal("17-byte ciphertext accepted")
	}
}

// TestSkippedKeysBranch decrypts skipped messages along random branches
// from shared states: using the oldest, newest or a middle skipped key
// must never change a state another branch still holds, and every branch
// must decrypt what is left to it and refuse what it already used.
func TestSkippedKeysBranch(t *testing.T) {
	for seed := range uint64(20) {
		r := seeded(100 + seed)
		pick := mrand.New(mrand.NewPCG(seed, 1))
		alice, bob := newPair(t, r)
		const n = 12
		var msgs []*wire.SignalMessage
		for i := range n {
			var m *wire.SignalMessage
			alice, m = encryptT(t, alice, fmt.Sprint(i))
			msgs = append(msgs, m)
		}
		bob = decryptT(t, bob, msgs[n-1], r, fmt.Sprint(n-1))
		type branch struct {
			st, snapshot State
			left         []int
		}
		all := make([]int, n-1)
		for i := range all {
			all[i] = i
		}
		branches := []branch{{bob, bob.Clone(), all}}
		for range 60 {
			b := branches[pick.IntN(len(branches))]
			if len(b.left) == 0 {
				continue
			}
			var k int // the oldest, the newest or any remaining skipped key
			switch pick.IntN(3) {
			case 0:
				k = 0
			case 1:
				k = len(b.left) - 1
			default:
				k = pick.IntN(len(b.left))
			}
			next := decryptT(t, b.st, msgs[b.left[k]], r, fmt.Sprint(b.left[k]))
			if _, _, err := next.Decrypt(msgs[b.left[k]], r); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("seed %d: a used skipped key decrypted again: %v", seed, err)
			}
			left := append(append([]int(nil), b.left[:k]...), b.left[k+1:]...)
			branches = append(branches, branch{next, next.Clone(), left})
		}
		for _, b := range branches {
			if !reflect.DeepEqual(b.st, b.snapshot) {
				t.Fatalf("seed %d: a later Decrypt changed a state held by another branch", seed)
			}
			st := b.st
			for _, i := range b.left {
				st = decryptT(t, st, msgs[i], r, fmt.Sprint(i))
			}
		}
	}
}
