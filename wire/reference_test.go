package wire_test

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/blindpost/blindpost/wire"
)

// A reference decoder: protobuf-go, the Go reference implementation of
// protobuf, decoding with a descriptor of libsignal's wire.proto (proto2,
// every field optional) built here at run time. blindpost's parser is
// stricter (it refuses repeats, overflowing uint32 values, groups, bad
// keys), so the property checked is one way: whatever blindpost accepts,
// protobuf-go accepts too, with the same field values.

var referenceFile = func() protoreflect.FileDescriptor {
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name:   proto.String(name),
			Number: proto.Int32(num),
			Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:   typ.Enum(),
		}
	}
	const (
		bytesT  = descriptorpb.FieldDescriptorProto_TYPE_BYTES
		uint32T = descriptorpb.FieldDescriptorProto_TYPE_UINT32
	)
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("blindpost_wire_reference_test.proto"),
		Package: proto.String("blindpost.wiretest"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("SignalMessage"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("ratchet_key", 1, bytesT),
				field("counter", 2, uint32T),
				field("previous_counter", 3, uint32T),
				field("ciphertext", 4, bytesT),
				field("pq_ratchet", 5, bytesT),
				field("addresses", 6, bytesT),
			},
		}, {
			Name: proto.String("PreKeySignalMessage"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("registration_id", 5, uint32T),
				field("pre_key_id", 1, uint32T),
				field("signed_pre_key_id", 6, uint32T),
				field("kyber_pre_key_id", 7, uint32T),
				field("kyber_ciphertext", 8, bytesT),
				field("base_key", 2, bytesT),
				field("identity_key", 3, bytesT),
				field("message", 4, bytesT),
			},
		}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f
}()

// refMessage is a message decoded by protobuf-go.
type refMessage struct{ m *dynamicpb.Message }

func referenceDecode(name protoreflect.Name, b []byte) (refMessage, error) {
	m := dynamicpb.NewMessage(referenceFile.Messages().ByName(name))
	err := proto.Unmarshal(b, m)
	return refMessage{m}, err
}

func (r refMessage) fd(name protoreflect.Name) protoreflect.FieldDescriptor {
	return r.m.Descriptor().Fields().ByName(name)
}

func (r refMessage) has(name protoreflect.Name) bool { return r.m.Has(r.fd(name)) }

func (r refMessage) uint(name protoreflect.Name) uint32 { return uint32(r.m.Get(r.fd(name)).Uint()) }

func (r refMessage) bytes(name protoreflect.Name) []byte { return r.m.Get(r.fd(name)).Bytes() }

// checkSignalReference decodes m's protobuf with protobuf-go and compares.
func checkSignalReference(m *wire.SignalMessage) error {
	raw := m.Bytes()
	r, err := referenceDecode("SignalMessage", raw[1:len(raw)-wire.MACSize])
	if err != nil {
		return fmt.Errorf("protobuf-go refuses what blindpost accepts: %w", err)
	}
	switch {
	case !r.has("ratchet_key") || !bytes.Equal(r.bytes("ratchet_key"), m.RatchetKey.Bytes()):
		return fmt.Errorf("ratchet_key: reference %x, blindpost %x", r.bytes("ratchet_key"), m.RatchetKey.Bytes())
	case !r.has("counter") || r.uint("counter") != m.Counter:
		return fmt.Errorf("counter: reference %d, blindpost %d", r.uint("counter"), m.Counter)
	case r.uint("previous_counter") != m.PreviousCounter:
		return fmt.Errorf("previous_counter: reference %d, blindpost %d", r.uint("previous_counter"), m.PreviousCounter)
	case !r.has("ciphertext") || !bytes.Equal(r.bytes("ciphertext"), m.Ciphertext):
		return fmt.Errorf("ciphertext: reference %x, blindpost %x", r.bytes("ciphertext"), m.Ciphertext)
	case !bytes.Equal(r.bytes("pq_ratchet"), m.PQRatchet):
		return fmt.Errorf("pq_ratchet: reference %x, blindpost %x", r.bytes("pq_ratchet"), m.PQRatchet)
	case r.has("addresses") != (m.Addresses != nil) || !bytes.Equal(r.bytes("addresses"), m.Addresses):
		return fmt.Errorf("addresses: reference %x, blindpost %x", r.bytes("addresses"), m.Addresses)
	}
	return nil
}

// checkPreKeyReference is checkSignalReference for prekey messages.
func checkPreKeyReference(m *wire.PreKeySignalMessage) error {
	r, err := referenceDecode("PreKeySignalMessage", m.Bytes()[1:])
	if err != nil {
		return fmt.Errorf("protobuf-go refuses what blindpost accepts: %w", err)
	}
	switch {
	case r.has("pre_key_id") != m.HasPreKeyID || r.uint("pre_key_id") != m.PreKeyID:
		return fmt.Errorf("pre_key_id: reference %d (%t), blindpost %d (%t)", r.uint("pre_key_id"), r.has("pre_key_id"), m.PreKeyID, m.HasPreKeyID)
	case !r.has("base_key") || !bytes.Equal(r.bytes("base_key"), m.BaseKey.Bytes()):
		return fmt.Errorf("base_key: reference %x, blindpost %x", r.bytes("base_key"), m.BaseKey.Bytes())
	case !r.has("identity_key") || !bytes.Equal(r.bytes("identity_key"), m.IdentityKey.Bytes()):
		return fmt.Errorf("identity_key: reference %x, blindpost %x", r.bytes("identity_key"), m.IdentityKey.Bytes())
	case !r.has("message") || !bytes.Equal(r.bytes("message"), m.Message.Bytes()):
		return fmt.Errorf("message: reference %x, blindpost %x", r.bytes("message"), m.Message.Bytes())
	case r.uint("registration_id") != m.RegistrationID:
		return fmt.Errorf("registration_id: reference %d, blindpost %d", r.uint("registration_id"), m.RegistrationID)
	case !r.has("signed_pre_key_id") || r.uint("signed_pre_key_id") != m.SignedPreKeyID:
		return fmt.Errorf("signed_pre_key_id: reference %d, blindpost %d", r.uint("signed_pre_key_id"), m.SignedPreKeyID)
	case r.has("kyber_pre_key_id") != (m.KyberCiphertext != nil) || r.uint("kyber_pre_key_id") != m.KyberPreKeyID:
		return fmt.Errorf("kyber_pre_key_id: reference %d (%t), blindpost %d", r.uint("kyber_pre_key_id"), r.has("kyber_pre_key_id"), m.KyberPreKeyID)
	case r.has("kyber_ciphertext") != (m.KyberCiphertext != nil) || !bytes.Equal(r.bytes("kyber_ciphertext"), m.KyberCiphertext):
		return fmt.Errorf("kyber_ciphertext: reference %x, blindpost %x", r.bytes("kyber_ciphertext"), m.KyberCiphertext)
	}
	return checkSignalReference(m.Message)
}
