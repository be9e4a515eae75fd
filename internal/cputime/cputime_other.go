//go:build !unix

// Package cputime reads the CPU time the process has used, for benchmarks
// that compare by CPU time on a shared machine.
package cputime

import "time"

// Process returns 0 where the process's CPU time is not read: benchmarks
// then report no CPU time.
func Process() time.Duration { return 0 }
