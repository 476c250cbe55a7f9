package erasure_test

import (
	"bytes"
	"fmt"

	"github.com/blindpost/blindpost/spqr/internal/erasure"
)

// A 96-byte message needs any 3 chunks: here two are lost and the
// receiver gets chunks 2, 3 and 4 only.
func Example() {
	msg := bytes.Repeat([]byte("SPQR"), 24)
	enc, err := erasure.NewEncoder(msg)
	if err != nil {
		panic(err)
	}
	dec, err := erasure.NewDecoder(len(msg))
	if err != nil {
		panic(err)
	}
	for k := uint16(2); ; k++ {
		dec.Add(k, enc.Chunk(k))
		if got, ok := dec.Message(); ok {
			fmt.Println(k-1, "chunks:", bytes.Equal(got, msg))
			return
		}
	}
	// Output: 3 chunks: true
}
