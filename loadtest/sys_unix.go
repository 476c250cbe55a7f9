//go:build unix

package loadtest

import (
	"fmt"
	"syscall"
	"time"
)

// RaiseFileLimit raises this process's limit of open files to at least
// want (each connection is one file; two when the relay runs in the same
// process). Raising the hard limit needs privilege; without it the error
// says what the hard limit is.
func RaiseFileLimit(want uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("loadtest: file limit: %w", err)
	}
	if l.Cur >= want {
		return nil
	}
	hard := l.Max
	l.Cur, l.Max = want, max(l.Max, want)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("loadtest: need %d open files, the hard limit is %d (%w): raise it, or use fewer connections (an external relay has its own limit)", want, hard, err)
	}
	return nil
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("loadtest: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
