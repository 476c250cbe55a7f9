package erasure

// Barycentric Lagrange interpolation over GF(2^16). For distinct nodes
// x_0 .. x_{n-1} with values y_i, the polynomial of degree < n through them
// is, at any x that is not a node,
//
//	f(x) = l(x) · Σ_i y_i · w_i / (x - x_i),
//	l(x) = Π_j (x - x_j),   w_i = 1 / Π_{j≠i} (x_i - x_j).
//
// The weights w_i depend only on the nodes; once they are known, each
// evaluation is O(n). Everything is computed on logarithms (gf.go), where
// the products and quotients become sums and differences.

// Subspace polynomials. For m <= 16, V_m = {0, 1, ..., 2^m - 1} is an
// additive subgroup of the field (the elements with only the low m bits
// set), and S_m(x) = Π_{t in V_m} (x - t) is GF(2)-linear:
// S_m(a + b) = S_m(a) + S_m(b). Hence S_m is known from its values at the
// powers of two, which follow from S_0(x) = x and
//
//	S_{m+1}(x) = S_m(x) · S_m(x + 2^m) = S_m(x) · (S_m(x) + S_m(2^m)).
var (
	// subspace[m][b] = S_m(2^b); it is 0 for b < m.
	subspace [17][16]uint16
	// blockProd[m] = Π_{t in V_m, t≠0} t
	//              = blockProd[m-1] · S_{m-1}(2^{m-1}).
	blockProd [17]uint16
)

func initSubspace() {
	for b := range 16 {
		subspace[0][b] = 1 << b
	}
	blockProd[0] = 1
	for m := range 16 {
		s := subspace[m][m]
		blockProd[m+1] = mul(blockProd[m], s)
		for b := range 16 {
			v := subspace[m][b]
			subspace[m+1][b] = mul(v, v^s)
		}
	}
}

// subspaceAt returns S_m(h), by linearity from the table.
func subspaceAt(m int, h uint16) uint16 {
	var v uint16
	for b := range 16 {
		if h>>b&1 != 0 {
			v ^= subspace[m][b]
		}
	}
	return v
}

// consecutiveWeights returns log w_i for the nodes 0, 1, ..., n-1 of the
// encoder (n <= 65536), in O(n·log n) rather than O(n²).
//
// The nodes split into aligned blocks [base, base + 2^m), one per bit m set
// in n, base being n with bits 0..m cleared. For a node i in the block,
// the block contributes Π_{t in V_m, t≠0} t = blockProd[m] to
// Π_{j≠i} (i - j); for a node outside, Π_{u in V_m} (i + base + u) =
// S_m(i + base).
func consecutiveWeights(n int) []uint16 {
	w := make([]uint16, n)
	for i := range w {
		var logDen uint32
		for m := 0; m <= 16; m++ {
			if n>>m&1 == 0 {
				continue
			}
			base := n >> (m + 1) << (m + 1)
			f := blockProd[m]
			if i>>m != base>>m {
				f = subspaceAt(m, uint16(i^base))
			}
			logDen = addLog(logDen, uint32(logTable[f]))
		}
		w[i] = uint16(subLog(0, logDen))
	}
	return w
}

// nodeWeights returns log w_i for any distinct nodes xs, in O(n²).
func nodeWeights(xs []uint16) []uint16 {
	w := make([]uint16, len(xs))
	for i, xi := range xs {
		var logDen uint32
		for j, xj := range xs {
			if j != i {
				logDen = addLog(logDen, uint32(logTable[xi^xj]))
			}
		}
		w[i] = uint16(subLog(0, logDen))
	}
	return w
}

// interpolate returns f(x) for the polynomial through (xs[i], ys[i]) with
// log weights logW, for x not among xs. (If x were a node, the result would
// be wrong, not a panic.)
func interpolate(xs, ys, logW []uint16, x uint16) uint16 {
	var logL uint32
	for _, xi := range xs {
		logL = addLog(logL, uint32(logTable[x^xi]))
	}
	var y uint16
	for i, xi := range xs {
		if ys[i] == 0 {
			continue
		}
		c := subLog(addLog(logL, uint32(logW[i])), uint32(logTable[x^xi]))
		y ^= expTable[c+uint32(logTable[ys[i]])]
	}
	return y
}
