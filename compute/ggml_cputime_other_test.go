//go:build !unix

package compute

import "time"

// cpuTime returns 0 where the process's CPU time is not read: the
// benchmarks that use it then report wall time only.
func cpuTime() time.Duration { return 0 }
