module github.com/blindpost/blindpost/bench

go 1.26.8

replace github.com/blindpost/blindpost => ../

require (
	filippo.io/edwards25519 v1.2.0
	github.com/blindpost/blindpost v0.0.0-00010101000000-000000000000
	github.com/cloudflare/circl v1.6.5
	go.mau.fi/libsignal v0.2.1
)

require (
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
