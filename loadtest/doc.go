// Package loadtest drives a blindpost relay with simulated users that run
// the real protocol, and measures it end to end.
//
// Each simulated user is a real device: an identity key, a registration
// id and prekeys (EC and Kyber, as blindpost's clients publish) in a
// session.MemoryStore, one websocket to the relay through relay/client.
// Users register (which authenticates the connection) and upload their
// prekeys; then each user i fetches the bundle of user i+1 (in a ring),
// runs PQXDH from it, and sends a PreKeySignalMessage; the receiver
// answers on the new session, so that both sides hold a confirmed
// version-4 session, with SPQR required as blindpost's clients require it.
// From then on every message is a real SignalMessage: Cipher.Encrypt on
// the sender, the relay's durable store in between, Cipher.Decrypt on the
// receiver, which then acknowledges it so that the relay deletes it.
//
// In the ring each session carries one direction, as a busy one-way
// conversation does: the ratchet takes its Diffie-Hellman step once, at
// the handshake reply, and each message costs the symmetric chain (two
// HMACs, HKDF, AES-CBC and the MAC) and SPQR's step (its chain key, and a
// chunk of its ML-KEM exchange carried in the message) on each side. Two
// users share one session in both directions.
//
// Run measures traffic (Config.Rate 0: as fast as the relay answers,
// with Config.Inflight sends in flight per user; otherwise open-loop at
// Config.Rate messages/s in total, latency counted from each message's
// scheduled time so that a stalled relay cannot hide its queueing).
// Idle opens authenticated connections that send nothing and reports the
// relay's memory per connection.
//
// Definitions used in the Report:
//
//   - a message is in the window when its send began (or was scheduled)
//     during Config.Duration, after Config.Warmup;
//   - sent: in-window messages the relay acknowledged (durably stored);
//   - delivered: sent messages the receiver decrypted, each exactly once;
//   - lost: messages of the whole run, warm-up included, that the relay
//     acknowledged and the receiver had not decrypted when the drain
//     ended (0 in a sound run: the relay acknowledges only what it stored);
//   - messages/s: delivered / Duration;
//   - latency: from the send (or its schedule) to the end of Decrypt on the
//     receiver, over the delivered messages;
//   - stored latency: from the send to the relay's acknowledgement.
package loadtest
