package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/blindpost/blindpost/wire"
)

// A parse case: the input, and the sentinel the error must wrap (nil when
// the input must parse). check, if set, looks at an accepted message.
type signalCase struct {
	name  string
	in    []byte
	want  error
	check func(*testing.T, *wire.SignalMessage)
}

type prekeyCase struct {
	name  string
	in    []byte
	want  error
	check func(*testing.T, *wire.PreKeySignalMessage)
}

// overlongVarint is a well-formed 11-byte varint: more than the 10 bytes a
// 64-bit value can take.
var overlongVarint = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}

// overflowVarint is a 10-byte varint whose last byte carries bits past 64.
var overflowVarint = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}

func signalCases() []signalCase {
	base := signalFields()
	v4 := base.with(bytesField(smPQRatchet, testPQRatchet), bytesField(smAddresses, testAddresses))
	cases := []signalCase{
		{name: "valid", in: signalBytes(0x33, base), check: checkDefaultSignal},
		{name: "valid v4 with pq_ratchet and addresses", in: signalBytes(0x44, v4), check: func(t *testing.T, m *wire.SignalMessage) {
			checkDefaultSignal(t, m)
			if !bytes.Equal(m.PQRatchet, testPQRatchet) || !bytes.Equal(m.Addresses, testAddresses) {
				t.Errorf("pq_ratchet %x addresses %x", m.PQRatchet, m.Addresses)
			}
		}},
		{name: "fields in reverse order", in: signalBytes(0x33, base.reversed()), check: checkDefaultSignal},

		// Required fields (libsignal protocol.rs: ratchet_key, counter and
		// ciphertext are required, previous_counter defaults to 0).
		{name: "missing ratchet_key", in: signalBytes(0x33, base.without(smRatchetKey)), want: wire.ErrMalformed},
		{name: "missing counter", in: signalBytes(0x33, base.without(smCounter)), want: wire.ErrMalformed},
		{name: "missing ciphertext", in: signalBytes(0x33, base.without(smCiphertext)), want: wire.ErrMalformed},
		{name: "missing previous_counter", in: signalBytes(0x33, base.without(smPreviousCounter)), check: func(t *testing.T, m *wire.SignalMessage) {
			if m.PreviousCounter != 0 {
				t.Errorf("previous counter %d, want 0", m.PreviousCounter)
			}
		}},
		{name: "empty protobuf", in: signalBytes(0x33, nil), want: wire.ErrMalformed},
		{name: "empty ciphertext", in: signalBytes(0x33, base.replaced(bytesField(smCiphertext, nil))), check: func(t *testing.T, m *wire.SignalMessage) {
			if m.Ciphertext == nil || len(m.Ciphertext) != 0 {
				t.Errorf("ciphertext %#v, want present and empty", m.Ciphertext)
			}
		}},

		// Wrong wire types on known fields.
		{name: "ratchet_key as varint", in: signalBytes(0x33, base.replaced(varintField(smRatchetKey, 5))), want: wire.ErrMalformed},
		{name: "counter as bytes", in: signalBytes(0x33, base.replaced(bytesField(smCounter, []byte{7}))), want: wire.ErrMalformed},
		{name: "counter as fixed32", in: signalBytes(0x33, base.replaced(fixed32Field(smCounter, 7))), want: wire.ErrMalformed},
		{name: "previous_counter as fixed64", in: signalBytes(0x33, base.replaced(fixed64Field(smPreviousCounter, 3))), want: wire.ErrMalformed},
		{name: "ciphertext as varint", in: signalBytes(0x33, base.replaced(varintField(smCiphertext, 1))), want: wire.ErrMalformed},
		{name: "ciphertext as fixed32", in: signalBytes(0x33, base.replaced(fixed32Field(smCiphertext, 1))), want: wire.ErrMalformed},
		{name: "pq_ratchet as varint", in: signalBytes(0x33, base.with(varintField(smPQRatchet, 1))), want: wire.ErrMalformed},
		{name: "addresses as fixed64", in: signalBytes(0x33, base.with(fixed64Field(smAddresses, 1))), want: wire.ErrMalformed},
		{name: "counter as start group", in: signalBytes(0x33, base.replaced(rawField(smCounter, protowire.StartGroupType, nil))), want: wire.ErrMalformed},
		// blindpost refuses groups even in unknown fields (wire/protobuf.go:
		// "Groups are refused"); no libsignal message contains one.
		{name: "unknown group", in: signalBytes(0x33, base.with(rawField(9, protowire.StartGroupType, protowire.AppendTag(nil, 9, protowire.EndGroupType)))), want: wire.ErrMalformed},
		{name: "wire type 6", in: signalBytes(0x33, base.with(rawField(9, 6, nil))), want: wire.ErrMalformed},
		{name: "wire type 7", in: signalBytes(0x33, base.with(rawField(9, 7, nil))), want: wire.ErrMalformed},

		// Keys: exactly 33 bytes, type 0x05.
		{name: "ratchet key of 32 bytes", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, testRatchetKey[:32]))), want: wire.ErrMalformed},
		{name: "ratchet key of 32 bytes without type byte", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, testRatchetKey[1:]))), want: wire.ErrMalformed},
		{name: "ratchet key of 34 bytes", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, append(slices.Clone(testRatchetKey), 0)))), want: wire.ErrMalformed},
		{name: "ratchet key of 0 bytes", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, nil))), want: wire.ErrMalformed},
		{name: "ratchet key of type 0x08", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, serializedKey(0x08, 0x10, 32)))), want: wire.ErrMalformed},
		{name: "ratchet key of type 0x00", in: signalBytes(0x33, base.replaced(bytesField(smRatchetKey, serializedKey(0x00, 0x10, 32)))), want: wire.ErrMalformed},

		// Addresses: absent or exactly 36 bytes.
		{name: "addresses of 35 bytes", in: signalBytes(0x33, base.with(bytesField(smAddresses, testAddresses[:35]))), want: wire.ErrMalformed},
		{name: "addresses of 37 bytes", in: signalBytes(0x33, base.with(bytesField(smAddresses, append(slices.Clone(testAddresses), 0)))), want: wire.ErrMalformed},
		{name: "addresses of 0 bytes", in: signalBytes(0x33, base.with(bytesField(smAddresses, nil))), want: wire.ErrMalformed},

		// Unknown fields are skipped, wherever they are.
		{name: "unknown fields skipped", in: signalBytes(0x33, pbFields{
			varintField(7, 1),
			bytesField(15, []byte("unknown")),
		}.with(base...).with(
			fixed32Field(63, 1),
			fixed64Field(64, 1),
			bytesField(1000, bytes.Repeat([]byte{0xee}, 200)),
			varintField(protowire.MaxValidNumber, math.MaxUint64),
		)), check: checkDefaultSignal},

		// Field numbers above protobuf's maximum, 2^29-1: protobuf-go and
		// libsignal's prost refuse them (prost: "invalid key value"), and
		// so must a strict parser. Regression: blindpost skipped them as
		// unknown fields, because protowire.ConsumeTag allows numbers up
		// to 2^31-1 for MessageSet (found by FuzzParseSignalMessage,
		// testdata/fuzz/FuzzParseSignalMessage/regression-field-number-above-max).
		{name: "unknown field number 2^29", in: signalBytes(0x33, base.with(varintField(protowire.MaxValidNumber+1, 1))), want: wire.ErrMalformed},
		{name: "unknown field number 2^31-1", in: signalBytes(0x33, base.with(bytesField(math.MaxInt32, []byte{1}))), want: wire.ErrMalformed},

		// Varints: values are uint32.
		{name: "counter 2^32-1", in: signalBytes(0x33, base.replaced(varintField(smCounter, math.MaxUint32))), check: func(t *testing.T, m *wire.SignalMessage) {
			if m.Counter != math.MaxUint32 {
				t.Errorf("counter %d", m.Counter)
			}
		}},
		{name: "counter 2^32", in: signalBytes(0x33, base.replaced(varintField(smCounter, math.MaxUint32+1))), want: wire.ErrMalformed},
		{name: "counter 2^64-1", in: signalBytes(0x33, base.replaced(varintField(smCounter, math.MaxUint64))), want: wire.ErrMalformed},
		{name: "previous_counter 2^32", in: signalBytes(0x33, base.replaced(varintField(smPreviousCounter, math.MaxUint32+1))), want: wire.ErrMalformed},
		{name: "counter varint of 11 bytes", in: signalBytes(0x33, base.replaced(rawField(smCounter, protowire.VarintType, overlongVarint))), want: wire.ErrMalformed},
		{name: "counter varint past 64 bits", in: signalBytes(0x33, base.replaced(rawField(smCounter, protowire.VarintType, overflowVarint))), want: wire.ErrMalformed},
		{name: "counter non-minimal varint", in: signalBytes(0x33, base.replaced(rawField(smCounter, protowire.VarintType, []byte{0x87, 0x80, 0x00}))), check: checkDefaultSignal},

		// Framing of the protobuf itself.
		{name: "length past the end", in: signalBytes(0x33, base.with(rawField(smPQRatchet, protowire.BytesType, []byte{0x05, 0x01}))), want: wire.ErrMalformed},
		{name: "tag without value", in: signalBytes(0x33, base.with(rawField(9, protowire.VarintType, nil))), want: wire.ErrMalformed},
		{name: "field number 0", in: slices.Concat([]byte{0x33}, base.encode(), []byte{0x00, 0x00}, testMAC), want: wire.ErrMalformed},
		{name: "truncated tag", in: slices.Concat([]byte{0x33}, base.encode(), []byte{0x80}, testMAC), want: wire.ErrMalformed},
	}
	// Every field repeated in turn (libsignal's prost would keep the last;
	// blindpost refuses).
	for _, num := range []protowire.Number{smRatchetKey, smCounter, smPreviousCounter, smCiphertext, smPQRatchet, smAddresses} {
		cases = append(cases, signalCase{name: fmt.Sprintf("field %d repeated", num), in: signalBytes(0x44, v4.repeated(num)), want: wire.ErrMalformed})
	}
	return cases
}

func checkDefaultSignal(t *testing.T, m *wire.SignalMessage) {
	t.Helper()
	if !bytes.Equal(m.RatchetKey.Bytes(), testRatchetKey) || m.Counter != 7 || m.PreviousCounter != 3 ||
		!bytes.Equal(m.Ciphertext, testCiphertext) || !bytes.Equal(m.MAC[:], testMAC) {
		t.Errorf("fields: key %x counter %d previous %d ciphertext %x mac %x", m.RatchetKey.Bytes(), m.Counter, m.PreviousCounter, m.Ciphertext, m.MAC)
	}
}

func TestParseSignalMessageStrict(t *testing.T) {
	for _, tc := range signalCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.ParseSignalMessage(tc.in)
			checkErr(t, err, tc.want)
			if err != nil {
				t.Logf("refused: %v", err)
				if m != nil {
					t.Error("non-nil message with an error")
				}
				return
			}
			if !bytes.Equal(m.Bytes(), tc.in) {
				t.Error("Bytes() is not the input")
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func prekeyCases() []prekeyCase {
	inner3 := signalBytes(0x33, signalFields())
	inner4 := signalBytes(0x44, signalFields())
	v3 := prekeyFields(inner3, false)
	v4 := prekeyFields(inner4, true)
	kyberID, kyberCT := varintField(pkKyberPreKeyID, 9), bytesField(pkKyberCiphertext, testKyberCT)
	cases := []prekeyCase{
		{name: "valid v3", in: prekeyBytes(0x33, v3), check: checkDefaultPreKey},
		{name: "valid v4", in: prekeyBytes(0x44, v4), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			checkDefaultPreKey(t, m)
			if m.KyberPreKeyID != 9 || !bytes.Equal(m.KyberCiphertext, testKyberCT) {
				t.Errorf("kyber id %d ciphertext %x", m.KyberPreKeyID, m.KyberCiphertext)
			}
		}},
		{name: "fields in reverse order", in: prekeyBytes(0x44, v4.reversed()), check: checkDefaultPreKey},

		// Required: base_key, identity_key, message, signed_pre_key_id
		// (libsignal protocol.rs); pre_key_id is optional, registration_id
		// defaults to 0.
		{name: "missing base_key", in: prekeyBytes(0x33, v3.without(pkBaseKey)), want: wire.ErrMalformed},
		{name: "missing identity_key", in: prekeyBytes(0x33, v3.without(pkIdentityKey)), want: wire.ErrMalformed},
		{name: "missing message", in: prekeyBytes(0x33, v3.without(pkMessage)), want: wire.ErrMalformed},
		{name: "missing signed_pre_key_id", in: prekeyBytes(0x33, v3.without(pkSignedPreKeyID)), want: wire.ErrMalformed},
		{name: "missing pre_key_id", in: prekeyBytes(0x33, v3.without(pkPreKeyID)), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			if m.HasPreKeyID || m.PreKeyID != 0 {
				t.Errorf("pre key id %d (has %t), want none", m.PreKeyID, m.HasPreKeyID)
			}
		}},
		{name: "pre_key_id 0 present", in: prekeyBytes(0x33, v3.replaced(varintField(pkPreKeyID, 0))), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			if !m.HasPreKeyID || m.PreKeyID != 0 {
				t.Errorf("pre key id %d (has %t), want 0 present", m.PreKeyID, m.HasPreKeyID)
			}
		}},
		{name: "missing registration_id", in: prekeyBytes(0x33, v3.without(pkRegistrationID)), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			if m.RegistrationID != 0 {
				t.Errorf("registration id %d, want 0", m.RegistrationID)
			}
		}},
		{name: "only an unknown field", in: prekeyBytes(0x33, pbFields{varintField(9, 1)}), want: wire.ErrMalformed},
		{name: "only a pre_key_id", in: prekeyBytes(0x33, v3[:1]), want: wire.ErrMalformed},

		// Kyber fields: both for version 4, neither for version 3.
		{name: "v3 with kyber fields", in: prekeyBytes(0x33, v3.with(kyberID, kyberCT)), want: wire.ErrMalformed},
		{name: "v3 with kyber_pre_key_id only", in: prekeyBytes(0x33, v3.with(kyberID)), want: wire.ErrMalformed},
		{name: "v3 with kyber_ciphertext only", in: prekeyBytes(0x33, v3.with(kyberCT)), want: wire.ErrMalformed},
		{name: "v4 without kyber fields", in: prekeyBytes(0x44, prekeyFields(inner4, false)), want: wire.ErrMalformed},
		{name: "v4 with kyber_pre_key_id only", in: prekeyBytes(0x44, v4.without(pkKyberCiphertext)), want: wire.ErrMalformed},
		{name: "v4 with kyber_ciphertext only", in: prekeyBytes(0x44, v4.without(pkKyberPreKeyID)), want: wire.ErrMalformed},
		{name: "v4 kyber_pre_key_id 2^32", in: prekeyBytes(0x44, v4.replaced(varintField(pkKyberPreKeyID, math.MaxUint32+1))), want: wire.ErrMalformed},

		// The embedded SignalMessage: parsed strictly, same session version.
		{name: "v3 wrapping a v4 message", in: prekeyBytes(0x33, prekeyFields(inner4, false)), want: wire.ErrMalformed},
		{name: "v4 wrapping a v3 message", in: prekeyBytes(0x44, prekeyFields(inner3, true)), want: wire.ErrMalformed},
		{name: "0x33 wrapping 0x34", in: prekeyBytes(0x33, prekeyFields(signalBytes(0x34, signalFields()), false)), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			if m.Message.Version != 0x34 {
				t.Errorf("embedded version 0x%02x, want 0x34", m.Message.Version)
			}
		}},
		{name: "embedded message of version 0x23", in: prekeyBytes(0x33, prekeyFields(signalBytes(0x23, signalFields()), false)), want: wire.ErrVersion},
		{name: "embedded message malformed", in: prekeyBytes(0x33, prekeyFields(signalBytes(0x33, signalFields().without(smCounter)), false)), want: wire.ErrMalformed},
		{name: "embedded message too short", in: prekeyBytes(0x33, prekeyFields(inner3[:8], false)), want: wire.ErrMalformed},
		{name: "embedded message empty", in: prekeyBytes(0x33, prekeyFields(nil, false)), want: wire.ErrMalformed},

		// Wrong wire types.
		{name: "pre_key_id as bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkPreKeyID, []byte{42}))), want: wire.ErrMalformed},
		{name: "base_key as varint", in: prekeyBytes(0x33, v3.replaced(varintField(pkBaseKey, 5))), want: wire.ErrMalformed},
		{name: "identity_key as fixed64", in: prekeyBytes(0x33, v3.replaced(fixed64Field(pkIdentityKey, 5))), want: wire.ErrMalformed},
		{name: "message as varint", in: prekeyBytes(0x33, v3.replaced(varintField(pkMessage, 5))), want: wire.ErrMalformed},
		{name: "registration_id as fixed32", in: prekeyBytes(0x33, v3.replaced(fixed32Field(pkRegistrationID, 1234))), want: wire.ErrMalformed},
		{name: "signed_pre_key_id as bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkSignedPreKeyID, []byte{7}))), want: wire.ErrMalformed},
		{name: "kyber_pre_key_id as fixed32", in: prekeyBytes(0x44, v4.replaced(fixed32Field(pkKyberPreKeyID, 9))), want: wire.ErrMalformed},
		{name: "kyber_ciphertext as varint", in: prekeyBytes(0x44, v4.replaced(varintField(pkKyberCiphertext, 9))), want: wire.ErrMalformed},

		// Keys.
		{name: "base key of 32 bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkBaseKey, testBaseKey[:32]))), want: wire.ErrMalformed},
		{name: "base key of 34 bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkBaseKey, append(slices.Clone(testBaseKey), 0)))), want: wire.ErrMalformed},
		{name: "base key of type 0x08", in: prekeyBytes(0x33, v3.replaced(bytesField(pkBaseKey, serializedKey(0x08, 0x40, 32)))), want: wire.ErrMalformed},
		{name: "identity key of 32 bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkIdentityKey, testIdentityKey[1:]))), want: wire.ErrMalformed},
		{name: "identity key of 34 bytes", in: prekeyBytes(0x33, v3.replaced(bytesField(pkIdentityKey, append(slices.Clone(testIdentityKey), 0)))), want: wire.ErrMalformed},
		{name: "identity key of type 0x08", in: prekeyBytes(0x33, v3.replaced(bytesField(pkIdentityKey, serializedKey(0x08, 0x70, 32)))), want: wire.ErrMalformed},
		{name: "embedded ratchet key of type 0x08", in: prekeyBytes(0x33, prekeyFields(signalBytes(0x33, signalFields().replaced(bytesField(smRatchetKey, serializedKey(0x08, 0x10, 32)))), false)), want: wire.ErrMalformed},

		// Unknown fields are skipped.
		{name: "unknown fields skipped", in: prekeyBytes(0x44, pbFields{varintField(9, 1)}.with(v4...).with(
			bytesField(10, []byte("unknown")),
			fixed32Field(63, 1),
			fixed64Field(64, 1),
			varintField(protowire.MaxValidNumber, math.MaxUint64),
		)), check: checkDefaultPreKey},

		// Field numbers above 2^29-1 (see the signal message cases).
		{name: "unknown field number 2^29", in: prekeyBytes(0x33, v3.with(varintField(protowire.MaxValidNumber+1, 1))), want: wire.ErrMalformed},

		// uint32 values.
		{name: "pre_key_id 2^32", in: prekeyBytes(0x33, v3.replaced(varintField(pkPreKeyID, math.MaxUint32+1))), want: wire.ErrMalformed},
		{name: "registration_id 2^32", in: prekeyBytes(0x33, v3.replaced(varintField(pkRegistrationID, math.MaxUint32+1))), want: wire.ErrMalformed},
		{name: "signed_pre_key_id 2^32", in: prekeyBytes(0x33, v3.replaced(varintField(pkSignedPreKeyID, math.MaxUint32+1))), want: wire.ErrMalformed},
		{name: "signed_pre_key_id varint past 64 bits", in: prekeyBytes(0x33, v3.replaced(rawField(pkSignedPreKeyID, protowire.VarintType, overflowVarint))), want: wire.ErrMalformed},
		{name: "registration_id varint of 11 bytes", in: prekeyBytes(0x33, v3.replaced(rawField(pkRegistrationID, protowire.VarintType, overlongVarint))), want: wire.ErrMalformed},
		{name: "ids 2^32-1", in: prekeyBytes(0x33, v3.replaced(varintField(pkPreKeyID, math.MaxUint32)).replaced(varintField(pkSignedPreKeyID, math.MaxUint32)).replaced(varintField(pkRegistrationID, math.MaxUint32))), check: func(t *testing.T, m *wire.PreKeySignalMessage) {
			if m.PreKeyID != math.MaxUint32 || m.SignedPreKeyID != math.MaxUint32 || m.RegistrationID != math.MaxUint32 {
				t.Errorf("ids %d %d %d", m.PreKeyID, m.SignedPreKeyID, m.RegistrationID)
			}
		}},

		// Framing.
		{name: "length past the end", in: prekeyBytes(0x33, v3.with(rawField(9, protowire.BytesType, []byte{0x05, 0x01}))), want: wire.ErrMalformed},
		{name: "message length past the end", in: prekeyBytes(0x33, v3[:3].with(rawField(pkMessage, protowire.BytesType, protowire.AppendVarint(nil, uint64(len(inner3)+1))))), want: wire.ErrMalformed},
		{name: "trailing tag", in: append(prekeyBytes(0x33, v3), 0x08), want: wire.ErrMalformed},
	}
	for _, num := range []protowire.Number{pkPreKeyID, pkBaseKey, pkIdentityKey, pkMessage, pkRegistrationID, pkSignedPreKeyID, pkKyberPreKeyID, pkKyberCiphertext} {
		cases = append(cases, prekeyCase{name: fmt.Sprintf("field %d repeated", num), in: prekeyBytes(0x44, v4.repeated(num)), want: wire.ErrMalformed})
	}
	return cases
}

func checkDefaultPreKey(t *testing.T, m *wire.PreKeySignalMessage) {
	t.Helper()
	if !m.HasPreKeyID || m.PreKeyID != 42 || m.RegistrationID != 1234 || m.SignedPreKeyID != 7 ||
		!bytes.Equal(m.BaseKey.Bytes(), testBaseKey) || !bytes.Equal(m.IdentityKey.Bytes(), testIdentityKey) {
		t.Errorf("fields: pre key %d (%t) registration %d signed %d base %x identity %x",
			m.PreKeyID, m.HasPreKeyID, m.RegistrationID, m.SignedPreKeyID, m.BaseKey.Bytes(), m.IdentityKey.Bytes())
	}
	if m.Message == nil {
		t.Fatal("no embedded message")
	}
	checkDefaultSignal(t, m.Message)
}

func TestParsePreKeySignalMessageStrict(t *testing.T) {
	for _, tc := range prekeyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.ParsePreKeySignalMessage(tc.in)
			checkErr(t, err, tc.want)
			if err != nil {
				t.Logf("refused: %v", err)
				if m != nil {
					t.Error("non-nil message with an error")
				}
				return
			}
			if !bytes.Equal(m.Bytes(), tc.in) {
				t.Error("Bytes() is not the input")
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// TestVersionByte: receivers check only the high nibble, which must be 3
// or 4; anything else is ErrVersion, for both messages and for the
// message embedded in a prekey message.
func TestVersionByte(t *testing.T) {
	for _, v := range []byte{0x33, 0x34, 0x3f, 0x30, 0x44, 0x43, 0x4f, 0x23, 0x53, 0x00, 0x13, 0x63, 0xf3, 0xff} {
		accept := v>>4 == 3 || v>>4 == 4
		t.Run(fmt.Sprintf("0x%02x", v), func(t *testing.T) {
			t.Parallel()
			var want error
			if !accept {
				want = wire.ErrVersion
			}
			m, err := wire.ParseSignalMessage(signalBytes(v, signalFields()))
			checkErr(t, err, want)
			if err == nil && (m.Version != v || m.SessionVersion() != int(v>>4)) {
				t.Errorf("signal message version 0x%02x session %d", m.Version, m.SessionVersion())
			}
			pm, err := wire.ParsePreKeySignalMessage(prekeyBytes(v, prekeyFields(signalBytes(v, signalFields()), v>>4 >= 4)))
			checkErr(t, err, want)
			if err == nil && (pm.Version != v || pm.SessionVersion() != int(v>>4)) {
				t.Errorf("prekey message version 0x%02x session %d", pm.Version, pm.SessionVersion())
			}
			if !accept {
				// A bad version is refused before the rest is looked at.
				_, err := wire.ParseSignalMessage(append([]byte{v}, make([]byte, 8)...))
				checkErr(t, err, wire.ErrVersion)
				_, err = wire.ParsePreKeySignalMessage([]byte{v, 0})
				checkErr(t, err, wire.ErrVersion)
			}
		})
	}
}

func TestVersionBytesSent(t *testing.T) {
	if got := wire.VersionByte(3); got != 0x33 {
		t.Errorf("VersionByte(3) = 0x%02x, want 0x33", got)
	}
	if got := wire.VersionByte(4); got != 0x44 {
		t.Errorf("VersionByte(4) = 0x%02x, want 0x44", got)
	}
}

// TestTooShort: inputs of 0 to 8 bytes, and every proper prefix of valid
// messages, are refused as malformed.
func TestTooShort(t *testing.T) {
	for n := range 9 {
		for _, fill := range []byte{0x00, 0x33, 0x44, 0xff} {
			in := bytes.Repeat([]byte{fill}, n)
			if _, err := wire.ParseSignalMessage(in); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("signal message of %d bytes 0x%02x: %v, want ErrMalformed", n, fill, err)
			}
			_, err := wire.ParsePreKeySignalMessage(in)
			if n < 2 && !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("prekey message of %d bytes 0x%02x: %v, want ErrMalformed", n, fill, err)
			}
			if err == nil {
				t.Errorf("prekey message of %d bytes 0x%02x accepted", n, fill)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		msg    []byte
		prekey bool
	}{
		{"signal v3", signalBytes(0x33, signalFields()), false},
		// Optional fields go first here: a cut that drops only a trailing
		// optional field leaves a valid message (its last 8 bytes read as
		// the MAC), which no parser can tell from a shorter original.
		{"signal v4", signalBytes(0x44, pbFields{bytesField(smPQRatchet, testPQRatchet), bytesField(smAddresses, testAddresses)}.with(signalFields()...)), false},
		{"prekey v3", validPreKey(3), true},
		{"prekey v4", validPreKey(4), true},
		{"prekey v3 without pre_key_id", prekeyBytes(0x33, prekeyFields(signalBytes(0x33, signalFields()), false).without(pkPreKeyID)), true},
	} {
		for n := range len(tc.msg) {
			var err error
			if tc.prekey {
				_, err = wire.ParsePreKeySignalMessage(tc.msg[:n])
			} else {
				_, err = wire.ParseSignalMessage(tc.msg[:n])
			}
			if !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrMalformed", tc.name, n, len(tc.msg), err)
			}
		}
	}
}

// TestMaxMessageSize: MaxMessageSize bytes parse, one more does not.
func TestMaxMessageSize(t *testing.T) {
	signal := func(total int) []byte {
		return sized(total, func(n int) []byte {
			return signalBytes(0x33, signalFields().replaced(bytesField(smCiphertext, make([]byte, n))))
		})
	}
	prekey := func(total int) []byte {
		return sized(total, func(n int) []byte {
			return prekeyBytes(0x33, prekeyFields(signal(n), false))
		})
	}
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		build func(int) []byte
	}{
		{"signal", func(b []byte) error { _, err := wire.ParseSignalMessage(b); return err }, signal},
		{"prekey", func(b []byte) error { _, err := wire.ParsePreKeySignalMessage(b); return err }, prekey},
	} {
		if err := tc.parse(tc.build(wire.MaxMessageSize)); err != nil {
			t.Errorf("%s of MaxMessageSize bytes: %v", tc.name, err)
		}
		if err := tc.parse(tc.build(wire.MaxMessageSize + 1)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s of MaxMessageSize+1 bytes: %v, want ErrMalformed", tc.name, err)
		}
	}
	// The size is checked before anything else.
	if _, err := wire.ParseSignalMessage(make([]byte, wire.MaxMessageSize+1)); !errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrVersion) {
		t.Errorf("oversized zeros: %v, want ErrMalformed only", err)
	}
}

// sized returns build(n) for the n that makes it exactly total bytes long.
func sized(total int, build func(n int) []byte) []byte {
	n := total
	for range 10 {
		b := build(n)
		if len(b) == total {
			return b
		}
		n -= len(b) - total
	}
	panic(fmt.Sprintf("cannot build %d bytes", total))
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("refused: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	}
}
