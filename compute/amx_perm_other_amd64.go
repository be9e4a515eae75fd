//go:build amd64 && !purego && !linux

package compute

import "errors"

// amxRequestPermission reports that this build knows how to ask only
// Linux for the tile state.
func amxRequestPermission() error {
	return errors.New("AMX permission is requested only on Linux")
}
