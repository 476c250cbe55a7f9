package wire_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/wire"
)

// Fuzz targets for both parsers. Their seed corpora are committed in
// testdata/fuzz/<FuzzName>/:
//
//   - session-*: messages of real two-party sessions, written by
//     session's TestWriteFuzzCorpus (go test ./session/ -run
//     TestWriteFuzzCorpus -update-corpus), which also writes session's
//     record corpus;
//
// and the seeds added below with f.Add: every valid message of the table
// tests and the golden files. `go test` runs all seeds as unit tests; to
// fuzz: go test -run='^$' -fuzz=FuzzParseSignalMessage -fuzztime=60s ./wire/

// FuzzParseSignalMessage: never panics; every error wraps ErrMalformed or
// ErrVersion; what parses keeps its bytes, agrees with protobuf-go, and
// re-encodes to something that parses to the same fields.
func FuzzParseSignalMessage(f *testing.F) {
	for _, tc := range signalCases() {
		f.Add(tc.in)
	}
	for _, m := range roundTripSignals(f) {
		if len(m.Ciphertext) < 1024 {
			f.Add(sealed(m).Bytes())
		}
	}
	for _, b := range goldenSeeds(f, "signal-message") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.ParseSignalMessage(data)
		if err != nil {
			if m != nil {
				t.Fatal("message and error")
			}
			if !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkParsedSignal(t, m, data)
	})
}

func checkParsedSignal(t *testing.T, m *wire.SignalMessage, data []byte) {
	t.Helper()
	if !bytes.Equal(m.Bytes(), data) || !bytes.Equal(m.MACInput(), data[:len(data)-wire.MACSize]) ||
		!bytes.Equal(m.MAC[:], data[len(data)-wire.MACSize:]) {
		t.Fatal("Bytes, MACInput or MAC are not the input's")
	}
	if v := m.SessionVersion(); v != 3 && v != 4 {
		t.Fatalf("session version %d accepted", v)
	}
	if m.Addresses != nil && len(m.Addresses) != wire.AddressesSize {
		t.Fatalf("addresses of %d bytes accepted", len(m.Addresses))
	}
	if err := checkSignalReference(m); err != nil {
		t.Fatal(err)
	}
	again := sealed(m)
	if len(again.Bytes()) > wire.MaxMessageSize {
		// The encoder writes previous_counter even when the input left
		// it out, so a re-encoding can outgrow the limit by a few bytes.
		t.Skipf("re-encoding has %d bytes, over MaxMessageSize", len(again.Bytes()))
	}
	reparsed, err := wire.ParseSignalMessage(again.Bytes())
	if err != nil {
		t.Fatalf("re-encoding does not parse: %v\ninput %x\nre-encoded %x", err, data, again.Bytes())
	}
	if d := diffSignal(reparsed, m); d != "" {
		t.Fatalf("re-encoding parses to other fields: %s", d)
	}
	if twice := sealed(reparsed); !bytes.Equal(twice.Bytes(), again.Bytes()) {
		t.Fatal("encoding is not stable")
	}
}

// FuzzParsePreKeySignalMessage is FuzzParseSignalMessage for prekey
// messages, the embedded message included.
func FuzzParsePreKeySignalMessage(f *testing.F) {
	for _, tc := range prekeyCases() {
		f.Add(tc.in)
	}
	for _, b := range goldenSeeds(f, "prekey-signal-message") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.ParsePreKeySignalMessage(data)
		if err != nil {
			if m != nil {
				t.Fatal("message and error")
			}
			if !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(m.Bytes(), data) {
			t.Fatal("Bytes is not the input")
		}
		if m.Message == nil || m.Message.SessionVersion() != m.SessionVersion() {
			t.Fatal("embedded message missing or of another version")
		}
		if (m.KyberCiphertext != nil) != (m.SessionVersion() == 4) {
			t.Fatalf("version %d with kyber %t accepted", m.SessionVersion(), m.KyberCiphertext != nil)
		}
		if err := checkPreKeyReference(m); err != nil {
			t.Fatal(err)
		}
		checkParsedSignal(t, m.Message, m.Message.Bytes())
		again := encoded(m)
		if len(again.Bytes()) > wire.MaxMessageSize {
			t.Skipf("re-encoding has %d bytes, over MaxMessageSize", len(again.Bytes()))
		}
		reparsed, err := wire.ParsePreKeySignalMessage(again.Bytes())
		if err != nil {
			t.Fatalf("re-encoding does not parse: %v\ninput %x\nre-encoded %x", err, data, again.Bytes())
		}
		if d := diffPreKey(reparsed, m); d != "" {
			t.Fatalf("re-encoding parses to other fields: %s", d)
		}
		if twice := encoded(reparsed); !bytes.Equal(twice.Bytes(), again.Bytes()) {
			t.Fatal("encoding is not stable")
		}
	})
}

// goldenSeeds returns the serializations of the golden files that expect
// the given kind, and their embedded messages.
func goldenSeeds(tb testing.TB, expect string) [][]byte {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, path := range files {
		f := testvec.Read(tb, path)
		if f.Expect == expect {
			out = append(out, serialized(tb, f))
		}
		if expect == "signal-message" && f.Has("message") {
			out = append(out, f.Hex(tb, "message"))
		}
	}
	return out
}

// TestFuzzCorpusCommitted: the seed corpora made from real sessions are
// present, so a lost directory does not go unnoticed.
func TestFuzzCorpusCommitted(t *testing.T) {
	for _, name := range []string{"FuzzParseSignalMessage", "FuzzParsePreKeySignalMessage"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		if err != nil {
			t.Fatal(err)
		}
		sessions := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "session-") {
				sessions++
			}
		}
		if sessions < 3 {
			t.Errorf("%s: %d seeds from real sessions, want at least 3", name, sessions)
		}
	}
}
