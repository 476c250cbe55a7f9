package referee

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// Naming chooses the names the referee gives the parties of a run.
//
// libsignal >= 0.91 treats a name that parses as a UUID as a service id
// (an ACI) and then adds the sender and recipient addresses to the messages
// it sends (SignalMessage field 6; 0.103.0 does so in the message inside a
// PreKeySignalMessage) and checks them on receipt. Plain names ("alice")
// never parse as one, so that field is only exercised with UUID names.
type Naming string

// Namings. The zero value picks by mode: plain names in v3 (as the referee
// always named parties there), UUIDs in v4.
const (
	NamingByMode Naming = ""
	NamingPlain  Naming = "plain"
	NamingUUID   Naming = "uuid"
)

// ParseNaming checks a naming; "" picks by mode.
func ParseNaming(s string) (Naming, error) {
	switch n := Naming(s); n {
	case NamingByMode, NamingPlain, NamingUUID:
		return n, nil
	}
	return "", fmt.Errorf("referee: unknown naming %q (want plain or uuid)", s)
}

// uuidNames are the parties' names under NamingUUID: version-4 UUIDs that
// still read as the plain names.
var uuidNames = map[string]string{
	"alice": "a11ce000-a11c-4000-8000-000000000001",
	"bob":   "b0b00000-b0b0-4000-8000-000000000002",
	"carol": "ca201000-ca20-4000-8000-000000000003",
}

// partyName is the name of the party called plain under naming n.
func partyName(n Naming, plain string) string {
	if n != NamingUUID {
		return plain
	}
	name, ok := uuidNames[plain]
	if !ok {
		panic("referee: internal error: no UUID for party " + plain)
	}
	return name
}

// Specification constants of the addresses field (libsignal.md, "Message
// framing"): sender service id || sender device || recipient service id ||
// recipient device, a service id being a kind byte and 16 UUID bytes.
const (
	serviceIDKindACI = 0x00
	serviceIDSize    = 17
	addressesSize    = 2 * (serviceIDSize + 1)
)

// serviceID returns the binary service id of name, or false if name is not
// a UUID (the only form the referee uses: an ACI in its canonical string).
func serviceID(name string) ([]byte, bool) {
	if len(name) != 36 || name[8] != '-' || name[13] != '-' || name[18] != '-' || name[23] != '-' {
		return nil, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(name, "-", ""))
	if err != nil {
		return nil, false
	}
	return append([]byte{serviceIDKindACI}, raw...), true
}

// expectAddresses is the addresses field a message from one address to
// another must carry, or false if the names are no service ids (then the
// field must be absent).
func expectAddresses(from, to Address) ([]byte, bool) {
	f, okF := serviceID(from.Name)
	t, okT := serviceID(to.Name)
	if !okF || !okT || from.DeviceID > 0xff || to.DeviceID > 0xff {
		return nil, false
	}
	b := make([]byte, 0, addressesSize)
	b = append(append(b, f...), byte(from.DeviceID))
	return append(append(b, t...), byte(to.DeviceID)), true
}

// checkAddresses checks a message's addresses field (nil when absent)
// against the message's sender and recipient.
func checkAddresses(got []byte, from, to Address) error {
	if got == nil {
		return nil
	}
	want, ok := expectAddresses(from, to)
	switch {
	case !ok:
		return fmt.Errorf("carries an addresses field (%x) though %s and %s are no service ids", got, from, to)
	case !bytes.Equal(got, want):
		return fmt.Errorf("carries addresses %x, want %x (%s to %s)", got, want, from, to)
	}
	return nil
}
