//go:build unix

// Package cputime reads the CPU time the process has used, for benchmarks
// that compare by CPU time on a shared machine.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time of the process so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
