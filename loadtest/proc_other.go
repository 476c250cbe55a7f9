//go:build !linux

package loadtest

import (
	"errors"
	"time"
)

var errNoProc = errors.New("loadtest: process memory and CPU are read from /proc, on Linux only")

func processRSS(pid int) (int64, error) { return 0, errNoProc }

func processCPU(pid int) (time.Duration, error) { return 0, errNoProc }

func machineCPU() (time.Duration, error) { return 0, errNoProc }
