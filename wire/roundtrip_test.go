package wire_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/wire"
)

func mustKey(t testing.TB, b []byte) identity.PublicKey {
	t.Helper()
	k, err := identity.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealed returns a copy of m's fields, serialized with EncodeUnsigned and
// Seal (with m's MAC), as a sender builds a message.
func sealed(m *wire.SignalMessage) *wire.SignalMessage {
	out := &wire.SignalMessage{
		Version:         m.Version,
		RatchetKey:      m.RatchetKey,
		Counter:         m.Counter,
		PreviousCounter: m.PreviousCounter,
		Ciphertext:      m.Ciphertext,
		PQRatchet:       m.PQRatchet,
		Addresses:       m.Addresses,
	}
	out.Seal(out.EncodeUnsigned(), m.MAC)
	return out
}

// encoded returns a copy of m's fields serialized with Encode; the
// embedded message is taken as is (its Bytes).
func encoded(m *wire.PreKeySignalMessage) *wire.PreKeySignalMessage {
	out := &wire.PreKeySignalMessage{
		Version:         m.Version,
		RegistrationID:  m.RegistrationID,
		PreKeyID:        m.PreKeyID,
		HasPreKeyID:     m.HasPreKeyID,
		SignedPreKeyID:  m.SignedPreKeyID,
		KyberPreKeyID:   m.KyberPreKeyID,
		KyberCiphertext: m.KyberCiphertext,
		BaseKey:         m.BaseKey,
		IdentityKey:     m.IdentityKey,
		Message:         m.Message,
	}
	out.Encode()
	return out
}

// diffSignal describes how two messages' fields differ, or returns "".
// Absent and empty byte fields count as equal: the encoding cannot tell
// them apart for pq_ratchet, and both mean "none".
func diffSignal(a, b *wire.SignalMessage) string {
	switch {
	case a.Version != b.Version:
		return fmt.Sprintf("version 0x%02x != 0x%02x", a.Version, b.Version)
	case a.RatchetKey != b.RatchetKey:
		return fmt.Sprintf("ratchet key %x != %x", a.RatchetKey[:], b.RatchetKey[:])
	case a.Counter != b.Counter:
		return fmt.Sprintf("counter %d != %d", a.Counter, b.Counter)
	case a.PreviousCounter != b.PreviousCounter:
		return fmt.Sprintf("previous counter %d != %d", a.PreviousCounter, b.PreviousCounter)
	case !bytes.Equal(a.Ciphertext, b.Ciphertext):
		return fmt.Sprintf("ciphertext %x != %x", a.Ciphertext, b.Ciphertext)
	case !bytes.Equal(a.PQRatchet, b.PQRatchet):
		return fmt.Sprintf("pq_ratchet %x != %x", a.PQRatchet, b.PQRatchet)
	case !bytes.Equal(a.Addresses, b.Addresses):
		return fmt.Sprintf("addresses %x != %x", a.Addresses, b.Addresses)
	case a.MAC != b.MAC:
		return fmt.Sprintf("mac %x != %x", a.MAC, b.MAC)
	}
	return ""
}

// diffPreKey is diffSignal for prekey messages, embedded message included.
func diffPreKey(a, b *wire.PreKeySignalMessage) string {
	switch {
	case a.Version != b.Version:
		return fmt.Sprintf("version 0x%02x != 0x%02x", a.Version, b.Version)
	case a.RegistrationID != b.RegistrationID:
		return fmt.Sprintf("registration id %d != %d", a.RegistrationID, b.RegistrationID)
	case a.HasPreKeyID != b.HasPreKeyID || a.PreKeyID != b.PreKeyID:
		return fmt.Sprintf("pre key id %d (%t) != %d (%t)", a.PreKeyID, a.HasPreKeyID, b.PreKeyID, b.HasPreKeyID)
	case a.SignedPreKeyID != b.SignedPreKeyID:
		return fmt.Sprintf("signed pre key id %d != %d", a.SignedPreKeyID, b.SignedPreKeyID)
	case (a.KyberCiphertext == nil) != (b.KyberCiphertext == nil):
		return fmt.Sprintf("kyber present %t != %t", a.KyberCiphertext != nil, b.KyberCiphertext != nil)
	case a.KyberPreKeyID != b.KyberPreKeyID:
		return fmt.Sprintf("kyber pre key id %d != %d", a.KyberPreKeyID, b.KyberPreKeyID)
	case !bytes.Equal(a.KyberCiphertext, b.KyberCiphertext):
		return fmt.Sprintf("kyber ciphertext %x != %x", a.KyberCiphertext, b.KyberCiphertext)
	case a.BaseKey != b.BaseKey:
		return fmt.Sprintf("base key %x != %x", a.BaseKey[:], b.BaseKey[:])
	case a.IdentityKey != b.IdentityKey:
		return fmt.Sprintf("identity key %x != %x", a.IdentityKey[:], b.IdentityKey[:])
	case !bytes.Equal(a.Message.Bytes(), b.Message.Bytes()):
		return fmt.Sprintf("embedded message %x != %x", a.Message.Bytes(), b.Message.Bytes())
	}
	if d := diffSignal(a.Message, b.Message); d != "" {
		return "embedded message: " + d
	}
	return ""
}

func roundTripSignals(t testing.TB) map[string]*wire.SignalMessage {
	rk := mustKey(t, testRatchetKey)
	mac := [wire.MACSize]byte(testMAC)
	return map[string]*wire.SignalMessage{
		"v3":                {Version: 0x33, RatchetKey: rk, Counter: 7, PreviousCounter: 3, Ciphertext: testCiphertext, MAC: mac},
		"v3 sent as 0x34":   {Version: 0x34, RatchetKey: rk, Counter: 1, Ciphertext: testCiphertext, MAC: mac},
		"zero counters":     {Version: 0x33, RatchetKey: rk, Ciphertext: testCiphertext, MAC: mac},
		"max counters":      {Version: 0x33, RatchetKey: rk, Counter: math.MaxUint32, PreviousCounter: math.MaxUint32, Ciphertext: testCiphertext, MAC: mac},
		"empty ciphertext":  {Version: 0x33, RatchetKey: rk, Ciphertext: []byte{}, MAC: mac},
		"large ciphertext":  {Version: 0x33, RatchetKey: rk, Counter: 300, Ciphertext: bytes.Repeat([]byte{0x5a}, 70_000), MAC: mac},
		"v4 pq_ratchet":     {Version: 0x44, RatchetKey: rk, Counter: 2, PreviousCounter: 1, Ciphertext: testCiphertext, PQRatchet: testPQRatchet, MAC: mac},
		"v4 all fields":     {Version: 0x44, RatchetKey: rk, Counter: 128, PreviousCounter: 16384, Ciphertext: testCiphertext, PQRatchet: testPQRatchet, Addresses: testAddresses, MAC: mac},
		"v3 with addresses": {Version: 0x33, RatchetKey: rk, Counter: 9, Ciphertext: testCiphertext, Addresses: testAddresses, MAC: mac},
	}
}

// TestSignalMessageRoundTrip: encode, parse, same fields, identical bytes;
// and encoding the parsed fields again gives the same bytes.
func TestSignalMessageRoundTrip(t *testing.T) {
	for name, m := range roundTripSignals(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			built := sealed(m)
			if d := diffSignal(built, m); d != "" {
				t.Fatalf("Seal changed the fields: %s", d)
			}
			parsed, err := wire.ParseSignalMessage(built.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if d := diffSignal(parsed, m); d != "" {
				t.Fatalf("parsed fields differ: %s", d)
			}
			if !bytes.Equal(parsed.Bytes(), built.Bytes()) {
				t.Fatal("parsed Bytes() differ from the encoding")
			}
			if !bytes.Equal(parsed.MACInput(), built.Bytes()[:len(built.Bytes())-wire.MACSize]) ||
				!bytes.Equal(parsed.MACInput(), built.EncodeUnsigned()) {
				t.Fatal("MACInput is not version byte || protobuf")
			}
			if again := sealed(parsed); !bytes.Equal(again.Bytes(), built.Bytes()) {
				t.Fatalf("re-encoding differs:\n%x\n%x", again.Bytes(), built.Bytes())
			}
		})
	}
}

// TestSignalMessageEncodingOrder: the encoder writes exactly what the
// hand-built message holds, fields in field-number order.
func TestSignalMessageEncodingOrder(t *testing.T) {
	want := signalBytes(0x44, signalFields().with(bytesField(smPQRatchet, testPQRatchet), bytesField(smAddresses, testAddresses)))
	m, err := wire.ParseSignalMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := sealed(m).Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("encoding\n%x\nwant\n%x", got, want)
	}
	want = validPreKey(4)
	pm, err := wire.ParsePreKeySignalMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := encoded(pm).Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("encoding\n%x\nwant\n%x", got, want)
	}
}

func TestPreKeySignalMessageRoundTrip(t *testing.T) {
	signals := roundTripSignals(t)
	base, ik := mustKey(t, testBaseKey), mustKey(t, testIdentityKey)
	for name, m := range map[string]*wire.PreKeySignalMessage{
		"v3 with one-time prekey":    {Version: 0x33, RegistrationID: 1234, PreKeyID: 42, HasPreKeyID: true, SignedPreKeyID: 7, BaseKey: base, IdentityKey: ik, Message: sealed(signals["v3"])},
		"v3 without one-time prekey": {Version: 0x33, RegistrationID: 1234, SignedPreKeyID: 7, BaseKey: base, IdentityKey: ik, Message: sealed(signals["v3"])},
		"v3 prekey id 0":             {Version: 0x33, HasPreKeyID: true, BaseKey: base, IdentityKey: ik, Message: sealed(signals["zero counters"])},
		"0x34":                       {Version: 0x34, RegistrationID: math.MaxUint32, PreKeyID: math.MaxUint32, HasPreKeyID: true, SignedPreKeyID: math.MaxUint32, BaseKey: base, IdentityKey: ik, Message: sealed(signals["v3 sent as 0x34"])},
		"v4 kyber":                   {Version: 0x44, RegistrationID: 1, PreKeyID: 2, HasPreKeyID: true, SignedPreKeyID: 3, KyberPreKeyID: 4, KyberCiphertext: testKyberCT, BaseKey: base, IdentityKey: ik, Message: sealed(signals["v4 all fields"])},
		"v4 empty kyber ciphertext":  {Version: 0x44, SignedPreKeyID: 3, KyberPreKeyID: 4, KyberCiphertext: []byte{}, BaseKey: base, IdentityKey: ik, Message: sealed(signals["v4 pq_ratchet"])},
		"v3 large message":           {Version: 0x33, SignedPreKeyID: 3, BaseKey: base, IdentityKey: ik, Message: sealed(signals["large ciphertext"])},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			built := encoded(m)
			parsed, err := wire.ParsePreKeySignalMessage(built.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if d := diffPreKey(parsed, m); d != "" {
				t.Fatalf("parsed fields differ: %s", d)
			}
			if !bytes.Equal(parsed.Bytes(), built.Bytes()) {
				t.Fatal("parsed Bytes() differ from the encoding")
			}
			if again := encoded(parsed); !bytes.Equal(again.Bytes(), built.Bytes()) {
				t.Fatalf("re-encoding differs:\n%x\n%x", again.Bytes(), built.Bytes())
			}
		})
	}
}
