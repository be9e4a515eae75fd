package compute

import "syscall"

// osYield gives the thread's core to another runnable thread, if any
// (sched_yield), so that a spinning worker does not take a shared core
// from the work it waits for.
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
