package erasure

// Arithmetic in GF(2^16) = GF(2)[x]/(x^16+x^12+x^3+x+1), elements as uint16
// bit vectors of polynomial coefficients (SPQR src/encoding/gf.rs). Addition
// and subtraction are both XOR. Multiplication and division go through
// tables of discrete logarithms to the base generator:
//
//	a·b = g^(log a + log b),  a/b = g^(log a - log b)   (a, b != 0)
//
// Most of the work is done on logarithms directly (addLog, subLog): a
// product of many factors and quotients is a sum of their logarithms mod
// 65535, looked up in expTable once.

var (
	// expTable[i] = g^i for 0 <= i < 2·65535: doubled, so that the sum of
	// two logarithms needs no reduction before the lookup.
	expTable [2 * groupOrder]uint16
	// logTable[a] = log_g a for a != 0; logTable[0] is 0 and never used as
	// a logarithm.
	logTable [fieldOrder]uint16
)

func init() {
	a := uint16(1)
	for i := range groupOrder {
		if i > 0 && a == 1 {
			panic("erasure: internal error: generator is not primitive")
		}
		expTable[i], expTable[i+groupOrder] = a, a
		logTable[a] = uint16(i)
		a = mulX(a)
	}
	initSubspace()
}

// mulX returns a·x, that is a·generator: a shift and, when x^16 appears, a
// subtraction of the reduction polynomial.
func mulX(a uint16) uint16 {
	p := uint32(a) << 1
	if p&fieldOrder != 0 {
		p ^= fieldPoly
	}
	return uint16(p)
}

// mul returns a·b.
func mul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	return expTable[int(logTable[a])+int(logTable[b])]
}

// addLog returns (a + b) mod 65535 for logarithms a, b < 65535.
func addLog(a, b uint32) uint32 {
	s := a + b
	if s >= groupOrder {
		s -= groupOrder
	}
	return s
}

// subLog returns (a - b) mod 65535 for logarithms a, b < 65535.
func subLog(a, b uint32) uint32 {
	return addLog(a, groupOrder-b)
}
