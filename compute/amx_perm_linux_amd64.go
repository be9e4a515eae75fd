//go:build amd64 && !purego

package compute

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// arch_prctl codes and the XSAVE feature number of the tile data.
const (
	archGetXCompPerm  = 0x1022
	archReqXCompPerm  = 0x1023
	xfeatureXTileData = 18
)

// amxRequestPermission asks Linux for the XTILEDATA state for this process
// (all its threads) and confirms it was granted.
func amxRequestPermission() error {
	if _, _, e := syscall.Syscall(syscall.SYS_ARCH_PRCTL, archReqXCompPerm, xfeatureXTileData, 0); e != 0 {
		return fmt.Errorf("arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): %w", e)
	}
	var mask uint64
	if _, _, e := syscall.Syscall(syscall.SYS_ARCH_PRCTL, archGetXCompPerm, uintptr(unsafe.Pointer(&mask)), 0); e != 0 {
		return fmt.Errorf("arch_prctl(ARCH_GET_XCOMP_PERM): %w", e)
	}
	if mask&(1<<xfeatureXTileData) == 0 {
		return errors.New("arch_prctl(ARCH_GET_XCOMP_PERM) does not list XTILEDATA")
	}
	return nil
}
