package wire

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/blindpost/blindpost/identity"
)

// fieldSet records which of fields 1..63 were seen, to refuse repeats.
type fieldSet uint64

func (s *fieldSet) add(n protowire.Number) error {
	if *s&(1<<n) != 0 {
		return fmt.Errorf("field %d repeated", n)
	}
	*s |= 1 << n
	return nil
}

func (s fieldSet) has(n protowire.Number) bool { return s&(1<<n) != 0 }

// walk calls fn for each field of a protobuf message: v holds the payload
// of a length-delimited field, n the value of a varint. Groups are refused;
// other unknown wire types are skipped.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		if num > protowire.MaxValidNumber {
			// ConsumeTag allows up to 2^31-1 for MessageSet; protobuf (and
			// libsignal) refuse field numbers above 2^29-1.
			return fmt.Errorf("field number %d out of range", num)
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type, protowire.Fixed64Type:
			l = protowire.ConsumeFieldValue(num, typ, b)
		default:
			return fmt.Errorf("field %d has unsupported wire type %d", num, typ)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if num < 64 {
			if err := fn(num, typ, v, n); err != nil {
				return fmt.Errorf("field %d: %w", num, err)
			}
		}
	}
	return nil
}

var errWireType = errors.New("wrong wire type")

func bytesField(typ protowire.Type, v []byte, seen *fieldSet, num protowire.Number) ([]byte, error) {
	if typ != protowire.BytesType {
		return nil, errWireType
	}
	if err := seen.add(num); err != nil {
		return nil, err
	}
	return v, nil
}

func uint32Field(typ protowire.Type, n uint64, seen *fieldSet, num protowire.Number, out *uint32) error {
	if typ != protowire.VarintType {
		return errWireType
	}
	if err := seen.add(num); err != nil {
		return err
	}
	if n > math.MaxUint32 {
		return fmt.Errorf("value %d overflows uint32", n)
	}
	*out = uint32(n)
	return nil
}

func keyField(typ protowire.Type, v []byte, seen *fieldSet, num protowire.Number, out *identity.PublicKey) error {
	b, err := bytesField(typ, v, seen, num)
	if err != nil {
		return err
	}
	*out, err = identity.ParsePublicKey(b)
	return err
}

func appendUint(b []byte, num protowire.Number, v uint32) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
