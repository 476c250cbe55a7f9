// Package warrant is the operator's export: everything a relay's data
// folder holds about one account, as an operator served with a warrant
// could hand it over. It reads the store through its read-only view and
// prints what is there; by construction it has nothing else to print.
//
// What the relay holds is metadata (who is registered, with which public
// keys, who wrote to whom, when, how much) and ciphertext it cannot read.
// The export gives ciphertext only as a SHA-256 digest and a size.
package warrant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/blindpost/blindpost/relay/store"
)

// Report is the export for one account.
type Report struct {
	Account         string           `json:"account"`
	Exported        time.Time        `json:"exported"`
	Registered      time.Time        `json:"registered"`
	IdentityKey     string           `json:"identity_key"` // hex of 0x05 || u
	IdentityChanges []IdentityChange `json:"identity_changes"`
	Devices         []Device         `json:"devices"`
	Contacts        []string         `json:"contacts"`
	// Inbound are the envelopes waiting in the account's queues; Outbound
	// the ones it sent that wait in others' queues. Delivered envelopes
	// were deleted when their recipient acknowledged them.
	Inbound  []Envelope `json:"queued_inbound"`
	Outbound []Envelope `json:"queued_outbound"`
}

// IdentityChange is one rebinding of the account's name to a new key.
type IdentityChange struct {
	Time time.Time `json:"time"`
	Old  string    `json:"old_identity_key"`
	New  string    `json:"new_identity_key"`
}

// Device is one registered device.
type Device struct {
	ID             uint32    `json:"id"`
	RegistrationID uint32    `json:"registration_id"`
	Registered     time.Time `json:"registered"`
	LastSeenDay    string    `json:"last_seen_day"` // the relay keeps only the day
	HasSecret      bool      `json:"authenticates_with_secret"`
	// The counts of public prekeys on the relay; Kyber prekeys are the
	// KEM ones. The relay never holds a private key.
	OneTimePreKeys int  `json:"one_time_prekeys"`
	KEMPreKeys     int  `json:"kem_prekeys"`
	SignedPreKey   bool `json:"signed_prekey"`
	KEMLastResort  bool `json:"kem_last_resort"`
}

// Envelope is a queued envelope without its content.
type Envelope struct {
	ID         uint64    `json:"id"`
	Kind       string    `json:"kind"`
	Sender     string    `json:"sender"`
	Recipient  string    `json:"recipient"`
	ServerTime time.Time `json:"server_time"`
	Type       uint32    `json:"type"`
	Size       int       `json:"size"`
	Digest     string    `json:"sha256"`
}

// pageSize is how many envelopes are read at a time.
const pageSize = 500

// Export reads everything r holds about account.
func Export(ctx context.Context, r store.Reader, account string, now time.Time) (*Report, error) {
	acct, err := r.Account(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("warrant: account %q: %w", account, err)
	}
	rep := &Report{
		Account:     acct.Name,
		Exported:    now.UTC(),
		Registered:  acct.Created.UTC(),
		IdentityKey: hex.EncodeToString(acct.IdentityKey.Bytes()),
		// Empty lists print as [] in JSON, not null.
		IdentityChanges: []IdentityChange{}, Devices: []Device{}, Inbound: []Envelope{},
	}
	changes, err := r.IdentityChanges(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("warrant: identity changes: %w", err)
	}
	for _, c := range changes {
		rep.IdentityChanges = append(rep.IdentityChanges, IdentityChange{Time: c.Time.UTC(),
			Old: hex.EncodeToString(c.Old.Bytes()), New: hex.EncodeToString(c.New.Bytes())})
	}
	for _, d := range acct.Devices {
		counts, err := r.PreKeyCounts(ctx, store.Address{Name: account, Device: d.ID})
		if err != nil {
			return nil, fmt.Errorf("warrant: prekey counts: %w", err)
		}
		rep.Devices = append(rep.Devices, Device{
			ID: d.ID, RegistrationID: d.RegistrationID, Registered: d.Created.UTC(),
			LastSeenDay: d.LastSeen.UTC().Format(time.DateOnly), HasSecret: d.Secret != nil,
			OneTimePreKeys: counts.PreKeys, KEMPreKeys: counts.KEMPreKeys,
			SignedPreKey: counts.SignedPreKey, KEMLastResort: counts.KEMLastResort,
		})
		in, err := queue(ctx, r, store.Address{Name: account, Device: d.ID})
		if err != nil {
			return nil, err
		}
		for _, e := range in {
			rep.Inbound = append(rep.Inbound, describe(e))
		}
	}
	if rep.Contacts, err = r.Contacts(ctx, account); err != nil {
		return nil, fmt.Errorf("warrant: contacts: %w", err)
	}
	if rep.Outbound, err = outbound(ctx, r, account); err != nil {
		return nil, err
	}
	if rep.Contacts == nil {
		rep.Contacts = []string{}
	}
	if rep.Outbound == nil {
		rep.Outbound = []Envelope{}
	}
	return rep, nil
}

// queue reads a device's whole queue.
func queue(ctx context.Context, r store.Reader, addr store.Address) ([]store.Envelope, error) {
	var out []store.Envelope
	var after uint64
	for {
		page, err := r.Pending(ctx, addr, after, pageSize, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("warrant: queue of %s.%d: %w", addr.Name, addr.Device, err)
		}
		for _, e := range page {
			out = append(out, e)
			after = e.ID
		}
		if len(page) < pageSize {
			return out, nil
		}
	}
}

// outbound finds the envelopes account sent that still wait anywhere.
func outbound(ctx context.Context, r store.Reader, account string) ([]Envelope, error) {
	names, err := r.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("warrant: accounts: %w", err)
	}
	var out []Envelope
	for _, name := range names {
		acct, err := r.Account(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("warrant: account %q: %w", name, err)
		}
		for _, d := range acct.Devices {
			q, err := queue(ctx, r, store.Address{Name: name, Device: d.ID})
			if err != nil {
				return nil, err
			}
			for _, e := range q {
				if e.Sender.Name == account {
					out = append(out, describe(e))
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerTime.Before(out[j].ServerTime) })
	return out, nil
}

func describe(e store.Envelope) Envelope {
	sum := sha256.Sum256(e.Content)
	kind := "message"
	if e.Kind == store.KindIdentityChange {
		kind = "identity-change notice"
	}
	return Envelope{
		ID: e.ID, Kind: kind,
		Sender:     fmt.Sprintf("%s.%d", e.Sender.Name, e.Sender.Device),
		Recipient:  fmt.Sprintf("%s.%d", e.Recipient.Name, e.Recipient.Device),
		ServerTime: e.ServerTime.UTC(), Type: e.Type, Size: len(e.Content),
		Digest: hex.EncodeToString(sum[:]),
	}
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for a person to read.
func (rep *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("WARRANT EXPORT for account %q (exported %s)\n", rep.Account, rep.Exported.Format(time.RFC3339))
	p.f("  registered:     %s\n", rep.Registered.Format(time.RFC3339))
	p.f("  identity key:   %s\n", rep.IdentityKey)
	for _, c := range rep.IdentityChanges {
		p.f("  identity change at %s: %s... -> %s...\n", c.Time.Format(time.RFC3339), c.Old[:16], c.New[:16])
	}
	for _, d := range rep.Devices {
		p.f("  device %d: registration id %d, registered %s, last seen on %s\n", d.ID, d.RegistrationID,
			d.Registered.Format(time.RFC3339), d.LastSeenDay)
		p.f("    public prekeys on the relay: %d one-time, signed prekey %t, %d one-time Kyber, Kyber last resort %t\n",
			d.OneTimePreKeys, d.SignedPreKey, d.KEMPreKeys, d.KEMLastResort)
	}
	p.f("  contacts (accounts it exchanged messages or keys with): %s\n", listOrNone(rep.Contacts))
	p.envelopes("queued for this account", rep.Inbound)
	p.envelopes("sent by this account, still queued", rep.Outbound)
	p.f("  private keys: none held. Clients upload the public halves of their identity key, signed prekey,\n")
	p.f("  one-time prekeys and Kyber prekeys; their private halves never leave the devices.\n")
	p.f("  message content: not held. The relay stores ciphertext only until the recipient acknowledges it,\n")
	p.f("  and has no key that decrypts it; shown above as size and SHA-256 digest only.\n")
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) envelopes(title string, es []Envelope) {
	p.f("  %s: %d\n", title, len(es))
	for _, e := range es {
		p.f("    #%d %s  %s -> %s  %d bytes  sha256 %s...  (%s)\n", e.ID, e.ServerTime.Format("2006-01-02 15:04:05"),
			e.Sender, e.Recipient, e.Size, e.Digest[:16], e.Kind)
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
