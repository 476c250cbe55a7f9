//go:build !unix

package loadtest

import (
	"errors"
	"time"
)

// RaiseFileLimit does nothing here: the platform has no RLIMIT_NOFILE.
func RaiseFileLimit(want uint64) error { return nil }

func selfCPU() (time.Duration, error) {
	return 0, errors.New("loadtest: CPU time not available on this platform")
}
