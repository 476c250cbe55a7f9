package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/relay/store"
)

// kyberPublicOffset is where a packed Kyber1024 private key (the round-3
// reference layout, as CIRCL and libsignal store it) holds its public key:
// after the 1,536-byte IND-CPA secret key.
const kyberPublicOffset = 1536

// kyberPublicKeys lists the public Kyber prekeys the relay's database holds
// for the accounts in ids: one-time ones not handed out, and last-resort
// ones.
func kyberPublicKeys(ctx context.Context, r store.Reader, ids map[string]identity.PublicKey) ([]kem.PublicKey, error) {
	var out []kem.PublicKey
	for name := range ids {
		a, err := r.Account(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, dev := range a.Devices {
			keys, err := r.KEMPreKeys(ctx, store.Address{Name: name, Device: dev.ID})
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				pub, err := kem.ParsePublicKey(k.Key)
				if err != nil {
					return nil, err
				}
				out = append(out, pub)
			}
		}
	}
	return out, nil
}

// heldBytes is everything the provider holds as bytes: every file in the
// relay's folder (its database included, free pages and all) and the
// content of every tapped envelope.
func heldBytes(relayDir string, tapped []store.Envelope) ([][]byte, error) {
	var blobs [][]byte
	err := filepath.WalkDir(relayDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		blobs = append(blobs, b)
		return err
	})
	for _, e := range tapped {
		blobs = append(blobs, e.Content)
	}
	return blobs, err
}

// findKyberKeys searches blobs for the private half of any of pubs. Every
// place where one of pubs occurs at least kyberPublicOffset bytes in is
// tried as a packed private key, and kept if it opens an encapsulation to
// that public key.
func findKyberKeys(pubs []kem.PublicKey, blobs [][]byte) ([]kem.KeyPair, error) {
	byHead := map[uint64][]kem.PublicKey{}
	for _, p := range pubs {
		h := binary.LittleEndian.Uint64(p[:8])
		byHead[h] = append(byHead[h], p)
	}
	var found []kem.KeyPair
	seen := map[kem.PublicKey]bool{}
	for _, b := range blobs {
		for start := 0; start+kem.PrivateKeySize <= len(b); start++ {
			at := b[start+kyberPublicOffset:]
			for _, p := range byHead[binary.LittleEndian.Uint64(at)] {
				if seen[p] || !bytes.HasPrefix(at, p[:]) {
					continue
				}
				kp := kem.KeyPair{Public: p, Private: kem.PrivateKey(b[start:])}
				ok, err := opens(kp)
				if err != nil {
					return nil, err
				}
				if ok {
					seen[p] = true
					found = append(found, kp)
				}
			}
		}
	}
	return found, nil
}

// opens reports whether kp's private half decapsulates a fresh
// encapsulation to its public half.
func opens(kp kem.KeyPair) (bool, error) {
	ct, want, err := kp.Public.Encapsulate(rand.Reader)
	if err != nil {
		return false, err
	}
	return kp.Private.Decapsulate(ct) == want, nil
}

// byteCount is the total size of blobs, in KiB.
func byteCount(blobs [][]byte) string {
	n := 0
	for _, b := range blobs {
		n += len(b)
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}
