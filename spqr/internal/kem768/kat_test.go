package kem768

import (
	"bytes"
	"crypto/sha3"
	"strconv"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
)

// TestCAST runs the self-test vector of Go's FIPS module through the
// two-part encapsulation.
func TestCAST(t *testing.T) {
	t.Parallel()
	f := testvec.Read(t, "testdata/mlkem768-cast.txt")
	if f.Expect != "shared-secret" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	dk := DecapsulationKey(f.Hex(t, "seed"))
	m := EncapsState(f.Hex32(t, "m"))
	want := f.Hex32(t, "k")
	h, kv, err := keyFromSeed(&dk)
	if err != nil {
		t.Fatal(err)
	}
	ct1, k1 := encaps1(&h, &m)
	ct2, err := encaps2(&h, &kv, &m)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Decaps(dk[:], ct1[:], ct2[:])
	if err != nil {
		t.Fatal(err)
	}
	if [32]byte(k1) != want || [32]byte(k2) != want {
		t.Fatalf("K = %x (encaps), %x (decaps), want %x", k1[:], k2[:], want)
	}
}

// TestAccumulated replays Go's accumulated ML-KEM-768 vectors with the
// two-part encapsulation in place of ML-KEM.Encaps_internal. The 10000
// round case is skipped with -short.
func TestAccumulated(t *testing.T) {
	f := testvec.Read(t, "testdata/mlkem768-accumulated.txt")
	if f.Expect != "accumulated" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	ns, sums := f.All("n"), f.All("sum")
	if len(ns) != len(sums) || len(ns) == 0 {
		t.Fatal("want n/sum pairs")
	}
	for i := range ns {
		n, err := strconv.Atoi(ns[i])
		if err != nil {
			t.Fatal(err)
		}
		want := testvec.Decode(t, sums[i])
		t.Run(ns[i], func(t *testing.T) {
			t.Parallel()
			if n > 100 && testing.Short() {
				t.Skip("long")
			}
			if got := accumulate(t, n); !bytes.Equal(got, want) {
				t.Fatalf("sum %x, want %x", got, want)
			}
		})
	}
}

func accumulate(t *testing.T, n int) []byte {
	s, o := sha3.NewSHAKE128(), sha3.NewSHAKE128()
	var dk DecapsulationKey
	var m EncapsState
	var random [CiphertextSize]byte
	for range n {
		s.Read(dk[:])
		h, kv, err := keyFromSeed(&dk)
		if err != nil {
			t.Fatal(err)
		}
		o.Write(kv[:])
		o.Write(h[:rhoSize])
		s.Read(m[:])
		ct1, k := encaps1(&h, &m)
		ct2, err := encaps2(&h, &kv, &m)
		if err != nil {
			t.Fatal(err)
		}
		o.Write(ct1[:])
		o.Write(ct2[:])
		o.Write(k[:])
		kd, err := Decaps(dk[:], ct1[:], ct2[:])
		if err != nil || kd != k {
			t.Fatalf("decapsulation: %v", err)
		}
		s.Read(random[:])
		kr, err := Decaps(dk[:], random[:Ciphertext1Size], random[Ciphertext1Size:])
		if err != nil {
			t.Fatal(err)
		}
		o.Write(kr[:])
	}
	sum := make([]byte, 32)
	o.Read(sum)
	return sum
}
