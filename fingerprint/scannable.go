package fingerprint

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The scannable form is libsignal's CombinedFingerprints protobuf, written
// with fields in field-number order and every field present:
//
//	Bytes  Content
//	-----  -----------------------------------------------------------
//	1      0x08  tag: field 1 (version), varint
//	1..5   version, minimal varint (0x02 for version 2)
//	1      0x12  tag: field 2 (local_fingerprint), length-delimited
//	1      0x22  length 34
//	1        0x0a  tag: LogicalFingerprint field 1 (content), bytes
//	1        0x20  length 32
//	32       local logical fingerprint, first 32 bytes
//	1      0x1a  tag: field 3 (remote_fingerprint), length-delimited
//	1      0x22  length 34
//	1        0x0a  tag: LogicalFingerprint field 1 (content), bytes
//	1        0x20  length 32
//	32       remote logical fingerprint, first 32 bytes
//
// 74 bytes for versions 1 and 2.

// Errors returned by CompareScannable. Callers branch on them to tell the
// user what went wrong: a code that is not a safety number at all, or one
// from a peer running another fingerprint version.
var (
	ErrMalformed       = errors.New("fingerprint: malformed scannable fingerprint")
	ErrVersionMismatch = errors.New("fingerprint: scannable fingerprint version mismatch")
)

// Scannable returns the scannable form, the serialized CombinedFingerprints
// protobuf, byte-identical to libsignal's ScannableFingerprint::serialize.
// The other party feeds it to CompareScannable.
func (f Fingerprint) Scannable() []byte {
	return encodeScannable(f.version, f.local[:ScannableContentSize], f.remote[:ScannableContentSize])
}

// encodeScannable writes CombinedFingerprints{version, {local}, {remote}}
// in canonical form: fields in order, minimal varints, no other fields.
func encodeScannable(version uint32, local, remote []byte) []byte {
	b := make([]byte, 0, 16+len(local)+len(remote))
	b = protowire.AppendTag(b, fieldVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(version))
	b = protowire.AppendTag(b, fieldLocalFingerprint, protowire.BytesType)
	b = protowire.AppendBytes(b, encodeLogical(local))
	b = protowire.AppendTag(b, fieldRemoteFingerprint, protowire.BytesType)
	b = protowire.AppendBytes(b, encodeLogical(remote))
	return b
}

// encodeLogical writes LogicalFingerprint{content}.
func encodeLogical(content []byte) []byte {
	b := make([]byte, 0, 1+protowire.SizeBytes(len(content)))
	b = protowire.AppendTag(b, fieldContent, protowire.BytesType)
	return protowire.AppendBytes(b, content)
}

// CompareScannable reports whether theirScannable, the scannable form the
// other party displays, matches ours: their local fingerprint must equal our
// remote one and their remote fingerprint our local one, as libsignal's
// ScannableFingerprint::compare. The contents are compared in constant time.
//
// The input is parsed strictly; see parseScannable. A different version is
// reported as ErrVersionMismatch, anything else that is not the canonical
// form as ErrMalformed. A well-formed code from the wrong person is not an
// error: CompareScannable returns false.
func CompareScannable(ours Fingerprint, theirScannable []byte) (bool, error) {
	local, remote, err := parseScannable(theirScannable, ours.version)
	if err != nil {
		return false, err
	}
	same1 := subtle.ConstantTimeCompare(local, ours.remote[:ScannableContentSize])
	same2 := subtle.ConstantTimeCompare(remote, ours.local[:ScannableContentSize])
	return same1&same2 == 1, nil
}

// parseScannable parses a CombinedFingerprints protobuf of the given
// version and returns its local and remote contents, each exactly
// ScannableContentSize bytes and aliasing b.
//
// It accepts only what encodeScannable writes: the version field first, as
// a minimal varint that fits in a uint32, then local_fingerprint, then
// remote_fingerprint, each holding exactly one content field, with no other
// fields, no repeats and no trailing bytes. The version is checked before
// the rest is read, since the layout after it belongs to that version: a
// code whose version differs is ErrVersionMismatch whatever follows.
func parseScannable(b []byte, version uint32) (local, remote []byte, err error) {
	if len(b) > maxScannableSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), maxScannableSize)
	}
	r := reader{b: b}
	if !r.tag(fieldVersion, protowire.VarintType) {
		return nil, nil, fmt.Errorf("%w: no version field first", ErrMalformed)
	}
	v, ok := r.varint()
	if !ok || v > math.MaxUint32 {
		return nil, nil, fmt.Errorf("%w: bad version", ErrMalformed)
	}
	if v != uint64(version) {
		return nil, nil, fmt.Errorf("%w: theirs is %d, ours is %d", ErrVersionMismatch, v, version)
	}
	if local, err = r.logical(fieldLocalFingerprint); err != nil {
		return nil, nil, fmt.Errorf("%w: local fingerprint: %w", ErrMalformed, err)
	}
	if remote, err = r.logical(fieldRemoteFingerprint); err != nil {
		return nil, nil, fmt.Errorf("%w: remote fingerprint: %w", ErrMalformed, err)
	}
	if len(r.b) != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	return local, remote, nil
}

// reader consumes a protobuf strictly, refusing non-minimal varints.
type reader struct{ b []byte }

// varint consumes a minimally encoded varint.
func (r *reader) varint() (uint64, bool) {
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 || n != protowire.SizeVarint(v) {
		return 0, false
	}
	r.b = r.b[n:]
	return v, true
}

// tag consumes a tag and reports whether it is exactly (num, typ).
func (r *reader) tag(num protowire.Number, typ protowire.Type) bool {
	v, ok := r.varint()
	return ok && v == protowire.EncodeTag(num, typ)
}

// bytes consumes the length and payload of a length-delimited field. The
// result aliases the input, with its capacity cut to its length.
func (r *reader) bytes() ([]byte, bool) {
	n, ok := r.varint()
	if !ok || n > uint64(len(r.b)) {
		return nil, false
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

// logical consumes field num holding a LogicalFingerprint and returns its
// content, which must be ScannableContentSize bytes.
func (r *reader) logical(num protowire.Number) ([]byte, error) {
	if !r.tag(num, protowire.BytesType) {
		return nil, errors.New("missing or out of order")
	}
	msg, ok := r.bytes()
	if !ok {
		return nil, errors.New("truncated")
	}
	inner := reader{b: msg}
	if !inner.tag(fieldContent, protowire.BytesType) {
		return nil, errors.New("no content field")
	}
	content, ok := inner.bytes()
	if !ok {
		return nil, errors.New("content truncated")
	}
	if len(inner.b) != 0 {
		return nil, fmt.Errorf("%d bytes after content", len(inner.b))
	}
	if len(content) != ScannableContentSize {
		return nil, fmt.Errorf("content is %d bytes, want %d", len(content), ScannableContentSize)
	}
	return content, nil
}
