// Package relay is the blindpost relay: the server every client talks to,
// built so that it cannot read what it carries. It authenticates devices by
// their identity keys, keeps a directory of public prekeys, and queues
// opaque envelopes until their recipients acknowledge them. It never sees
// a session: the relay and its subpackages import no session code (x3dh,
// ratchet, the clients), and a test checks this with `go list -deps`.
//
// A Server is embeddable: New(Config), then Serve(listener), then Close.
// It serves the websocket protocol of proto/relay.proto on "/", a health
// check on "/healthz" and Prometheus metrics on "/metrics". Package
// relay/client speaks the protocol; relay/store keeps the state;
// docs/relay.md describes the frames, the stored fields and the limits.
//
// # What it promises, against Signal-Server
//
//	Promise (Signal-Server)                          Where
//	-----------------------------------------------  -------------------------------------
//	a send is acknowledged only after the write      handleSend: Store.Enqueue is durable
//	deleted only after the device acknowledges       handleAck -> Store.Ack
//	messages kept 30 days                            Limits.QueueTTL, Server.sweep
//	one-time prekeys handed out exactly once         Store.TakeBundle (serial commits)
//	at most 100 prekeys per upload                   Limits.MaxPreKeysPerUpload
//	bundle fetches limited per requester and target  Limits.BundleFetches, keyedLimiter
//	content 96 KiB, websocket frames 512 KiB         Limits.MaxContentSize, MaxFrameSize
//
// # Logging
//
// Logs carry connection ids, event names, counts and errors. They never
// carry message content, keys, signatures or secrets; account names appear
// only at debug level.
package relay
