package session

import (
	"encoding/hex"
	"strings"

	"github.com/blindpost/blindpost/wire"
)

// Service id kinds in their fixed-width binary form (libsignal core
// address.rs): ACI 0x00, PNI 0x01.
const (
	serviceIDKindACI = 0x00
	serviceIDKindPNI = 0x01
	pniPrefix        = "PNI:"
	hyphenatedUUID   = 36
)

// serviceIDBinary parses a name as libsignal parses a service id string
// ("<uuid>" for an ACI, "PNI:<uuid>" for a PNI, hyphenated UUIDs only) and
// returns its 17-byte fixed-width form.
func serviceIDBinary(name string) ([]byte, bool) {
	kind := byte(serviceIDKindACI)
	if rest, ok := strings.CutPrefix(name, pniPrefix); ok {
		kind, name = serviceIDKindPNI, rest
	}
	if len(name) != hyphenatedUUID {
		return nil, false
	}
	for _, i := range []int{8, 13, 18, 23} {
		if name[i] != '-' {
			return nil, false
		}
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(name, "-", ""))
	if err != nil || len(raw) != 16 {
		return nil, false
	}
	return append([]byte{kind}, raw...), true
}

// addressesField is libsignal's binding of a message to its sender and
// recipient: sender service id || sender device || recipient service id ||
// recipient device. ok is false unless both names are service ids and both
// devices fit in a byte.
func addressesField(sender, recipient Address) ([]byte, bool) {
	s, ok1 := serviceIDBinary(sender.Name)
	r, ok2 := serviceIDBinary(recipient.Name)
	if !ok1 || !ok2 || sender.DeviceID > 0xFF || recipient.DeviceID > 0xFF {
		return nil, false
	}
	b := make([]byte, 0, wire.AddressesSize)
	b = append(b, s...)
	b = append(b, byte(sender.DeviceID))
	b = append(b, r...)
	return append(b, byte(recipient.DeviceID)), true
}
