package messenger

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The plaintext inside every ciphertext is a payload: JSON, then padding.
// Padding hides the exact length of short messages from the relay (it
// still sees the padded size), as Signal pads to multiples of 160 bytes.
const (
	payloadVersion = 1
	// padBlock is the padding granularity: 0x80 then zeros up to the next
	// multiple (ISO/IEC 7816-4), as Signal clients pad.
	padBlock = 160
	// MaxTextSize bounds one message's text; the relay refuses content over
	// 96 KiB, and padding plus encryption must fit under it.
	MaxTextSize = 64 << 10
)

// Payload kinds.
const (
	kindText    = "text"
	kindReceipt = "receipt"
)

// payload is what a message carries end to end.
type payload struct {
	V      int       `json:"v"`
	Kind   string    `json:"kind"`
	ID     string    `json:"id"`
	Text   string    `json:"text,omitempty"`
	SentAt time.Time `json:"sent_at"`
	// For is the id of the message a receipt acknowledges.
	For string `json:"for,omitempty"`
}

var errBadPayload = errors.New("messenger: malformed payload")

func encodePayload(p payload) ([]byte, error) {
	p.V = payloadVersion
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("messenger: internal error: %w", err)
	}
	padded := make([]byte, (len(b)/padBlock+1)*padBlock)
	copy(padded, b)
	padded[len(b)] = 0x80
	return padded, nil
}

func decodePayload(b []byte) (payload, error) {
	end := len(b) - 1
	for end >= 0 && b[end] == 0 {
		end--
	}
	if end < 0 || b[end] != 0x80 {
		return payload{}, fmt.Errorf("%w: padding", errBadPayload)
	}
	var p payload
	if err := json.Unmarshal(b[:end], &p); err != nil {
		return payload{}, fmt.Errorf("%w: %w", errBadPayload, err)
	}
	if p.V != payloadVersion || p.ID == "" || (p.Kind != kindText && p.Kind != kindReceipt) {
		return payload{}, fmt.Errorf("%w: version %d kind %q", errBadPayload, p.V, p.Kind)
	}
	if len(p.Text) > MaxTextSize {
		return payload{}, fmt.Errorf("%w: text of %d bytes", errBadPayload, len(p.Text))
	}
	return p, nil
}

// PayloadText reads the text of a decrypted payload, for tools that hold
// a message key some other way (the provider's view in `blindpost demo
// --escrow`). isText is false for delivery receipts.
func PayloadText(plaintext []byte) (text string, isText bool, err error) {
	p, err := decodePayload(plaintext)
	if err != nil {
		return "", false, err
	}
	return p.Text, p.Kind == kindText, nil
}
