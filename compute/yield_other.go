//go:build !linux

package compute

import "runtime"

// osYield lets other goroutines run while a worker spins.
func osYield() { runtime.Gosched() }
