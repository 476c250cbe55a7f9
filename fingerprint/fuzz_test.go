package fingerprint

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzCompareScannable feeds arbitrary bytes to alice's side of the
// libsignal test pair. It must never panic, every error must be one of the
// two sentinels, and whatever parses must be exactly the canonical
// encoding of what was parsed.
func FuzzCompareScannable(f *testing.F) {
	alice, bob := aliceAndBob(f)
	f.Add(bob.Scannable())
	f.Add(alice.Scannable())
	f.Fuzz(func(t *testing.T, in []byte) {
		saved := bytes.Clone(in)
		ok, err := CompareScannable(alice, in)
		if !bytes.Equal(in, saved) {
			t.Fatal("input modified")
		}
		if err != nil {
			if ok {
				t.Fatal("true with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersionMismatch) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if ok != bytes.Equal(in, bob.Scannable()) {
			t.Fatalf("match = %v for %x", ok, in)
		}
		local, remote, err := parseScannable(in, StandardVersion)
		if err != nil {
			t.Fatalf("CompareScannable accepted what parseScannable refuses: %v", err)
		}
		if !bytes.Equal(encodeScannable(StandardVersion, local, remote), in) {
			t.Fatalf("accepted a non-canonical encoding %x", in)
		}
	})
}
