package identity

import (
	"encoding/binary"
	"fmt"
	"io"
)

// SignedPreKey is a medium-term prekey signed by the identity key (X3DH
// §3.2, SPK_B and Sig(IK_B, Encode(SPK_B))). The signature covers the
// serialized public key, type byte included, as libsignal signs it.
type SignedPreKey struct {
	ID        uint32
	KeyPair   KeyPair
	Signature [SignatureSize]byte
	// Created is the creation time in Unix milliseconds, kept so that
	// clients can rotate; the protocol does not use it.
	Created int64
}

// PreKey is a one-time prekey (X3DH §3.2, OPK_B).
type PreKey struct {
	ID      uint32
	KeyPair KeyPair
}

// GenerateSignedPreKey returns a fresh signed prekey with the given id,
// signed by ik.
func GenerateSignedPreKey(rand io.Reader, ik IdentityKeyPair, id uint32, createdMillis int64) (SignedPreKey, error) {
	kp, err := GenerateKeyPair(rand)
	if err != nil {
		return SignedPreKey{}, err
	}
	sig, err := ik.Sign(rand, kp.Public.Bytes())
	if err != nil {
		return SignedPreKey{}, err
	}
	return SignedPreKey{ID: id, KeyPair: kp, Signature: sig, Created: createdMillis}, nil
}

// GeneratePreKeys returns count one-time prekeys with ids start, start+1, ...
// Ids wrap within 1..2^24-1 as libsignal clients allocate them; 0 is never
// used since some implementations read it as "no prekey".
func GeneratePreKeys(rand io.Reader, start uint32, count int) ([]PreKey, error) {
	keys := make([]PreKey, 0, count)
	id := start
	for range count {
		id = nextPreKeyID(id)
		kp, err := GenerateKeyPair(rand)
		if err != nil {
			return nil, err
		}
		keys = append(keys, PreKey{ID: id, KeyPair: kp})
		id++
	}
	return keys, nil
}

// maxPreKeyID is the largest one-time prekey id (libsignal's Medium::MAX_VALUE).
const maxPreKeyID = 1<<24 - 1

func nextPreKeyID(id uint32) uint32 {
	if id == 0 || id > maxPreKeyID {
		return 1
	}
	return id
}

// VerifySignedPreKey checks a signed prekey's signature by the identity key.
func VerifySignedPreKey(ik PublicKey, spk PublicKey, sig []byte) error {
	if !Verify(ik, spk.Bytes(), sig) {
		return fmt.Errorf("identity: signed prekey signature does not verify")
	}
	return nil
}

// GenerateRegistrationID returns a random registration id in
// 1..MaxRegistrationID.
func GenerateRegistrationID(rand io.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return 0, fmt.Errorf("identity: registration id: %w", err)
	}
	return binary.LittleEndian.Uint32(b[:])%MaxRegistrationID + 1, nil
}
