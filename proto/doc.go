// Package proto holds blindpost's .proto sources; generated Go lives in
// its subpackages. Run gen.sh to regenerate (go generate ./proto).
package proto

//go:generate sh gen.sh
