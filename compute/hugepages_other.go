//go:build !linux

package compute

import "unsafe"

// adviseHuge does nothing where transparent huge pages are not known.
func adviseHuge(p unsafe.Pointer, n int) {}
