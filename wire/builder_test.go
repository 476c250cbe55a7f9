package wire_test

import (
	"bytes"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file builds test messages field by field, with protowire and
// nothing of the package under test, so that the tests can leave out,
// repeat, retype or reorder any field. Field numbers are spelled out here
// from libsignal's rust/protocol/src/proto/wire.proto rather than taken
// from the package: a renumbering in the package shows up as a failure.

// SignalMessage field numbers (wire.proto).
const (
	smRatchetKey      = 1
	smCounter         = 2
	smPreviousCounter = 3
	smCiphertext      = 4
	smPQRatchet       = 5
	smAddresses       = 6
)

// PreKeySignalMessage field numbers (wire.proto).
const (
	pkPreKeyID        = 1
	pkBaseKey         = 2
	pkIdentityKey     = 3
	pkMessage         = 4
	pkRegistrationID  = 5
	pkSignedPreKeyID  = 6
	pkKyberPreKeyID   = 7
	pkKyberCiphertext = 8
)

// pbField is one protobuf field: its tag, then raw, the value exactly as
// it follows the tag on the wire (a varint, or a length and payload).
type pbField struct {
	num protowire.Number
	typ protowire.Type
	raw []byte
}

func bytesField(num protowire.Number, v []byte) pbField {
	return pbField{num, protowire.BytesType, protowire.AppendBytes(nil, v)}
}

func varintField(num protowire.Number, v uint64) pbField {
	return pbField{num, protowire.VarintType, protowire.AppendVarint(nil, v)}
}

func fixed32Field(num protowire.Number, v uint32) pbField {
	return pbField{num, protowire.Fixed32Type, protowire.AppendFixed32(nil, v)}
}

func fixed64Field(num protowire.Number, v uint64) pbField {
	return pbField{num, protowire.Fixed64Type, protowire.AppendFixed64(nil, v)}
}

// rawField is a field whose value bytes are given as is (a bad varint, a
// length running past the end, ...).
func rawField(num protowire.Number, typ protowire.Type, raw []byte) pbField {
	return pbField{num, typ, raw}
}

type pbFields []pbField

func (fs pbFields) encode() []byte {
	var b []byte
	for _, f := range fs {
		b = protowire.AppendTag(b, f.num, f.typ)
		b = append(b, f.raw...)
	}
	return b
}

// without drops every field numbered num.
func (fs pbFields) without(num protowire.Number) pbFields {
	return slices.DeleteFunc(slices.Clone(fs), func(f pbField) bool { return f.num == num })
}

// with appends fields at the end.
func (fs pbFields) with(extra ...pbField) pbFields {
	return slices.Concat(fs, extra)
}

// replaced puts f in place of the field numbered f.num.
func (fs pbFields) replaced(f pbField) pbFields {
	out := slices.Clone(fs)
	for i := range out {
		if out[i].num == f.num {
			out[i] = f
		}
	}
	return out
}

// repeated repeats the field numbered num right after itself.
func (fs pbFields) repeated(num protowire.Number) pbFields {
	var out pbFields
	for _, f := range fs {
		out = append(out, f)
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

// Test values. Keys are the 0x05 type byte and a recognizable pattern.
var (
	testRatchetKey  = serializedKey(0x05, 0x10, 32)
	testBaseKey     = serializedKey(0x05, 0x40, 32)
	testIdentityKey = serializedKey(0x05, 0x70, 32)
	testCiphertext  = bytes.Repeat([]byte{0xc1}, 32)
	testMAC         = []byte{0x4d, 0x41, 0x43, 0x2d, 0x6d, 0x61, 0x63, 0x21}
	testKyberCT     = append([]byte{0x08}, bytes.Repeat([]byte{0xcb}, 24)...)
	testAddresses   = bytes.Repeat([]byte{0xad}, 36)
	testPQRatchet   = []byte{0x01, 0x00, 0x00, 0x00}
)

// serializedKey returns typ || n bytes counting up from start.
func serializedKey(typ, start byte, n int) []byte {
	b := []byte{typ}
	for i := range n {
		b = append(b, start+byte(i))
	}
	return b
}

// signalFields are the fields of a valid SignalMessage, in libsignal's order.
func signalFields() pbFields {
	return pbFields{
		bytesField(smRatchetKey, testRatchetKey),
		varintField(smCounter, 7),
		varintField(smPreviousCounter, 3),
		bytesField(smCiphertext, testCiphertext),
	}
}

// signalBytes frames fields as a SignalMessage: version || protobuf || MAC.
func signalBytes(version byte, fs pbFields) []byte {
	return slices.Concat([]byte{version}, fs.encode(), testMAC)
}

// prekeyFields are the fields of a valid PreKeySignalMessage around inner,
// with the Kyber fields when kyber is set.
func prekeyFields(inner []byte, kyber bool) pbFields {
	fs := pbFields{
		varintField(pkPreKeyID, 42),
		bytesField(pkBaseKey, testBaseKey),
		bytesField(pkIdentityKey, testIdentityKey),
		bytesField(pkMessage, inner),
		varintField(pkRegistrationID, 1234),
		varintField(pkSignedPreKeyID, 7),
	}
	if kyber {
		fs = fs.with(varintField(pkKyberPreKeyID, 9), bytesField(pkKyberCiphertext, testKyberCT))
	}
	return fs
}

// prekeyBytes frames fields as a PreKeySignalMessage: version || protobuf.
func prekeyBytes(version byte, fs pbFields) []byte {
	return append([]byte{version}, fs.encode()...)
}

// validPreKey returns a valid PreKeySignalMessage of session version v
// (3 or 4) with version byte v<<4|v.
func validPreKey(v byte) []byte {
	version := v<<4 | v
	return prekeyBytes(version, prekeyFields(signalBytes(version, signalFields()), v >= 4))
}

// reversed returns the fields in reverse order.
func (fs pbFields) reversed() pbFields {
	out := slices.Clone(fs)
	slices.Reverse(out)
	return out
}
