// Package mmap maps files read-only into memory, falling back to reading
// them where mapping is unavailable.
package mmap

import (
	"fmt"
	"os"
	"unsafe"
)

// File returns the contents of f (size bytes) as a read-only mapping and
// the function that releases it. Empty files give a nil slice.
func File(f *os.File, size int64) ([]byte, func() error, error) {
	if size < 0 || int64(int(size)) != size {
		return nil, nil, fmt.Errorf("mmap: size %d out of range", size)
	}
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	return mapFile(f, size)
}

// Within reports whether b lies entirely inside the mapping m.
func Within(m, b []byte) bool {
	if len(b) == 0 || len(m) == 0 {
		return false
	}
	lo, hi := uintptr(unsafe.Pointer(&m[0])), uintptr(unsafe.Pointer(&m[len(m)-1]))
	blo, bhi := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[len(b)-1]))
	return blo >= lo && bhi <= hi
}
