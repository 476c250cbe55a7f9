package ratchet

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestHKDFRFC5869 checks the HKDF construction the KDFs are built on, as
// they call it, against RFC 5869's vectors.
func TestHKDFRFC5869(t *testing.T) {
	f, err := os.Open("testdata/hkdf-sha256-rfc5869.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []map[string][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "expect:") {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		if k == "case" {
			cases = append(cases, map[string][]byte{})
			continue
		}
		b, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil {
			t.Fatal(err)
		}
		cases[len(cases)-1][k] = b
	}
	if len(cases) != 2 {
		t.Fatalf("%d cases read", len(cases))
	}
	for i, c := range cases {
		var salt []byte
		if len(c["salt"]) > 0 {
			salt = c["salt"]
		}
		okm, err := hkdf.Key(sha256.New, c["ikm"], salt, string(c["info"]), len(c["okm"]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(okm, c["okm"]) {
			t.Errorf("case %d: okm %x, want %x", i, okm, c["okm"])
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
