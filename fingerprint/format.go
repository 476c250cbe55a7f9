package fingerprint

import "strings"

// Groups formats a displayable safety number for people: 12 groups of 5
// digits separated by single spaces, as the Signal apps show it. Any input
// that is not exactly DisplayableLength ASCII digits is returned unchanged.
func Groups(displayable string) string {
	if len(displayable) != DisplayableLength {
		return displayable
	}
	for i := 0; i < len(displayable); i++ {
		if displayable[i] < '0' || displayable[i] > '9' {
			return displayable
		}
	}
	var sb strings.Builder
	sb.Grow(DisplayableLength + DisplayableLength/groupSize - 1)
	for i := 0; i < DisplayableLength; i += groupSize {
		if i > 0 {
			sb.WriteString(groupSeparator)
		}
		sb.WriteString(displayable[i : i+groupSize])
	}
	return sb.String()
}
