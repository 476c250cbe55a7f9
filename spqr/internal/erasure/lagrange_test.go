package erasure

import (
	"math/rand/v2"
	"testing"
)

// refEval evaluates at x the polynomial through (xs[i], ys[i]) from the
// Lagrange form Σ y_i Π_{j≠i} (x - x_j)/(x_i - x_j), with refMul and
// refInv only. It is right at the nodes too.
func refEval(xs, ys []uint16, x uint16) uint16 {
	var sum uint16
	for i := range xs {
		num, den := uint16(1), uint16(1)
		for j := range xs {
			if j != i {
				num = refMul(num, x^xs[j])
				den = refMul(den, xs[i]^xs[j])
			}
		}
		sum ^= refMul(ys[i], refMul(num, refInv(den)))
	}
	return sum
}

func TestSubspacePolynomials(t *testing.T) {
	// S_m against its definition as a product, for small m.
	r := rand.New(rand.NewPCG(3, 4))
	for m := range 9 {
		for range 50 {
			h := uint16(r.Uint32())
			want := uint16(1)
			for u := range 1 << m {
				want = refMul(want, h^uint16(u))
			}
			if got := subspaceAt(m, h); got != want {
				t.Fatalf("S_%d(%#x) = %#x, want %#x", m, h, got, want)
			}
		}
		want := uint16(1)
		for u := 1; u < 1<<m; u++ {
			want = refMul(want, uint16(u))
		}
		if blockProd[m] != want {
			t.Fatalf("blockProd[%d] = %#x, want %#x", m, blockProd[m], want)
		}
	}
	// The product of all nonzero elements of GF(2^16) is 1, and S_16
	// vanishes on the whole field.
	if blockProd[16] != 1 {
		t.Errorf("blockProd[16] = %#x, want 1", blockProd[16])
	}
	for b := range 16 {
		if subspace[16][b] != 0 {
			t.Errorf("S_16(2^%d) = %#x, want 0", b, subspace[16][b])
		}
	}
}

// TestConsecutiveWeights checks the O(n log n) weights against the O(n²)
// ones for every n up to 700 and a few larger ones.
func TestConsecutiveWeights(t *testing.T) {
	ns := []int{}
	for n := range 700 {
		ns = append(ns, n)
	}
	ns = append(ns, 1023, 1024, 1025, 2047, 3000)
	for _, n := range ns {
		xs := make([]uint16, n)
		for i := range xs {
			xs[i] = uint16(i)
		}
		want := nodeWeights(xs)
		got := consecutiveWeights(n)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d: log w_%d = %d, want %d", n, i, got[i], want[i])
			}
		}
	}
}

// TestConsecutiveWeightsLarge spot-checks the weights for the largest
// polynomials (32768 points) and for the whole field (65536), one O(n)
// product per checked node.
func TestConsecutiveWeightsLarge(t *testing.T) {
	for _, n := range []int{32767, 32768, 65535, 65536} {
		w := consecutiveWeights(n)
		for _, i := range []int{0, 1, n / 3, n - 2, n - 1} {
			den := uint16(1)
			for j := range n {
				if j != i {
					den = mul(den, uint16(i^j))
				}
			}
			if uint32(w[i]) != subLog(0, uint32(logTable[den])) {
				t.Fatalf("n=%d: wrong weight of node %d", n, i)
			}
		}
	}
}

// TestInterpolate checks barycentric interpolation against refEval at
// random non-nodes, for random distinct nodes.
func TestInterpolate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 5, 30, 36} {
		perm := r.Perm(fieldOrder)
		xs, ys := make([]uint16, n), make([]uint16, n)
		for i := range xs {
			xs[i], ys[i] = uint16(perm[i]), uint16(r.Uint32())
		}
		logW := nodeWeights(xs)
		for _, x := range perm[n : n+20] {
			if got, want := interpolate(xs, ys, logW, uint16(x)), refEval(xs, ys, uint16(x)); got != want {
				t.Fatalf("n=%d: f(%#x) = %#x, want %#x", n, x, got, want)
			}
		}
	}
}
