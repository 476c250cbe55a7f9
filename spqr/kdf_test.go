package spqr

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	mrand "math/rand/v2"
	"testing"
)

// refHKDF is crypto/hkdf's HKDF-SHA256.
func refHKDF(t *testing.T, salt, ikm []byte, info string, n int) []byte {
	t.Helper()
	out, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randBytes(r *mrand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func rand32(r *mrand.ChaCha8) [32]byte { return [32]byte(randBytes(r, 32)) }

// TestHMACIsHMAC checks hmacSHA256 against crypto/hmac for keys shorter
// than, as long as, and longer than a block, and messages in one or more
// parts, short enough for the stack buffer and longer.
func TestHMACIsHMAC(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{'h', 'm', 'a', 'c'})
	pr := mrand.New(r)
	for i := range 2000 {
		key := randBytes(r, pr.IntN(3*sha256.BlockSize))
		if i%7 == 0 {
			key = nil
		}
		var parts [][]byte
		for range pr.IntN(4) {
			parts = append(parts, randBytes(r, pr.IntN(200)))
		}
		want := hmac.New(sha256.New, key)
		for _, p := range parts {
			want.Write(p)
		}
		if got := hmacSHA256(key, parts...); !bytes.Equal(got[:], want.Sum(nil)) {
			t.Fatalf("case %d: key of %d bytes, %d parts: differs from crypto/hmac", i, len(key), len(parts))
		}
	}
}

// TestKDFIsHKDF checks kdf, and every KDF of the package built on it,
// against crypto/hkdf on random inputs.
func TestKDFIsHKDF(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{'h', 'k', 'd', 'f'})
	pr := mrand.New(r)
	for i := range 500 {
		// kdf itself: any salt (none too), ikm, info, and output length,
		// including the longest and lengths that are no multiple of 32.
		salt := randBytes(r, pr.IntN(100))
		if i%5 == 0 {
			salt = nil
		}
		ikm := randBytes(r, pr.IntN(100))
		info := randBytes(r, pr.IntN(100))
		n := 1 + pr.IntN(300)
		if i == 0 {
			n = 255 * sha256.Size
		}
		got := make([]byte, n)
		kdf(got, salt, ikm, info)
		if want := refHKDF(t, salt, ikm, string(info), n); !bytes.Equal(got, want) {
			t.Fatalf("case %d: kdf differs from crypto/hkdf", i)
		}

		ep := pr.Uint64()
		if i%3 == 0 {
			ep = uint64(pr.IntN(5))
		}
		counter := pr.Uint32()
		k1, k2 := rand32(r), rand32(r)
		zero := make([]byte, 32)
		beEp := string(binary.BigEndian.AppendUint64(nil, ep))

		if got, want := KDFEpochSecret(ep, k1), refHKDF(t, zero, k1[:], labelSCKAKey+beEp, 32); !bytes.Equal(got[:], want) {
			t.Fatalf("case %d: KDFEpochSecret differs", i)
		}

		root, ab, ba := KDFChainStart(k1)
		if want := refHKDF(t, zero, k1[:], labelChainStart, 96); !bytes.Equal(cat(root, ab, ba), want) {
			t.Fatalf("case %d: KDFChainStart differs", i)
		}

		root, ab, ba = KDFChainAddEpoch(k1, k2)
		if want := refHKDF(t, k1[:], k2[:], labelChainAdd, 96); !bytes.Equal(cat(root, ab, ba), want) {
			t.Fatalf("case %d: KDFChainAddEpoch differs", i)
		}

		next, key := KDFChainNext(k1, counter)
		info4 := string(binary.BigEndian.AppendUint32(nil, counter))
		if want := refHKDF(t, zero, k1[:], info4+labelChainNext, 64); !bytes.Equal(cat(next, key), want) {
			t.Fatalf("case %d: KDFChainNext differs", i)
		}

		a := authenticator{root: k1, mac: k2}
		a.update(ep, k2[:])
		ikm = append(append([]byte(nil), k1[:]...), k2[:]...)
		if want := refHKDF(t, zero, ikm, labelAuthUpdate+beEp, 64); !bytes.Equal(cat(a.root, a.mac), want) {
			t.Fatalf("case %d: authenticator update differs", i)
		}
		mac := hmac.New(sha256.New, a.mac[:])
		mac.Write([]byte(labelHeaderMAC + beEp))
		mac.Write(info)
		if !bytes.Equal(a.macHeader(ep, info), mac.Sum(nil)) {
			t.Fatalf("case %d: header MAC differs", i)
		}
	}
}

func cat(keys ...[32]byte) []byte {
	var b []byte
	for _, k := range keys {
		b = append(b, k[:]...)
	}
	return b
}

// TestChainStepAllocs: a chain step (KDFChainNext) does not allocate.
func TestChainStepAllocs(t *testing.T) {
	var ck [32]byte
	if a := testing.AllocsPerRun(100, func() {
		ck, _ = KDFChainNext(ck, 7)
	}); a != 0 {
		t.Fatalf("KDFChainNext: %v allocations", a)
	}
}

func BenchmarkKDFChainNext(b *testing.B) {
	var ck [32]byte
	b.ReportAllocs()
	for b.Loop() {
		ck, _ = KDFChainNext(ck, 7)
	}
}
