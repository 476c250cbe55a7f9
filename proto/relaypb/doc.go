// Package relaypb holds the generated Go code of proto/relay.proto, the
// frames of the blindpost relay protocol. Regenerate with proto/gen.sh
// (go generate ./proto).
package relaypb
