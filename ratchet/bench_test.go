package ratchet

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"

	"github.com/blindpost/blindpost/wire"
)

// The ratchet layer's share of the rows of bench/ (docs/performance.md):
// the same message flows without the session layer, its store and its
// prekey messages. One op is one message: encrypted, serialized, parsed
// and decrypted. allocs/op is therefore the steady-state allocations per
// message. Run with
//
//	go test -run '^$' -bench . -benchmem ./ratchet/

// benchSizes are the rows' plaintext sizes.
var benchSizes = []struct {
	name string
	size int
}{{"100B", 100}, {"4KiB", 4096}}

// burstSize is the number of messages of one out-of-order burst.
const burstSize = 16

func benchPlaintext(size int) []byte {
	b := make([]byte, size)
	if _, err := mrand.NewChaCha8([32]byte{byte(size), byte(size >> 8)}).Read(b); err != nil {
		panic("ratchet: internal error: " + err.Error()) // ChaCha8.Read never fails
	}
	return b
}

// benchPair is an established pair: Alice -> Bob, Bob -> Alice done, so
// Alice's next message carries a ratchet key Bob has not seen.
func benchPair(b *testing.B) [2]State {
	b.Helper()
	alice, bob := newPair(b, seeded(100))
	s := [2]State{alice, bob}
	benchSend(b, &s, 0, []byte("first"))
	benchSend(b, &s, 1, []byte("reply"))
	return s
}

// benchSend encrypts pt at s[from], parses the bytes at the other side as a
// receiver would, and decrypts them there with fresh randomness.
func benchSend(b *testing.B, s *[2]State, from int, pt []byte) {
	m := benchEncrypt(b, &s[from], pt)
	benchDecrypt(b, &s[1-from], m, pt)
}

func benchEncrypt(b *testing.B, s *State, pt []byte) []byte {
	next, m, err := s.Encrypt(pt, Header{}, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	*s = next
	return m.Bytes()
}

func benchDecrypt(b *testing.B, s *State, raw, want []byte) {
	m, err := wire.ParseSignalMessage(raw)
	if err != nil {
		b.Fatal(err)
	}
	next, got, err := s.Decrypt(m, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		b.Fatal("decrypted plaintext differs")
	}
	*s = next
}

// BenchmarkRows: oneway_<size> (same direction, symmetric steps only),
// alternating_<size> (every decrypt is a DH ratchet step), out_of_order
// (bursts of 16 100-byte messages decrypted in reverse order).
func BenchmarkRows(b *testing.B) {
	for _, sz := range benchSizes {
		pt := benchPlaintext(sz.size)
		b.Run("oneway_"+sz.name, func(b *testing.B) {
			s := benchPair(b)
			b.ReportAllocs()
			for b.Loop() {
				benchSend(b, &s, 0, pt)
			}
		})
		b.Run("alternating_"+sz.name, func(b *testing.B) {
			s := benchPair(b)
			b.ReportAllocs()
			from := 0
			for b.Loop() {
				benchSend(b, &s, from, pt)
				from = 1 - from
			}
		})
	}
	b.Run("out_of_order", func(b *testing.B) {
		pt := benchPlaintext(100)
		s := benchPair(b)
		b.ReportAllocs()
		burst := make([][]byte, 0, burstSize)
		for b.Loop() {
			burst = append(burst, benchEncrypt(b, &s[0], pt))
			if len(burst) < burstSize {
				continue
			}
			for i := len(burst) - 1; i >= 0; i-- {
				benchDecrypt(b, &s[1], burst[i], pt)
			}
			burst = burst[:0]
		}
	})
}

// BenchmarkKDF measures the key schedule's functions alone, which the
// floor of bench/ counts: per message and side one KDFCK and one
// DeriveMessageKeys, per DH ratchet step two KDFRK.
func BenchmarkKDF(b *testing.B) {
	r := seeded(101)
	var ck ChainKey
	var root RootKey
	var dh [KeySize]byte
	r.Read(ck.Key[:])
	r.Read(root[:])
	r.Read(dh[:])
	b.Run("KDFCK", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ck, _ = KDFCK(ck)
		}
	})
	b.Run("DeriveMessageKeys", func(b *testing.B) {
		b.ReportAllocs()
		seed := MessageSeed(ck.Key)
		for b.Loop() {
			mk := DeriveMessageKeys(seed, nil)
			seed[0] = mk.IV[0]
		}
	})
	b.Run("KDFRK", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			root, _ = KDFRK(root, dh)
		}
	})
}
