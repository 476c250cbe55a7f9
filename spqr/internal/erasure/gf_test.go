package erasure

import (
	"math/rand/v2"
	"testing"
)

// refMul is the schoolbook product in GF(2)[x] reduced mod fieldPoly, bit by
// bit: the reference the tables are checked against.
func refMul(a, b uint16) uint16 {
	var p uint32
	for i := range 16 {
		if b>>i&1 != 0 {
			p ^= uint32(a) << i
		}
	}
	for i := 31; i >= 16; i-- {
		if p>>i&1 != 0 {
			p ^= fieldPoly << (i - 16)
		}
	}
	return uint16(p)
}

// refInv is a^(2^16 - 2) = 1/a by square-and-multiply with refMul.
func refInv(a uint16) uint16 {
	r, sq := uint16(1), a
	for e := fieldOrder - 2; e > 0; e >>= 1 {
		if e&1 != 0 {
			r = refMul(r, sq)
		}
		sq = refMul(sq, sq)
	}
	return r
}

// TestReductionPolynomial pins the field by hand: x^15 · x = x^16 =
// x^12 + x^3 + x + 1, and x^15 · x^2 = x^13 + x^4 + x^2 + x.
func TestReductionPolynomial(t *testing.T) {
	for _, c := range []struct{ a, b, want uint16 }{
		{0x8000, 0x0002, 0x100b},
		{0x8000, 0x0004, 0x2016},
		{0x0003, 0x0003, 0x0005}, // (x+1)² = x²+1
		{0x0006, 0x0007, 0x0012}, // (x²+x)(x²+x+1) = x⁴+x
	} {
		if got := refMul(c.a, c.b); got != c.want {
			t.Errorf("refMul(%#x, %#x) = %#x, want %#x", c.a, c.b, got, c.want)
		}
		if got := mul(c.a, c.b); got != c.want {
			t.Errorf("mul(%#x, %#x) = %#x, want %#x", c.a, c.b, got, c.want)
		}
	}
}

// TestGeneratorIsPrimitive checks that the powers of the generator are all
// 65535 nonzero elements, each once, and that the log table inverts them.
func TestGeneratorIsPrimitive(t *testing.T) {
	var seen [fieldOrder]bool
	a := uint16(1)
	for i := range groupOrder {
		if a == 0 || seen[a] {
			t.Fatalf("g^%d = %#x repeats: the generator is not primitive", i, a)
		}
		seen[a] = true
		if expTable[i] != a || expTable[i+groupOrder] != a || int(logTable[a]) != i {
			t.Fatalf("tables wrong at g^%d = %#x", i, a)
		}
		a = refMul(a, generator)
	}
	if a != 1 {
		t.Fatalf("g^65535 = %#x, want 1", a)
	}
}

// TestMulMatchesReference cross-checks the table multiply against the
// bitwise one: every a against a few fixed b, and random pairs.
func TestMulMatchesReference(t *testing.T) {
	for a := range fieldOrder {
		for _, b := range []uint16{0, 1, 2, 0x8000, 0xffff, 0x100b, uint16(a)} {
			if got, want := mul(uint16(a), b), refMul(uint16(a), b); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		a, b := uint16(r.Uint32()), uint16(r.Uint32())
		if got, want := mul(a, b), refMul(a, b); got != want {
			t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
		}
	}
}

// TestInverse checks division on logarithms, g^(0 - log a) = 1/a, for
// every nonzero a against exponentiation, and a · (1/a) = 1.
func TestInverse(t *testing.T) {
	for a := 1; a < fieldOrder; a++ {
		inv := expTable[subLog(0, uint32(logTable[a]))]
		if p := refMul(uint16(a), inv); p != 1 {
			t.Fatalf("%#x · 1/%#x = %#x", a, a, p)
		}
		if a < 300 || a%997 == 0 {
			if want := refInv(uint16(a)); inv != want {
				t.Fatalf("1/%#x = %#x, want %#x", a, inv, want)
			}
		}
	}
}

// TestLogArithmetic checks addLog and subLog at the edges of [0, 65535).
func TestLogArithmetic(t *testing.T) {
	for _, c := range []struct{ a, b, sum, diff uint32 }{
		{0, 0, 0, 0},
		{65534, 1, 0, 65533},
		{65534, 65534, 65533, 0},
		{1, 65534, 0, 2},
	} {
		if got := addLog(c.a, c.b); got != c.sum {
			t.Errorf("addLog(%d, %d) = %d, want %d", c.a, c.b, got, c.sum)
		}
		if got := subLog(c.a, c.b); got != c.diff {
			t.Errorf("subLog(%d, %d) = %d, want %d", c.a, c.b, got, c.diff)
		}
	}
}
