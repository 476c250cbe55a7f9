module github.com/blindpost/blindpost/interop/gomau

go 1.26.8

require (
	go.mau.fi/libsignal v0.2.1
	google.golang.org/protobuf v1.36.10
)

require (
	filippo.io/edwards25519 v1.1.0 // indirect
	golang.org/x/crypto v0.42.0 // indirect
)
