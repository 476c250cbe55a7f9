package messenger

import (
	"fmt"

	"github.com/blindpost/blindpost/relay/protocol"
)

// ValidName checks an account name by the relay's rules (lowercase ASCII
// letters, digits, '.', '_' and '-'; UUIDs fit).
func ValidName(name string) error {
	if err := protocol.CheckName(name); err != nil {
		return fmt.Errorf("messenger: invalid name %q: %w", name, err)
	}
	return nil
}
