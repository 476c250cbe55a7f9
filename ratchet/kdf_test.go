package ratchet

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
)

// TestHKDFRFC5869 checks the HKDF construction the KDFs are built on, as
// they call it, against RFC 5869's vectors.
func TestHKDFRFC5869(t *testing.T) {
	f := testvec.Read(t, "testdata/hkdf-sha256-rfc5869.txt")
	if f.Expect != "okm" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	ikms, salts, infos, okms := f.All("ikm"), f.All("salt"), f.All("info"), f.All("okm")
	if len(ikms) != 2 || len(salts) != 2 || len(infos) != 2 || len(okms) != 2 {
		t.Fatal("want two complete cases")
	}
	for i := range okms {
		var salt []byte
		if salts[i] != "" {
			salt = testvec.Decode(t, salts[i])
		}
		want := testvec.Decode(t, okms[i])
		okm, err := hkdf.Key(sha256.New, testvec.Decode(t, ikms[i]), salt, string(testvec.Decode(t, infos[i])), len(want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(okm, want) {
			t.Errorf("case %d: okm %x, want %x", i, okm, want)
		}
	}
}

// TestKDFCKFormula re-derives KDF_CK from its definition.
func TestKDFCKFormula(t *testing.T) {
	ck := ChainKey{Key: [KeySize]byte{1, 2, 3}, Index: 41}
	next, seed := KDFCK(ck)
	m := hmac.New(sha256.New, ck.Key[:])
	m.Write([]byte{0x01})
	if !bytes.Equal(m.Sum(nil), seed[:]) {
		t.Error("message seed is not HMAC(ck, 0x01)")
	}
	m = hmac.New(sha256.New, ck.Key[:])
	m.Write([]byte{0x02})
	if !bytes.Equal(m.Sum(nil), next.Key[:]) || next.Index != 42 {
		t.Error("next chain key is not HMAC(ck, 0x02) at index + 1")
	}
}

// TestKDFRKFormula re-derives KDF_RK from its definition.
func TestKDFRKFormula(t *testing.T) {
	rk := RootKey{9}
	dh := [KeySize]byte{7}
	root, chain := KDFRK(rk, dh)
	okm, _ := hkdf.Key(sha256.New, dh[:], rk[:], "WhisperRatchet", 64)
	if !bytes.Equal(root[:], okm[:32]) || !bytes.Equal(chain.Key[:], okm[32:]) || chain.Index != 0 {
		t.Error("KDF_RK is not HKDF(salt = rk, ikm = dh, \"WhisperRatchet\")")
	}
	mk := DeriveMessageKeys(MessageSeed{5}, nil)
	okm, _ = hkdf.Key(sha256.New, []byte{5, 31: 0}, nil, "WhisperMessageKeys", 80)
	if !bytes.Equal(mk.CipherKey[:], okm[:32]) || !bytes.Equal(mk.MACKey[:], okm[32:64]) || !bytes.Equal(mk.IV[:], okm[64:]) {
		t.Error("message keys are not HKDF(seed, \"WhisperMessageKeys\")")
	}
	pq := [KeySize]byte{8}
	if DeriveMessageKeys(MessageSeed{5}, &pq) == mk {
		t.Error("the post-quantum salt does not change the message keys")
	}
}
