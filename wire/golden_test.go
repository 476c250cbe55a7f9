package wire_test

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/wire"
)

// TestGolden checks the encoders and parsers against serializations pinned
// byte for byte in testdata/*.txt. Each file gives a message's field values
// and its serialization as a sequence of "serialized" pieces, one per field,
// each derived by hand from the protobuf encoding rules with the
// derivation in a comment above it, and the whole checked with
// `protoc --decode_raw` (its output is quoted in the file). The field
// order is libsignal's (prost writes fields in field-number order).
//
// expect: signal-message or prekey-signal-message. Byte strings are hex;
// counters and ids are decimal.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("%d golden files, want at least 4", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			f := testvec.Read(t, path)
			want := serialized(t, f)
			switch f.Expect {
			case "signal-message":
				goldenSignal(t, f, want)
			case "prekey-signal-message":
				goldenPreKey(t, f, want)
			default:
				t.Fatalf("unknown expect %q", f.Expect)
			}
		})
	}
}

// serialized concatenates the file's "serialized" pieces.
func serialized(t testing.TB, f testvec.File) []byte {
	t.Helper()
	var b []byte
	for _, piece := range f.All("serialized") {
		b = append(b, testvec.Decode(t, strings.ReplaceAll(piece, " ", ""))...)
	}
	return b
}

func decimal(t *testing.T, f testvec.File, key string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(f.Str(t, key), 10, 32)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return uint32(n)
}

func optionalHex(t *testing.T, f testvec.File, key string) []byte {
	t.Helper()
	if !f.Has(key) {
		return nil
	}
	return f.Hex(t, key)
}

func goldenSignalFields(t *testing.T, f testvec.File) *wire.SignalMessage {
	t.Helper()
	version := f.Hex(t, "version")
	if len(version) != 1 {
		t.Fatalf("version %x", version)
	}
	return &wire.SignalMessage{
		Version:         version[0],
		RatchetKey:      mustKey(t, f.Hex(t, "ratchet_key")),
		Counter:         decimal(t, f, "counter"),
		PreviousCounter: decimal(t, f, "previous_counter"),
		Ciphertext:      f.Hex(t, "ciphertext"),
		PQRatchet:       optionalHex(t, f, "pq_ratchet"),
		Addresses:       optionalHex(t, f, "addresses"),
		MAC:             [wire.MACSize]byte(f.Hex(t, "mac")),
	}
}

func goldenSignal(t *testing.T, f testvec.File, want []byte) {
	m := goldenSignalFields(t, f)
	if got := sealed(m).Bytes(); !bytes.Equal(got, want) {
		t.Errorf("encoding\n%x\nwant\n%x", got, want)
	}
	parsed, err := wire.ParseSignalMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSignal(parsed, m); d != "" {
		t.Errorf("parsed fields differ: %s", d)
	}
	if !bytes.Equal(parsed.Bytes(), want) {
		t.Error("Bytes() is not the input")
	}
}

func goldenPreKey(t *testing.T, f testvec.File, want []byte) {
	version := f.Hex(t, "version")
	if len(version) != 1 {
		t.Fatalf("version %x", version)
	}
	inner, err := wire.ParseSignalMessage(f.Hex(t, "message"))
	if err != nil {
		t.Fatalf("embedded message: %v", err)
	}
	m := &wire.PreKeySignalMessage{
		Version:         version[0],
		RegistrationID:  decimal(t, f, "registration_id"),
		SignedPreKeyID:  decimal(t, f, "signed_pre_key_id"),
		BaseKey:         mustKey(t, f.Hex(t, "base_key")),
		IdentityKey:     mustKey(t, f.Hex(t, "identity_key")),
		Message:         inner,
		KyberCiphertext: optionalHex(t, f, "kyber_ciphertext"),
	}
	if f.Has("pre_key_id") {
		m.PreKeyID, m.HasPreKeyID = decimal(t, f, "pre_key_id"), true
	}
	if f.Has("kyber_pre_key_id") {
		m.KyberPreKeyID = decimal(t, f, "kyber_pre_key_id")
	}
	if got := encoded(m).Bytes(); !bytes.Equal(got, want) {
		t.Errorf("encoding\n%x\nwant\n%x", got, want)
	}
	parsed, err := wire.ParsePreKeySignalMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffPreKey(parsed, m); d != "" {
		t.Errorf("parsed fields differ: %s", d)
	}
	if !bytes.Equal(parsed.Bytes(), want) {
		t.Error("Bytes() is not the input")
	}
}
