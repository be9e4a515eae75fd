//go:build unix

package compute

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used,
// all threads together: benchmarks report it per op, which on a shared
// machine is steadier than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
