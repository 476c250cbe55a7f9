package kem768

import (
	"crypto/mlkem"
	"crypto/sha3"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/pke/kyber/kyber768"
)

// Go cannot promise that the secrets below leave no copies: the compiler
// may spill them, and crypto/mlkem keeps its expanded keys in memory it
// does not wipe. The clear calls remove the copies this package owns.

// GenerateKey reads a 64-byte seed d || z from rand and returns the two
// parts of the encapsulation key of ML-KEM.KeyGen_internal(d, z) (FIPS 203
// Algorithm 16), and the seed as the decapsulation key.
func GenerateKey(rand io.Reader) (Header, KeyVector, DecapsulationKey, error) {
	var dk DecapsulationKey
	if err := read(rand, dk[:], "key generation seed"); err != nil {
		return Header{}, KeyVector{}, DecapsulationKey{}, err
	}
	h, kv, err := keyFromSeed(&dk)
	if err != nil {
		clear(dk[:])
		return Header{}, KeyVector{}, DecapsulationKey{}, err
	}
	return h, kv, dk, nil
}

// keyFromSeed splits the encapsulation key of the seed into header and key
// vector.
func keyFromSeed(dk *DecapsulationKey) (Header, KeyVector, error) {
	k, err := mlkem.NewDecapsulationKey768(dk[:])
	if err != nil {
		return Header{}, KeyVector{}, fmt.Errorf("kem768: generate key: %w", err)
	}
	ek := k.EncapsulationKey().Bytes()
	var h Header
	copy(h[:rhoSize], ek[KeyVectorSize:])
	hash := sha3.Sum256(ek)
	copy(h[rhoSize:], hash[:])
	return h, KeyVector(ek[:KeyVectorSize]), nil
}

// Encaps1 reads the message m from rand and starts an encapsulation to the
// key whose header is h (crate encaps1): ct1 is c1 of K-PKE.Encrypt, K the
// shared secret, and the state m what Encaps2 needs. The header is not
// checked: a forged header yields a secret the peer cannot decapsulate.
func Encaps1(h Header, rand io.Reader) (Ciphertext1, EncapsState, SharedSecret, error) {
	var m EncapsState
	if err := read(rand, m[:], "encapsulation message"); err != nil {
		return Ciphertext1{}, EncapsState{}, SharedSecret{}, err
	}
	ct1, k := encaps1(&h, &m)
	return ct1, m, k, nil
}

// encaps1 is Encaps1 with a given m: (K, r) = G(m || H(ek)) and c1 of
// K-PKE.Encrypt(t̂ = 0 || ρ, m, r).
func encaps1(h *Header, m *EncapsState) (Ciphertext1, SharedSecret) {
	k, r := hashG(h, m)
	defer clear(r[:])
	var ek [EncapsulationKeySize]byte // t̂ = 0: c1 does not depend on it
	copy(ek[KeyVectorSize:], h[:rhoSize])
	var pk kyber768.PublicKey
	pk.Unpack(ek[:])
	ct := encrypt(&pk, m, &r)
	return Ciphertext1(ct[:Ciphertext1Size]), k
}

// Encaps2 finishes the encapsulation Encaps1 started with state (crate
// encaps2): ct2 is c2 of K-PKE.Encrypt(ek, m, r) with ek = keyVector || ρ.
// It refuses a key vector that does not match the header (see
// KeyVectorMatchesHeader) and a state of the wrong length.
func Encaps2(h Header, keyVector KeyVector, state []byte) (Ciphertext2, error) {
	if err := exactly(state, EncapsStateSize, "encapsulation state"); err != nil {
		return Ciphertext2{}, err
	}
	m := EncapsState(state)
	defer clear(m[:])
	return encaps2(&h, &keyVector, &m)
}

func encaps2(h *Header, kv *KeyVector, m *EncapsState) (Ciphertext2, error) {
	if !KeyVectorMatchesHeader(kv[:], h[:]) {
		return Ciphertext2{}, errors.New("kem768: key vector does not match the header")
	}
	_, r := hashG(h, m)
	defer clear(r[:])
	var pk kyber768.PublicKey
	if err := pk.UnpackMLKEM(encapsulationKey(h, kv)); err != nil {
		return Ciphertext2{}, fmt.Errorf("kem768: key vector: %w", err)
	}
	ct := encrypt(&pk, m, &r)
	return Ciphertext2(ct[Ciphertext1Size:]), nil
}

// KeyVectorMatchesHeader reports whether keyVector completes header
// (crate ek_matches_header): both have their sizes, SHA3-256(keyVector ||
// ρ) is the header's hash, and the encapsulation key passes the FIPS 203
// §7.2 modulus check (every coefficient of t̂ below q = 3329).
func KeyVectorMatchesHeader(keyVector, header []byte) bool {
	if len(keyVector) != KeyVectorSize || len(header) != HeaderSize {
		return false
	}
	ek := encapsulationKey((*Header)(header), (*KeyVector)(keyVector))
	hash := sha3.Sum256(ek)
	if subtle.ConstantTimeCompare(hash[:], header[rhoSize:]) != 1 {
		return false
	}
	_, err := mlkem.NewEncapsulationKey768(ek)
	return err == nil
}

// Decaps returns the shared secret of the ciphertext ct1 || ct2 for the
// decapsulation key dk (crate decaps; ML-KEM.Decaps, FIPS 203 Algorithm
// 21). A wrong ciphertext gives an unrelated secret (implicit rejection),
// not an error; only wrong lengths are errors.
func Decaps(dk, ct1, ct2 []byte) (SharedSecret, error) {
	if err := errors.Join(
		exactly(dk, DecapsulationKeySize, "decapsulation key"),
		exactly(ct1, Ciphertext1Size, "ct1"),
		exactly(ct2, Ciphertext2Size, "ct2"),
	); err != nil {
		return SharedSecret{}, err
	}
	k, err := mlkem.NewDecapsulationKey768(dk)
	if err != nil {
		return SharedSecret{}, fmt.Errorf("kem768: decapsulation key: %w", err)
	}
	ct := make([]byte, 0, CiphertextSize)
	ct = append(append(ct, ct1...), ct2...)
	ss, err := k.Decapsulate(ct)
	if err != nil {
		return SharedSecret{}, fmt.Errorf("kem768: decapsulate: %w", err)
	}
	defer clear(ss)
	return SharedSecret(ss), nil
}

// hashG returns (K, r) = G(m || H(ek)) = SHA3-512(m || H(ek)), H(ek) being
// the header's hash (FIPS 203 Algorithm 17, line 1).
func hashG(h *Header, m *EncapsState) (SharedSecret, [32]byte) {
	g := sha3.New512()
	g.Write(m[:])
	g.Write(h[rhoSize:])
	var kr [64]byte
	g.Sum(kr[:0])
	defer clear(kr[:])
	return SharedSecret(kr[:32]), [32]byte(kr[32:])
}

// encrypt is K-PKE.Encrypt(ek, m, r) (FIPS 203 Algorithm 14).
func encrypt(pk *kyber768.PublicKey, m *EncapsState, r *[32]byte) [CiphertextSize]byte {
	var ct [CiphertextSize]byte
	pk.EncryptTo(ct[:], m[:], r[:])
	return ct
}

// encapsulationKey returns ek = keyVector || ρ.
func encapsulationKey(h *Header, kv *KeyVector) []byte {
	ek := make([]byte, 0, EncapsulationKeySize)
	return append(append(ek, kv[:]...), h[:rhoSize]...)
}

// read fills b from rand.
func read(rand io.Reader, b []byte, what string) error {
	if rand == nil {
		return fmt.Errorf("kem768: %s: no random source", what)
	}
	if _, err := io.ReadFull(rand, b); err != nil {
		return fmt.Errorf("kem768: %s: %w", what, err)
	}
	return nil
}
