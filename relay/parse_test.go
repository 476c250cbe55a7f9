package relay

import (
	"crypto/rand"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
)

// FuzzParseUpload feeds arbitrary bytes, as a client would send them, to
// the upload parser: it must never panic, and what it accepts must be
// within the caps and carry valid signatures.
func FuzzParseUpload(f *testing.F) {
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	spk, err := identity.GenerateSignedPreKey(rand.Reader, ik, 1, 0)
	if err != nil {
		f.Fatal(err)
	}
	good, err := proto.Marshal(&relaypb.UploadPreKeys{
		SignedPreKey: &relaypb.SignedPreKey{Id: 1, PublicKey: spk.KeyPair.Public.Bytes(), Signature: spk.Signature[:]},
		PreKeys:      []*relaypb.PreKey{{Id: 2, PublicKey: spk.KeyPair.Public.Bytes()}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x0a, 0x03, 0x08, 0x01, 0x12})
	f.Fuzz(func(t *testing.T, b []byte) {
		var u relaypb.UploadPreKeys
		if proto.Unmarshal(b, &u) != nil {
			return
		}
		up, err := parseUpload(ik.Public, &u, 3)
		if err != nil {
			return
		}
		if len(up.PreKeys) > 3 || len(up.KEMPreKeys) > 3 {
			t.Fatal("accepted more keys than the cap")
		}
		if up.Signed != nil && !identity.Verify(ik.Public, up.Signed.Key.Bytes(), up.Signed.Signature[:]) {
			t.Fatal("accepted a signed prekey whose signature does not verify")
		}
	})
}
