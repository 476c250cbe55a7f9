package protocol

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

// vector is a testdata file: an "expect:" header naming what the file
// pins, then "key: value" lines.
type vector struct {
	expect string
	values map[string]string
}

func readVector(t *testing.T, path string) vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := vector{values: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		if k == "expect" {
			v.expect = strings.TrimSpace(val)
			continue
		}
		v.values[k] = strings.TrimSpace(val)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v vector) hex(t *testing.T, k string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.values[k])
	if err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return b
}

func (v vector) uint32(t *testing.T, k string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(v.values[k], 10, 32)
	if err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return uint32(n)
}

// TestTranscriptKnownAnswers pins the bytes each transcript signs: they
// are the protocol, and any change breaks every deployed client.
func TestTranscriptKnownAnswers(t *testing.T) {
	for _, name := range []string{"authenticate-transcript.txt", "register-transcript.txt", "identity-change-transcript.txt"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := readVector(t, "testdata/"+name)
			nonce, device := v.hex(t, "nonce"), v.uint32(t, "device")
			accountName := v.values["name"]
			var got []byte
			switch v.expect {
			case "authenticate transcript":
				got = AuthenticateTranscript(nonce, accountName, device)
			case "register transcript":
				key, err := identity.ParsePublicKey(v.hex(t, "identity_key"))
				if err != nil {
					t.Fatal(err)
				}
				got = RegisterTranscript(nonce, accountName, device, v.uint32(t, "registration_id"), key)
			case "identity change transcript":
				key, err := identity.ParsePublicKey(v.hex(t, "new_identity_key"))
				if err != nil {
					t.Fatal(err)
				}
				got = IdentityChangeTranscript(nonce, accountName, device, key)
			default:
				t.Fatalf("unknown expect %q", v.expect)
			}
			if want := v.hex(t, "transcript"); !bytes.Equal(got, want) {
				t.Fatalf("transcript\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestTranscriptsSeparated checks that no two purposes, names or devices
// share a transcript.
func TestTranscriptsSeparated(t *testing.T) {
	nonce := bytes.Repeat([]byte{1}, ChallengeSize)
	var key identity.PublicKey
	seen := map[string]string{}
	add := func(what string, b []byte) {
		if prev, ok := seen[string(b)]; ok {
			t.Errorf("%s and %s sign the same bytes", prev, what)
		}
		seen[string(b)] = what
	}
	add("authenticate", AuthenticateTranscript(nonce, "ab", 1))
	add("authenticate other name", AuthenticateTranscript(nonce, "a", 1))
	add("authenticate other device", AuthenticateTranscript(nonce, "ab", 2))
	add("register", RegisterTranscript(nonce, "ab", 1, 0, key))
	add("identity change", IdentityChangeTranscript(nonce, "ab", 1, key))
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "alice", "0b6f7e8c-2f1a-4b5c-9d3e-1a2b3c4d5e6f", "a.b_c-d", strings.Repeat("x", 64)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Alice", "a b", "a\x00b", "é", "a/b", strings.Repeat("x", 65)} {
		if CheckName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestChecks(t *testing.T) {
	if CheckDevice(0) == nil || CheckDevice(128) == nil || CheckDevice(1) != nil || CheckDevice(127) != nil {
		t.Error("device range")
	}
	if CheckRegistrationID(0) == nil || CheckRegistrationID(16381) == nil || CheckRegistrationID(16380) != nil {
		t.Error("registration id range")
	}
	kem := make([]byte, KEMPublicKeySize)
	kem[0] = KEMKeyTypeKyber1024
	if CheckKEMPublicKey(kem) != nil {
		t.Error("Kyber1024 key refused")
	}
	kem[0] = 0x0a
	if CheckKEMPublicKey(kem) == nil || CheckKEMPublicKey(kem[:100]) == nil {
		t.Error("bad KEM key accepted")
	}
	if CheckSecret(make([]byte, 31)) == nil || CheckSecret(make([]byte, 32)) != nil {
		t.Error("secret length")
	}
}
