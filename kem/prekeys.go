package kem

import (
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
)

// PreKey is a Kyber prekey: a Kyber1024 key pair signed by the identity key
// (PQXDH §3.2: a "post-quantum signed one-time prekey" PQOPK_B, or the
// last-resort PQSPK_B, with Sig(IK_B, EncodeKEM(PQPK_B))). The signature
// covers the serialized public key, its 0x08 type byte included, as
// libsignal signs it. One-time and last-resort keys differ only in what the
// store does with them after use.
type PreKey struct {
	ID        uint32
	KeyPair   KeyPair
	Signature [identity.SignatureSize]byte
	// Created is the creation time in Unix milliseconds, kept so that
	// clients can rotate; the protocol does not use it.
	Created int64
}

// GeneratePreKey returns a fresh Kyber prekey with the given id, signed by
// ik. It reads the key's seed, then the signature's randomness, from rand.
func GeneratePreKey(rand io.Reader, ik identity.IdentityKeyPair, id uint32, createdMillis int64) (PreKey, error) {
	kp, err := GenerateKeyPair(rand)
	if err != nil {
		return PreKey{}, fmt.Errorf("kem: prekey: %w", err)
	}
	sig, err := ik.Sign(rand, kp.Public.Bytes())
	if err != nil {
		return PreKey{}, fmt.Errorf("kem: prekey: %w", err)
	}
	return PreKey{ID: id, KeyPair: kp, Signature: sig, Created: createdMillis}, nil
}

// VerifyPreKey checks a Kyber prekey's signature by the identity key.
func VerifyPreKey(ik identity.PublicKey, pk PublicKey, sig []byte) error {
	if !identity.Verify(ik, pk.Bytes(), sig) {
		return fmt.Errorf("kem: kyber prekey signature does not verify")
	}
	return nil
}
