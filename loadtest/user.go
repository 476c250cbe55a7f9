package loadtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/session"
)

// deviceID is every simulated user's device.
const deviceID = 1

// Plaintext layout, all integers big-endian:
//
//	kind (1) | seq (8) | sent at, Unix nanoseconds (8) | zero padding to Config.Size
const (
	kindHello = 1 // the handshake's first message, a PreKeySignalMessage
	kindReply = 2 // the receiver's answer, which confirms the session
	kindData  = 3 // a measured message

	headerSize = 1 + 8 + 8
)

// user is one simulated device: its keys and sessions in a MemoryStore,
// one connection to the relay, and the log of the messages it sends.
type user struct {
	index int
	name  string
	addr  session.Address
	ik    identity.IdentityKeyPair
	regID uint32
	store *session.MemoryStore

	// mu serializes the cipher: two Encrypts on one session record at once
	// would each commit a successor of the same state, and one would be
	// lost.
	mu     sync.Mutex
	cipher *session.Cipher

	c    *client.Client
	acks *acker

	to, from *user // the ring: sends to `to`, receives from `from`
	// initiator: this user starts the session with `to` (false only for
	// the second of two users, who answer the first's session).
	initiator bool
	ready     chan struct{} // closed once the session with `to` is confirmed
	readyOnce sync.Once

	nextSeq atomic.Uint64
	log     msgLog
}

// newUser makes a device: an identity key, a registration id and an empty
// store (prekeys come from user.prekeys).
func newUser(rand io.Reader, index int, name string) (*user, error) {
	ik, err := identity.GenerateIdentityKeyPair(rand)
	if err != nil {
		return nil, fmt.Errorf("loadtest: identity key: %w", err)
	}
	reg, err := identity.GenerateRegistrationID(rand)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	u := &user{
		index: index,
		name:  name,
		addr:  session.Address{Name: name, DeviceID: deviceID},
		ik:    ik,
		regID: reg,
		store: session.NewMemoryStore(ik, reg),
		ready: make(chan struct{}),
		acks:  newAcker(),
	}
	return u, nil
}

// prekeys generates and keeps the user's prekeys and returns their public
// halves for upload: as a blindpost client's, a signed prekey, a one-time
// prekey, a one-time Kyber prekey and a last-resort Kyber prekey, so that
// the session is PQXDH's (a user is sent one session, so one one-time key
// of each kind is enough).
func (u *user) prekeys(rand io.Reader, now time.Time) (client.PreKeyUpload, error) {
	spk, err := identity.GenerateSignedPreKey(rand, u.ik, 1, now.UnixMilli())
	if err != nil {
		return client.PreKeyUpload{}, fmt.Errorf("loadtest: signed prekey: %w", err)
	}
	pks, err := identity.GeneratePreKeys(rand, 1, 1)
	if err != nil {
		return client.PreKeyUpload{}, fmt.Errorf("loadtest: prekeys: %w", err)
	}
	kpk, err := kem.GeneratePreKey(rand, u.ik, 1, now.UnixMilli())
	if err != nil {
		return client.PreKeyUpload{}, fmt.Errorf("loadtest: kyber prekey: %w", err)
	}
	last, err := kem.GeneratePreKey(rand, u.ik, 2, now.UnixMilli())
	if err != nil {
		return client.PreKeyUpload{}, fmt.Errorf("loadtest: kyber prekey: %w", err)
	}
	u.store.AddSignedPreKey(spk)
	u.store.AddPreKey(pks[0])
	u.store.AddKyberPreKey(kpk, false)
	u.store.AddKyberPreKey(last, true)
	signed := client.PublicSignedPreKey(spk)
	lastPub := messenger.PublicKyberPreKey(last)
	return client.PreKeyUpload{
		SignedPreKey:  &signed,
		PreKeys:       client.PublicPreKeys(pks),
		KEMPreKeys:    []client.KEMPreKey{messenger.PublicKyberPreKey(kpk)},
		KEMLastResort: &lastPub,
	}, nil
}

// connect dials the relay and registers the user, which authenticates
// the connection.
func (u *user) connect(ctx context.Context, relayURL string, rand io.Reader) error {
	c, err := client.Dial(ctx, relayURL, client.Options{Dialer: dialer(relayURL, u.index), Rand: rand})
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	_, err = c.Register(ctx, client.Registration{
		Name: u.name, DeviceID: deviceID, RegistrationID: u.regID, IdentityKey: u.ik,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("loadtest: %s: %w", u.name, err), c.Close())
	}
	u.c = c
	return nil
}

// dialer spreads connections over several loopback source addresses on
// Linux, where all of 127.0.0.0/8 is local, so that each address brings
// its own ephemeral ports. Elsewhere only 127.0.0.1 is sure to exist.
func dialer(relayURL string, index int) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	host, _ := CheckLoopback(relayURL)
	h, _, _ := net.SplitHostPort(host)
	ip := net.ParseIP(h)
	if runtime.GOOS != "linux" || ip == nil || ip.To4() == nil {
		return d
	}
	src := net.IPv4(127, 0, 0, byte(1+index%sourceAddrs))
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
	d.NetDialContext = nd.DialContext
	return d
}

// initiate starts the session with u.to from its fetched bundle and sends
// the handshake's first message.
func (u *user) initiate(ctx context.Context, now time.Time) error {
	b, err := u.c.FetchBundle(ctx, u.to.name, deviceID)
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	xb, err := messenger.X3DHBundle(b, deviceID)
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	u.mu.Lock()
	err = u.cipher.ProcessBundle(u.to.addr, xb)
	u.mu.Unlock()
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	return u.sendControl(ctx, u.to, kindHello, now)
}

// sendControl encrypts and sends a handshake message to peer.
func (u *user) sendControl(ctx context.Context, peer *user, kind byte, now time.Time) error {
	u.mu.Lock()
	typ, ct, err := u.cipher.Encrypt(peer.addr, plaintext(make([]byte, headerSize), kind, 0, now))
	u.mu.Unlock()
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	if _, err := u.c.Send(ctx, peer.name, deviceID, uint32(typ), ct); err != nil {
		return fmt.Errorf("loadtest: %s: %w", u.name, err)
	}
	return nil
}

func (u *user) markReady() { u.readyOnce.Do(func() { close(u.ready) }) }

// plaintext writes the header into buf (at least headerSize bytes; the
// rest stays as it is, zero) and returns buf.
func plaintext(buf []byte, kind byte, seq uint64, sentAt time.Time) []byte {
	buf[0] = kind
	binary.BigEndian.PutUint64(buf[1:9], seq)
	binary.BigEndian.PutUint64(buf[9:17], uint64(sentAt.UnixNano()))
	return buf
}

// parsePlaintext reads a header written by plaintext.
func parsePlaintext(b []byte) (kind byte, seq uint64, sentAt int64, err error) {
	if len(b) < headerSize {
		return 0, 0, 0, errors.New("loadtest: short plaintext")
	}
	return b[0], binary.BigEndian.Uint64(b[1:9]), int64(binary.BigEndian.Uint64(b[9:17])), nil
}
