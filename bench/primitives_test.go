package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// BenchmarkPrimitives measures, one by one, the primitives the floor is
// made of, and the costlier ways blindpost and go.mau.fi/libsignal reach
// them (docs/performance.md explains the rows with these numbers). Names
// ending in _floor are the implementations the floor uses; those ending in
// _crypto_ecdh are the standard library's X25519, which the floor does not
// use. It is not part of the comparison table.
func BenchmarkPrimitives(b *testing.B) {
	var key [32]byte
	rand.Read(key[:])

	// X25519 as the floor does it, with the implementations blindpost
	// uses: CIRCL's agreement, edwards25519's fixed-base key generation.
	fpriv, fpeer := newFloorKey(), newFloorKey()
	b.Run("X25519_agreement_CIRCL_floor", func(b *testing.B) {
		// (*floorKey).dh: circl/dh/x25519.Shared on the private key's
		// bytes, one scalar multiplication (as identity.PrivateKey.DH, which
		// also checks that the key is canonical).
		for b.Loop() {
			if _, err := fpriv.dh(&fpeer.pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519_keygen_edwards25519_floor", func(b *testing.B) {
		// newFloorKey: 32 bytes from crypto/rand, clamped, and the public
		// key from a fixed-base Edwards multiplication (precomputed
		// tables) mapped to the Montgomery u-coordinate (as identity's
		// key generation).
		for b.Loop() {
			_ = newFloorKey()
		}
	})

	// X25519 through crypto/ecdh, which the floor does not use: what
	// other code pays.
	x := ecdh.X25519()
	priv, err := x.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	peer, err := x.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("X25519_agreement_crypto_ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := priv.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519_keygen_crypto_ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519_agreement_from_bytes_crypto_ecdh", func(b *testing.B) {
		// What x/crypto's curve25519.X25519 and ScalarMult (so
		// go.mau.fi/libsignal's agreements) do: crypto/ecdh.NewPrivateKey
		// computes the public key, a second scalar multiplication.
		for b.Loop() {
			k, err := x.NewPrivateKey(priv.Bytes())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := k.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	_, _, bundle := newFloorParties(b, false)
	b.Run("XEdDSA_verify", func(b *testing.B) {
		for b.Loop() {
			if !floorXEdDSAVerify(bundle.identity[1:], bundle.spk[:], bundle.sig[:]) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("torsion_check", func(b *testing.B) {
		// What x3dh.Respond does to the base key beyond the floor.
		pub := identity.PublicKey(bundle.spk[1:])
		for b.Loop() {
			if !pub.IsTorsionFree() {
				b.Fatal("torsion")
			}
		}
	})
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	kpk, err := kem.GeneratePreKey(rand.Reader, ik, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Kyber1024_encapsulate", func(b *testing.B) {
		// As the floor's Alice: unpack the bundle's key (which expands the
		// matrix A), then encapsulate.
		var seed [kyber1024.EncapsulationSeedSize]byte
		var ct [kyber1024.CiphertextSize]byte
		var ss [kyber1024.SharedKeySize]byte
		for b.Loop() {
			var pk kyber1024.PublicKey
			pk.Unpack(kpk.KeyPair.Public[:])
			pk.EncapsulateTo(ct[:], ss[:], seed[:])
		}
	})
	b.Run("Kyber1024_decapsulate", func(b *testing.B) {
		// As the floor's Bob: the private key unpacked once.
		var sk kyber1024.PrivateKey
		sk.Unpack(kpk.KeyPair.Private[:])
		ct, _, err := kpk.KeyPair.Public.Encapsulate(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		var ss [kyber1024.SharedKeySize]byte
		for b.Loop() {
			sk.DecapsulateTo(ss[:], ct[:])
		}
	})
	b.Run("Kyber1024_decapsulate_from_bytes", func(b *testing.B) {
		// What kem.PrivateKey.Decapsulate does: unpack the stored key
		// (expanding A again) for each decapsulation.
		ct, _, err := kpk.KeyPair.Public.Encapsulate(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			kpk.KeyPair.Decapsulate(ct)
		}
	})
	b.Run("ML-KEM-768_keygen", func(b *testing.B) {
		// SPQR's key pair of an epoch (crypto/mlkem; SPQR's own incremental
		// ML-KEM-768 is internal to package spqr).
		for b.Loop() {
			if _, err := mlkem.GenerateKey768(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KDF_CK", func(b *testing.B) {
		b.ReportAllocs()
		ck := key
		for b.Loop() {
			_, ck = floorKDFCK(&ck)
		}
	})
	b.Run("HKDF_80", func(b *testing.B) {
		b.ReportAllocs()
		var out [80]byte
		for b.Loop() {
			floorHKDF(out[:], key[:], nil, infoMessageKeys)
		}
	})
	b.Run("HKDF_80_crypto_hkdf_Key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hkdf.Key(sha256.New, key[:], nil, infoMessageKeys, 80); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("HKDF_64", func(b *testing.B) {
		b.ReportAllocs()
		var out [64]byte
		for b.Loop() {
			floorHKDF(out[:], key[:], key[:], infoRatchet)
		}
	})
	for _, sz := range []struct {
		name string
		ct   int
	}{{"100B", 112}, {"4KiB", 4112}} {
		buf := make([]byte, sz.ct)
		b.Run("AES-256-CBC_"+sz.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				block, err := aes.NewCipher(key[:])
				if err != nil {
					b.Fatal(err)
				}
				cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(buf, buf)
			}
		})
		// The MAC input beyond the identities: version, ratchet key,
		// counters and the ciphertext field.
		msg := make([]byte, 1+35+2+2+3+sz.ct)
		var ids [33]byte
		b.Run("MAC_"+sz.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				floorMAC(key[:], &ids, &ids, msg)
			}
		})
	}
}
