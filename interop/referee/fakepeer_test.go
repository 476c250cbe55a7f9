package referee

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The fake peer is a stand-in implementation of the peer contract with no
// real cryptography: messages are Signal-shaped (same framing and field
// numbers, a MAC keyed by the session's base key) but not encrypted. It keeps
// the contract's rules (message types, duplicates, one-time prekeys, trust on
// first use), so the honest fake passes every v3 scenario, and each broken
// variant must fail the scenario that checks the rule it breaks. The SPQR
// variants speak version 4 instead: they hand out Kyber prekeys, put SPQR
// data (field 5) whose epoch advances as libsignal's does in every message,
// and add the addresses (field 6) to their type-3 messages when both names
// are UUIDs, as libsignal 0.103.0 does. The test binary runs itself as the
// fake when fakePeerEnv is set.

const fakePeerEnv = "REFEREE_FAKE_PEER"

// Fake variants: each breaks one rule.
const (
	fakeHonest          = "honest"
	fakeAcceptsTampered = "accepts_tampered"   // skips the MAC check
	fakeWrongDuplicate  = "wrong_duplicate"    // reports duplicates as invalid_message
	fakeReusesPreKeys   = "reuses_prekeys"     // never uses up a one-time prekey
	fakeTrustsAnyone    = "trusts_any_key"     // no trust on first use
	fakeBadFingerprint  = "bad_fingerprint"    // swaps local and remote in the scannable form
	fakeNoSkippedKeys   = "drops_out_of_order" // refuses counters below the highest seen
	fakeHangsOnFinger   = "hangs"              // never answers fingerprint

	fakeSPQR         = "spqr"          // version 4, honest
	fakeSlowSPQR     = "slow_spqr"     // version 4, SPQR epochs advance too slowly
	fakeBadSPQR      = "bad_spqr"      // version 4, SPQR data of an unknown version
	fakeBadAddresses = "bad_addresses" // version 4, sender and recipient swapped in the addresses
)

// fakeMessagesPerEpoch is how many messages one side of a strictly
// alternating conversation sends per SPQR epoch with libsignal 0.103.0 (an
// epoch takes 87 messages in all).
const fakeMessagesPerEpoch = 43

// v4 reports whether the fake speaks version 4 (PQXDH and SPQR).
func (f *fake) v4() bool {
	switch f.variant {
	case fakeSPQR, fakeSlowSPQR, fakeBadSPQR, fakeBadAddresses:
		return true
	}
	return false
}

// version is the session version the fake speaks.
func (f *fake) version() byte {
	if f.v4() {
		return 4
	}
	return 3
}

func TestMain(m *testing.M) {
	if v := os.Getenv(fakePeerEnv); v != "" {
		if err := serveFake(v, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fake peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type fakeSession struct {
	bases   [][]byte        // base keys of the session's states, newest last
	current []byte          // base key used for sending
	unacked map[string]bool // bases this side started and has not heard on yet
	preKey  map[string]*uint32
	counter uint64
	highest map[string]uint64 // for drops_out_of_order
}

type fake struct {
	variant  string
	me       Address
	regID    int
	identity []byte
	ratchet  []byte
	nextID   uint32
	preKeys  map[uint32]bool
	trusted  map[string][]byte
	sessions map[string]*fakeSession
	seen     map[string]bool
	quit     bool
}

type fakeRequest struct {
	Op             string          `json:"op"`
	Name           string          `json:"name"`
	DeviceID       int             `json:"device_id"`
	RegistrationID int             `json:"registration_id"`
	OneTimePreKey  bool            `json:"one_time_prekey"`
	Kyber          bool            `json:"kyber"`
	Remote         Address         `json:"remote"`
	Bundle         json.RawMessage `json:"bundle"`
	Plaintext      []byte          `json:"plaintext"`
	Type           int             `json:"type"`
	Ciphertext     []byte          `json:"ciphertext"`
	LocalID        string          `json:"local_id"`
	RemoteID       string          `json:"remote_id"`
	IdentityKey    []byte          `json:"identity_key"`
}

type fakeError struct{ kind, msg string }

func (e *fakeError) Error() string { return e.kind + ": " + e.msg }

func ferr(kind, format string, args ...any) error {
	return &fakeError{kind, fmt.Sprintf(format, args...)}
}

func serveFake(variant string, in io.Reader, out io.Writer) error {
	f := &fake{variant: variant, preKeys: map[uint32]bool{}, trusted: map[string][]byte{},
		sessions: map[string]*fakeSession{}, seen: map[string]bool{}, nextID: 1}
	f.identity, f.ratchet = randomKey(), randomKey()
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, maxReplyLine)
	for !f.quit && sc.Scan() {
		var req fakeRequest
		var reply map[string]any
		err := json.Unmarshal(sc.Bytes(), &req)
		if err == nil {
			reply, err = f.handle(&req)
		}
		if err := writeFakeReply(out, reply, err); err != nil {
			return err
		}
	}
	return sc.Err()
}

func writeFakeReply(out io.Writer, reply map[string]any, err error) error {
	if reply == nil {
		reply = map[string]any{}
	}
	reply["ok"] = err == nil
	if err != nil {
		fe, ok := err.(*fakeError)
		if !ok {
			fe = &fakeError{KindBadRequest, err.Error()}
		}
		reply = map[string]any{"ok": false, "error": map[string]string{"kind": fe.kind, "message": fe.msg}}
	}
	line, merr := json.Marshal(reply)
	if merr != nil {
		return merr
	}
	_, werr := out.Write(append(line, '\n'))
	return werr
}

func randomKey() []byte {
	k := make([]byte, 33)
	rand.Read(k)
	k[0] = 0x05
	return k
}

func (f *fake) handle(q *fakeRequest) (map[string]any, error) {
	switch q.Op {
	case "init":
		f.me, f.regID = Address{q.Name, q.DeviceID}, q.RegistrationID
		return map[string]any{"identity_key": f.identity}, nil
	case "bundle":
		return f.bundle(q)
	case "process_bundle":
		return nil, f.processBundle(q)
	case "encrypt":
		return f.encrypt(q)
	case "decrypt":
		return f.decrypt(q)
	case "session":
		s := f.sessions[q.Remote.String()]
		return map[string]any{"exists": s != nil, "version": f.version()}, nil
	case "fingerprint":
		return f.fingerprint(q)
	case "approve_identity":
		f.trusted[q.Remote.String()] = q.IdentityKey
		return nil, nil
	case "quit":
		f.quit = true
		return nil, nil
	}
	return nil, ferr(KindBadRequest, "unknown op %q", q.Op)
}

func (f *fake) bundle(q *fakeRequest) (map[string]any, error) {
	if q.Kyber != f.v4() {
		return nil, ferr(KindUnsupported, "kyber=%v: this fake speaks version %d only", q.Kyber, f.version())
	}
	b := map[string]any{
		"registration_id": f.regID, "device_id": f.me.DeviceID, "identity_key": f.identity,
		"signed_prekey_id": 1, "signed_prekey": randomKey(), "signed_prekey_signature": make([]byte, 64),
	}
	if q.Kyber {
		kem := make([]byte, 1569)
		kem[0] = 0x08
		b["kyber_prekey_id"], b["kyber_prekey"], b["kyber_prekey_signature"] = f.nextID, kem, make([]byte, 64)
	}
	if q.OneTimePreKey {
		b["prekey_id"], b["prekey"] = f.nextID, randomKey()
		f.preKeys[f.nextID] = true
		f.nextID++
	}
	return map[string]any{"bundle": b}, nil
}

func (f *fake) trust(remote string, key []byte) error {
	if t, ok := f.trusted[remote]; ok && !bytes.Equal(t, key) && f.variant != fakeTrustsAnyone {
		return ferr(KindUntrustedIdentity, "%s changed identity", remote)
	}
	return nil
}

func newFakeSession() *fakeSession {
	return &fakeSession{unacked: map[string]bool{}, preKey: map[string]*uint32{}, highest: map[string]uint64{}}
}

func (f *fake) session(remote string) *fakeSession {
	s := f.sessions[remote]
	if s == nil {
		s = newFakeSession()
		f.sessions[remote] = s
	}
	return s
}

func (f *fake) processBundle(q *fakeRequest) error {
	var b Bundle
	if err := json.Unmarshal(q.Bundle, &b); err != nil {
		return ferr(KindInvalidMessage, "bundle: %v", err)
	}
	remote := q.Remote.String()
	if err := f.trust(remote, b.IdentityKey); err != nil {
		return err
	}
	f.trusted[remote] = b.IdentityKey
	s, base := f.session(remote), randomKey()
	s.bases, s.current = append(s.bases, base), base
	s.unacked[string(base)], s.preKey[string(base)] = true, b.PreKeyID
	return nil
}

func fakeMAC(base, sender, receiver, versionAndBody []byte) []byte {
	k := sha256.Sum256(append([]byte("fake mac key"), base...))
	h := hmac.New(sha256.New, k[:])
	h.Write(sender)
	h.Write(receiver)
	h.Write(versionAndBody)
	return h.Sum(nil)[:macSize]
}

func (f *fake) encrypt(q *fakeRequest) (map[string]any, error) {
	remote := q.Remote.String()
	s := f.sessions[remote]
	if s == nil {
		return nil, ferr(KindNoSession, "no session with %s", remote)
	}
	s.counter++
	var body []byte
	body = protowire.AppendTag(body, signalRatchetKey, protowire.BytesType)
	body = protowire.AppendBytes(body, f.ratchet)
	body = protowire.AppendTag(body, signalCounter, protowire.VarintType)
	body = protowire.AppendVarint(body, s.counter)
	body = protowire.AppendTag(body, signalCiphertext, protowire.BytesType)
	body = protowire.AppendBytes(body, q.Plaintext)
	if f.v4() {
		body = f.appendV4Fields(body, s, q.Remote)
	}
	versionByte := f.version()<<4 | f.version()
	msg := append([]byte{versionByte}, body...)
	msg = append(msg, fakeMAC(s.current, f.identity, f.trusted[remote], msg)...)
	if !s.unacked[string(s.current)] {
		return map[string]any{"type": TypeSignal, "ciphertext": msg}, nil
	}
	var pre []byte
	if id := s.preKey[string(s.current)]; id != nil {
		pre = protowire.AppendTag(pre, 1, protowire.VarintType)
		pre = protowire.AppendVarint(pre, uint64(*id))
	}
	pre = protowire.AppendTag(pre, preKeyBaseKey, protowire.BytesType)
	pre = protowire.AppendBytes(pre, s.current)
	pre = protowire.AppendTag(pre, preKeyIdentityKey, protowire.BytesType)
	pre = protowire.AppendBytes(pre, f.identity)
	pre = protowire.AppendTag(pre, preKeyMessage, protowire.BytesType)
	pre = protowire.AppendBytes(pre, msg)
	return map[string]any{"type": TypePreKey, "ciphertext": append([]byte{versionByte}, pre...)}, nil
}

// appendV4Fields appends SPQR data and, in the session's type-3 messages,
// the addresses. The epoch follows the count of messages sent in the session.
func (f *fake) appendV4Fields(body []byte, s *fakeSession, remote Address) []byte {
	perEpoch := uint64(fakeMessagesPerEpoch)
	if f.variant == fakeSlowSPQR {
		perEpoch = 100
	}
	m := spqrMessage{epoch: 1 + (s.counter-1)/perEpoch, index: uint32(s.counter), typ: spqrNone}
	spqr := appendSPQR(nil, m)
	if f.variant == fakeBadSPQR {
		spqr[0] = 0x02
	}
	body = protowire.AppendTag(body, signalPQRatchet, protowire.BytesType)
	body = protowire.AppendBytes(body, spqr)
	from, to := f.me, remote
	if f.variant == fakeBadAddresses {
		from, to = to, from
	}
	if addrs, ok := expectAddresses(from, to); ok && s.unacked[string(s.current)] {
		body = protowire.AppendTag(body, signalAddresses, protowire.BytesType)
		body = protowire.AppendBytes(body, addrs)
	}
	return body
}

func (f *fake) decrypt(q *fakeRequest) (map[string]any, error) {
	remote := q.Remote.String()
	if len(q.Ciphertext) == 0 || (q.Ciphertext[0]>>4 != f.version() && f.variant != fakeAcceptsTampered) {
		return nil, ferr(KindInvalidMessage, "bad version")
	}
	if q.Type == TypePreKey {
		return f.decryptPreKey(remote, q.Ciphertext)
	}
	s := f.sessions[remote]
	if s == nil {
		return nil, ferr(KindNoSession, "no session with %s", remote)
	}
	for i := len(s.bases) - 1; i >= 0; i-- {
		pt, err := f.open(s, s.bases[i], f.trusted[remote], q.Ciphertext)
		if err != errFakeMAC {
			return map[string]any{"plaintext": pt}, err
		}
	}
	return nil, errFakeMAC
}

// errFakeMAC is a MAC failure: the message may belong to another state.
var errFakeMAC = ferr(KindInvalidMessage, "bad mac")

func (f *fake) decryptPreKey(remote string, msg []byte) (map[string]any, error) {
	fs, err := preKeyFields(msg)
	if err != nil {
		return nil, ferr(KindInvalidMessage, "%v", err)
	}
	get := func(n protowire.Number) []byte {
		fl, _ := find(fs, n)
		return msg[fl.start:fl.end]
	}
	base, identity, inner := get(preKeyBaseKey), get(preKeyIdentityKey), get(preKeyMessage)
	if err := f.trust(remote, identity); err != nil {
		return nil, err
	}
	s := f.sessions[remote]
	if s == nil {
		s = newFakeSession() // stored only once a message decrypts
	}
	known := false
	for _, b := range s.bases {
		known = known || bytes.Equal(b, base)
	}
	var id uint64
	if fl, ok := find(fs, 1); ok && !known {
		id, _ = protowire.ConsumeVarint(msg[fl.start:fl.end])
		if !f.preKeys[uint32(id)] {
			return nil, ferr(KindInvalidKeyID, "no prekey %d", id)
		}
	}
	pt, err := f.open(s, base, identity, inner)
	if err != nil {
		return nil, err
	}
	f.trusted[remote] = identity
	f.sessions[remote] = s
	if f.variant != fakeReusesPreKeys {
		delete(f.preKeys, uint32(id))
	}
	if !known {
		s.bases = append(s.bases, base)
	}
	s.current = base
	return map[string]any{"plaintext": pt}, nil
}

// open checks and opens a SignalMessage of the session state with base key base.
func (f *fake) open(s *fakeSession, base, sender, msg []byte) ([]byte, error) {
	fs, err := signalFields(msg, 0)
	if err != nil || msg[0]>>4 != f.version() {
		return nil, ferr(KindInvalidMessage, "malformed")
	}
	body := msg[:len(msg)-macSize]
	if !hmac.Equal(fakeMAC(base, sender, f.identity, body), msg[len(body):]) && f.variant != fakeAcceptsTampered {
		return nil, errFakeMAC
	}
	c, _ := find(fs, signalCounter)
	counter, _ := protowire.ConsumeVarint(msg[c.start:c.end])
	key := fmt.Sprintf("%x|%d", base, counter)
	switch {
	case f.seen[key] && f.variant == fakeWrongDuplicate:
		return nil, ferr(KindInvalidMessage, "seen")
	case f.seen[key]:
		return nil, ferr(KindDuplicate, "counter %d", counter)
	case f.variant == fakeNoSkippedKeys && counter < s.highest[string(base)]:
		return nil, ferr(KindInvalidMessage, "old counter %d", counter)
	}
	f.seen[key] = true
	s.highest[string(base)] = max(s.highest[string(base)], counter)
	delete(s.unacked, string(base))
	s.current = base
	ct, _ := find(fs, signalCiphertext)
	return append([]byte{}, msg[ct.start:ct.end]...), nil
}

func (f *fake) fingerprint(q *fakeRequest) (map[string]any, error) {
	if f.variant == fakeHangsOnFinger {
		time.Sleep(time.Hour) // select{} would be reported as a deadlock
	}
	key, ok := f.trusted[q.Remote.String()]
	if !ok {
		return nil, ferr(KindNoSession, "unknown %s", q.Remote)
	}
	want := expectFingerprint(q.LocalID, f.identity, q.RemoteID, key)
	local, remote := want.local, want.remote
	if f.variant == fakeBadFingerprint {
		local, remote = remote, local
	}
	var b []byte
	b = protowire.AppendTag(b, combinedVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, scannableVersion)
	for _, part := range []struct {
		n protowire.Number
		c []byte
	}{{combinedLocal, local}, {combinedRemote, remote}} {
		var inner []byte
		inner = protowire.AppendTag(inner, logicalContent, protowire.BytesType)
		inner = protowire.AppendBytes(inner, part.c)
		b = protowire.AppendTag(b, part.n, protowire.BytesType)
		b = protowire.AppendBytes(b, inner)
	}
	return map[string]any{"displayable": want.displayable, "scannable": b}, nil
}
