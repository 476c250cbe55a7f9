// Package storepb holds the generated Go code of store.proto, the records
// the relay writes to its database. Regenerate with go generate (needs
// protoc and protoc-gen-go v1.36.12, as proto/gen.sh).
package storepb

//go:generate sh -c "PATH=\"$PATH:$(go env GOPATH)/bin\" protoc --proto_path=. --go_out=. --go_opt=paths=source_relative store.proto"
