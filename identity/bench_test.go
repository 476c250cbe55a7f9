package identity

import (
	"crypto/rand"
	"testing"
)

func BenchmarkDH(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	c, _ := GenerateKeyPair(rand.Reader)
	for b.Loop() {
		if _, err := a.DH(c.Public); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateKeyPair(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateKeyPair(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckCanonical(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	for b.Loop() {
		if err := a.Public.CheckCanonical(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	msg := make([]byte, 33)
	sig, err := ik.Sign(rand.Reader, msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !Verify(ik.Public, msg, sig[:]) {
			b.Fatal("refused")
		}
	}
}
