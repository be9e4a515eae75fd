// Package mmap maps files read-only into memory, falling back to reading
// them where mapping is unavailable.
package mmap

import (
	"fmt"
	"os"
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
