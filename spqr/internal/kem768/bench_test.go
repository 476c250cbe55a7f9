package kem768

import (
	"crypto/rand"
	"testing"
)

func BenchmarkGenerateKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustKey(b, rand.Reader)
	}
}

func BenchmarkEncaps1(b *testing.B) {
	k := mustKey(b, rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := Encaps1(k.h, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncaps2(b *testing.B) {
	k := mustKey(b, rand.Reader)
	_, st, _, err := Encaps1(k.h, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encaps2(k.h, k.kv, st[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyVectorMatchesHeader(b *testing.B) {
	k := mustKey(b, rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if !KeyVectorMatchesHeader(k.kv[:], k.h[:]) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkDecaps(b *testing.B) {
	k := mustKey(b, rand.Reader)
	ct1, ct2, _ := encapsulate(b, k, rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decaps(k.dk[:], ct1[:], ct2[:]); err != nil {
			b.Fatal(err)
		}
	}
}
