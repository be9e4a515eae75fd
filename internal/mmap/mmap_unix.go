//go:build unix

package mmap

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

// Release tells the kernel that the pages wholly inside b, a part of a
// read-only file mapping, are not needed any more: they leave the
// process's resident memory (the page cache may keep them) and are read
// from the file again if touched. b must lie inside a mapping made by File.
func Release(b []byte) error {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return nil
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	end := start + uintptr(len(b))
	first := (start + page - 1) &^ (page - 1)
	last := end &^ (page - 1)
	if last <= first {
		return nil
	}
	return unix.Madvise(b[first-start:last-start], unix.MADV_DONTNEED)
}
