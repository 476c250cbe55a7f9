package session

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// kyberBundle is bundle plus a signed Kyber prekey, one-time or last
// resort, kept in the store.
func (p *party) kyberBundle(t testing.TB, oneTime, lastResort bool) *x3dh.Bundle {
	t.Helper()
	b := p.bundle(t, oneTime)
	ik, _, _ := p.store.LocalIdentity()
	id := 1000 + p.nextID
	p.nextID++
	kpk, err := kem.GeneratePreKey(p.cipher.Rand, ik, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.store.AddKyberPreKey(kpk, lastResort)
	b.KyberPreKey = &x3dh.KyberPreKey{ID: kpk.ID, Key: kpk.KeyPair.Public, Signature: kpk.Signature}
	return b
}

func mustVersion(t *testing.T, p, remote *party, want int) {
	t.Helper()
	v, ok, err := p.cipher.SessionVersion(remote.addr)
	if err != nil || !ok || v != want {
		t.Fatalf("%s's session with %s: version %d, exists %t, err %v; want version %d", p.addr.Name, remote.addr.Name, v, ok, err, want)
	}
}

// mustPreKeyMessage parses a message as a version-4 PreKeySignalMessage
// naming the Kyber prekey of b.
func mustPreKeyMessage(t *testing.T, m sent, b *x3dh.Bundle) *wire.PreKeySignalMessage {
	t.Helper()
	if m.typ != wire.TypePreKey {
		t.Fatalf("type %d, want a prekey message", m.typ)
	}
	pm, err := wire.ParsePreKeySignalMessage(m.ct)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Version != 0x44 || pm.Message.Version != 0x44 {
		t.Fatalf("version bytes %#02x / %#02x, want 0x44", pm.Version, pm.Message.Version)
	}
	if pm.KyberPreKeyID != b.KyberPreKey.ID || len(pm.KyberCiphertext) != kem.SerializedCiphertextSize || pm.KyberCiphertext[0] != kem.KeyTypeKyber1024 {
		t.Fatalf("kyber prekey %d with a %d-byte ciphertext, want %d and 1569 bytes", pm.KyberPreKeyID, len(pm.KyberCiphertext), b.KyberPreKey.ID)
	}
	return pm
}

// TestPQXDHConversation: a bundle with a Kyber prekey gives version-4
// sessions on both sides, with or without a one-time EC prekey, whichever
// side initiates; prekey messages carry the Kyber fields until the first
// reply, and both used one-time prekeys are gone afterwards.
func TestPQXDHConversation(t *testing.T) {
	for _, oneTime := range []bool{true, false} {
		for _, bobInitiates := range []bool{false, true} {
			t.Run(fmt.Sprintf("one-time=%t/bob-initiates=%t", oneTime, bobInitiates), func(t *testing.T) {
				t.Parallel()
				a, b := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
				if bobInitiates {
					a, b = b, a
				}
				bundle := b.kyberBundle(t, oneTime, false)
				if err := a.cipher.ProcessBundle(b.addr, bundle); err != nil {
					t.Fatal(err)
				}
				mustVersion(t, a, b, 4)
				first := a.send(t, b, []byte("hello over PQXDH"))
				pm := mustPreKeyMessage(t, first, bundle)
				if pm.HasPreKeyID != oneTime {
					t.Fatalf("one-time prekey id present %t, want %t", pm.HasPreKeyID, oneTime)
				}
				second := a.send(t, b, []byte("still unanswered"))
				mustPreKeyMessage(t, second, bundle)
				b.recv(t, a, first)
				mustVersion(t, b, a, 4)
				if _, ok, _ := b.store.KyberPreKey(bundle.KyberPreKey.ID); ok {
					t.Fatal("one-time Kyber prekey kept after use")
				}
				if _, ok, _ := b.store.PreKey(1); ok && oneTime {
					t.Fatal("one-time EC prekey kept after use")
				}
				// The second prekey message finds its session by base key:
				// the Kyber prekey is gone and not needed.
				b.recv(t, a, second)
				reply := b.send(t, a, []byte("hello back"))
				if reply.typ != wire.TypeSignal || reply.ct[0] != 0x44 {
					t.Fatalf("reply type %d, version %#02x", reply.typ, reply.ct[0])
				}
				a.recv(t, b, reply)
				m := a.send(t, b, []byte("after the reply"))
				if m.typ != wire.TypeSignal || m.ct[0] != 0x44 {
					t.Fatalf("after the reply: type %d, version %#02x", m.typ, m.ct[0])
				}
				b.recv(t, a, m)
				for i := range 12 {
					pt := bytes.Repeat([]byte{byte(i)}, i*41)
					if i%3 == 0 {
						b.recv(t, a, a.send(t, b, pt))
					} else {
						a.recv(t, b, b.send(t, a, pt))
					}
				}
				mustVersion(t, a, b, 4)
				mustVersion(t, b, a, 4)
			})
		}
	}
}

// TestLastResortKyberPreKeyReused: two initiators use the same last-resort
// Kyber prekey; both sessions start and the key stays.
func TestLastResortKyberPreKeyReused(t *testing.T) {
	bob := newParty(t, "bob", rand.Reader)
	b := bob.kyberBundle(t, false, true)
	for _, name := range []string{"alice", "carol"} {
		p := newParty(t, name, rand.Reader)
		if err := p.cipher.ProcessBundle(bob.addr, b); err != nil {
			t.Fatal(err)
		}
		bob.recv(t, p, p.send(t, bob, []byte("hi from "+name)))
		p.recv(t, bob, bob.send(t, p, []byte("hi "+name)))
		mustVersion(t, bob, p, 4)
		if _, ok, _ := bob.store.KyberPreKey(b.KyberPreKey.ID); !ok {
			t.Fatalf("last-resort Kyber prekey deleted after %s used it", name)
		}
	}
}

// storeView is what a refused message must leave unchanged: every record
// and the prekeys it could have consumed.
type storeView struct {
	records map[Address][]byte
	prekeys []bool
}

func viewStore(t *testing.T, p *party, preKeyIDs, kyberIDs []uint32) storeView {
	t.Helper()
	v := storeView{records: map[Address][]byte{}}
	for addr, rec := range p.store.Snapshot() {
		v.records[addr] = mustMarshal(t, rec)
	}
	for _, id := range preKeyIDs {
		_, ok, _ := p.store.PreKey(id)
		v.prekeys = append(v.prekeys, ok)
	}
	for _, id := range kyberIDs {
		_, ok, _ := p.store.KyberPreKey(id)
		v.prekeys = append(v.prekeys, ok)
	}
	return v
}

func (v storeView) equal(o storeView) bool {
	if len(v.records) != len(o.records) || !slices.Equal(v.prekeys, o.prekeys) {
		return false
	}
	for addr, b := range v.records {
		if !bytes.Equal(b, o.records[addr]) {
			return false
		}
	}
	return true
}

// TestOneTimeKyberPreKeyRefusedOnReuse: a one-time Kyber prekey serves one
// session; a second initiator naming it gets ErrInvalidPreKeyID and
// changes nothing, and the first session goes on.
func TestOneTimeKyberPreKeyRefusedOnReuse(t *testing.T) {
	bob := newParty(t, "bob", rand.Reader)
	b := bob.kyberBundle(t, false, false)
	alice, mallory := newParty(t, "alice", rand.Reader), newParty(t, "mallory", rand.Reader)
	for _, p := range []*party{alice, mallory} {
		if err := p.cipher.ProcessBundle(bob.addr, b); err != nil {
			t.Fatal(err)
		}
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("first")))
	m := mallory.send(t, bob, []byte("second use"))
	before := viewStore(t, bob, nil, []uint32{b.KyberPreKey.ID})
	if _, err := bob.cipher.Decrypt(mallory.addr, m.typ, m.ct); !errors.Is(err, ErrInvalidPreKeyID) {
		t.Fatalf("reused one-time Kyber prekey: %v, want ErrInvalidPreKeyID", err)
	}
	if !before.equal(viewStore(t, bob, nil, []uint32{b.KyberPreKey.ID})) {
		t.Fatal("refused prekey message changed the store")
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("still fine")))
}

// reencode changes a PreKeySignalMessage with f and serializes it again
// (the embedded SignalMessage keeps its bytes and MAC).
func reencode(t *testing.T, ct []byte, f func(pm *wire.PreKeySignalMessage)) []byte {
	t.Helper()
	pm, err := wire.ParsePreKeySignalMessage(ct)
	if err != nil {
		t.Fatal(err)
	}
	pm.KyberCiphertext = bytes.Clone(pm.KyberCiphertext)
	f(pm)
	return pm.Encode()
}

// TestBadKyberFieldsChangeNothing: every malformed or tampered Kyber field
// of a first message is refused with the typed error, leaves the store as
// it was (records, the one-time EC and Kyber prekeys), and the genuine
// message decrypts afterwards.
func TestBadKyberFieldsChangeNothing(t *testing.T) {
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	b := bob.kyberBundle(t, true, false)
	if err := alice.cipher.ProcessBundle(bob.addr, b); err != nil {
		t.Fatal(err)
	}
	m := alice.send(t, bob, []byte("genuine"))
	flip := func(bit int) func(*wire.PreKeySignalMessage) {
		return func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext[bit/8] ^= 1 << (bit % 8) }
	}
	cases := []struct {
		name string
		ct   []byte
		want error
	}{
		{"ciphertext first data bit", reencode(t, m.ct, flip(8)), ErrInvalidMessage},
		{"ciphertext middle bit", reencode(t, m.ct, flip(8*800+3)), ErrInvalidMessage},
		{"ciphertext last bit", reencode(t, m.ct, flip(8*kem.SerializedCiphertextSize-1)), ErrInvalidMessage},
		{"type byte 0x0A (ML-KEM-1024)", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext[0] = 0x0A }), ErrInvalidMessage},
		{"type byte 0x07 (Kyber768)", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext[0] = 0x07 }), ErrInvalidMessage},
		{"type byte 0x05 (EC)", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext[0] = 0x05 }), ErrInvalidMessage},
		{"one byte short", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) {
			pm.KyberCiphertext = pm.KyberCiphertext[:kem.SerializedCiphertextSize-1]
		}), ErrInvalidMessage},
		{"one byte long", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext = append(pm.KyberCiphertext, 0) }), ErrInvalidMessage},
		{"empty ciphertext", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext = []byte{} }), ErrInvalidMessage},
		{"unknown kyber id", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberPreKeyID++ }), ErrInvalidPreKeyID},
		{"version 4 without kyber fields", reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) { pm.KyberCiphertext = nil }), ErrInvalidMessage},
	}
	before := viewStore(t, bob, []uint32{b.PreKey.ID}, []uint32{b.KyberPreKey.ID})
	for _, tc := range cases {
		if _, err := bob.cipher.Decrypt(alice.addr, wire.TypePreKey, tc.ct); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if !before.equal(viewStore(t, bob, []uint32{b.PreKey.ID}, []uint32{b.KyberPreKey.ID})) {
			t.Fatalf("%s: the store changed", tc.name)
		}
	}
	bob.recv(t, alice, m)
	mustVersion(t, bob, alice, 4)
}

// TestVersion3WithKyberFieldsRefused: an X3DH prekey message that carries
// Kyber fields is malformed.
func TestVersion3WithKyberFieldsRefused(t *testing.T) {
	alice, bob := pair(t, true)
	m := alice.send(t, bob, []byte("v3"))
	kb := bob.kyberBundle(t, false, false)
	ct, _, err := kb.KyberPreKey.Key.Encapsulate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad := reencode(t, m.ct, func(pm *wire.PreKeySignalMessage) {
		pm.KyberPreKeyID, pm.KyberCiphertext = kb.KyberPreKey.ID, ct.Bytes()
	})
	before := viewStore(t, bob, []uint32{1}, []uint32{kb.KyberPreKey.ID})
	if _, err := bob.cipher.Decrypt(alice.addr, wire.TypePreKey, bad); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("version 3 with kyber fields: %v, want ErrInvalidMessage", err)
	}
	if !before.equal(viewStore(t, bob, []uint32{1}, []uint32{kb.KyberPreKey.ID})) {
		t.Fatal("the store changed")
	}
	bob.recv(t, alice, m)
	mustVersion(t, bob, alice, 3)
}

// countingStore counts commits and keeps the last.
type countingStore struct {
	*MemoryStore
	commits []Commit
}

func (s *countingStore) Commit(c Commit) error {
	s.commits = append(s.commits, c)
	return s.MemoryStore.Commit(c)
}

// TestPQXDHResponseIsOneCommit: the new session, the trusted identity and
// both used one-time prekeys go to the store in a single Commit.
func TestPQXDHResponseIsOneCommit(t *testing.T) {
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	b := bob.kyberBundle(t, true, false)
	if err := alice.cipher.ProcessBundle(bob.addr, b); err != nil {
		t.Fatal(err)
	}
	m := alice.send(t, bob, []byte("one commit"))
	cs := &countingStore{MemoryStore: bob.store}
	bob.cipher.Store = cs
	bob.recv(t, alice, m)
	if len(cs.commits) != 1 {
		t.Fatalf("%d commits, want 1", len(cs.commits))
	}
	c := cs.commits[0]
	if !c.HasUsedPreKey || c.UsedPreKey != b.PreKey.ID || !c.HasUsedKyberPreKey || c.UsedKyberPreKey != b.KyberPreKey.ID {
		t.Fatalf("commit uses prekey %d (%t) and kyber prekey %d (%t)", c.UsedPreKey, c.HasUsedPreKey, c.UsedKyberPreKey, c.HasUsedKyberPreKey)
	}
	if c.Record.Current == nil || c.Record.Current.Ratchet.Version != 4 {
		t.Fatal("commit without a version-4 session")
	}
}

// TestRecordRoundTripVersion4: both sides' version-4 records survive
// MarshalRecord/UnmarshalRecord, the initiator's pending Kyber fields
// included, and the sessions continue from the restored records.
func TestRecordRoundTripVersion4(t *testing.T) {
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	b := bob.kyberBundle(t, true, false)
	if err := alice.cipher.ProcessBundle(bob.addr, b); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := alice.store.Record(bob.addr)
	p := rec.Current.Pending
	if p == nil || !p.HasKyber || p.KyberPreKeyID != b.KyberPreKey.ID || len(p.KyberCiphertext) != kem.SerializedCiphertextSize {
		t.Fatalf("pending prekey: %+v", p)
	}
	replaceRecord(t, alice, bob, roundTrip(t, rec))
	m := alice.send(t, bob, []byte("from a restored record"))
	mustPreKeyMessage(t, m, b)
	bob.recv(t, alice, m)
	rec, _, _ = bob.store.Record(alice.addr)
	replaceRecord(t, bob, alice, roundTrip(t, rec))
	alice.recv(t, bob, bob.send(t, alice, []byte("answer")))
	rec, _, _ = alice.store.Record(bob.addr)
	if rec.Current.Pending != nil {
		t.Fatal("pending prekey kept after the reply")
	}
	replaceRecord(t, alice, bob, roundTrip(t, rec))
	bob.recv(t, alice, alice.send(t, bob, []byte("and on")))
	mustVersion(t, alice, bob, 4)
}

// TestUnmarshalRecordRefusesBadPendingKyber: a stored pending ciphertext
// must be what was sent: 0x08 and 1568 bytes.
func TestUnmarshalRecordRefusesBadPendingKyber(t *testing.T) {
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.kyberBundle(t, false, false)); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := alice.store.Record(bob.addr)
	for name, mutate := range map[string]func(p *PendingPreKey){
		"type byte 0x0A": func(p *PendingPreKey) { p.KyberCiphertext[0] = 0x0A },
		"truncated":      func(p *PendingPreKey) { p.KyberCiphertext = p.KyberCiphertext[:100] },
		"missing":        func(p *PendingPreKey) { p.KyberCiphertext = nil },
	} {
		st := *rec.Current
		p := *st.Pending
		p.KyberCiphertext = bytes.Clone(p.KyberCiphertext)
		mutate(&p)
		st.Pending = &p
		if _, err := UnmarshalRecord(mustMarshal(t, Record{Current: &st})); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: %v, want ErrCorruptRecord", name, err)
		}
	}
}

// TestLibsignalPQXDHPreKeyMessage: a PreKeySignalMessage libsignal 0.72.1
// sent from a bundle of known keys (the x3dh package's vectors) decrypts
// through the session layer: the store's Kyber prekey is found by id,
// decapsulates libsignal's ciphertext, the session is version 4, and the
// used one-time keys are gone.
func TestLibsignalPQXDHPreKeyMessage(t *testing.T) {
	for _, name := range []string{"libsignal-pqxdh-as-bob.txt", "libsignal-pqxdh-one-time-as-bob.txt"} {
		t.Run(name, func(t *testing.T) {
			f := testvec.Read(t, "../x3dh/testdata/"+name)
			if f.Expect != "plaintext" {
				t.Fatalf("unknown expect %q", f.Expect)
			}
			id := func(k string) uint32 {
				n, err := strconv.ParseUint(f.Str(t, k), 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				return uint32(n)
			}
			kp := func(k string) identity.KeyPair {
				p, err := identity.NewKeyPair(f.Hex32(t, k))
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			store := NewMemoryStore(identity.IdentityKeyPair{KeyPair: kp("bob_identity_private")}, 77)
			store.AddSignedPreKey(identity.SignedPreKey{ID: id("bob_signed_prekey_id"), KeyPair: kp("bob_signed_prekey_private")})
			if f.Has("bob_prekey_private") {
				store.AddPreKey(identity.PreKey{ID: id("bob_prekey_id"), KeyPair: kp("bob_prekey_private")})
			}
			kyberID := id("bob_kyber_prekey_id")
			store.AddKyberPreKey(kem.PreKey{ID: kyberID, KeyPair: kem.NewKeyPair([kem.SeedSize]byte(f.Hex(t, "bob_kyber_seed")))}, false)
			bob := &Cipher{Store: store, Local: Address{Name: "bob", DeviceID: 1}, Rand: rand.Reader, Now: time.Now}
			alice := Address{Name: "alice", DeviceID: 1}
			pt, err := bob.Decrypt(alice, wire.TypePreKey, f.Hex(t, "prekey_message"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, f.Hex(t, "plaintext")) {
				t.Fatalf("plaintext %q", pt)
			}
			if v, ok, _ := bob.SessionVersion(alice); !ok || v != 4 {
				t.Fatalf("session version %d (%t), want 4", v, ok)
			}
			if _, ok, _ := store.KyberPreKey(kyberID); ok {
				t.Fatal("one-time Kyber prekey kept")
			}
			if f.Has("bob_prekey_private") {
				if _, ok, _ := store.PreKey(id("bob_prekey_id")); ok {
					t.Fatal("one-time prekey kept")
				}
			}
			// The answer is a version-4 SignalMessage.
			typ, ct, err := bob.Encrypt(alice, []byte("answer"))
			if err != nil || typ != wire.TypeSignal || ct[0] != 0x44 {
				t.Fatalf("answer: type %d, version %#02x, %v", typ, ct[0], err)
			}
		})
	}
}
