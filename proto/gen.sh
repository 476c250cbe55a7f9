#!/bin/sh
# Regenerates the Go code for every .proto in this folder.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-go v1.36.12
# (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
set -eu
cd "$(dirname "$0")"
PATH="$PATH:$(go env GOPATH)/bin"
for f in *.proto; do
	protoc --go_out=. --go_opt=module=github.com/blindpost/blindpost/proto "$f"
done
