package compute

import "unsafe"

// bytesOf views s as its bytes: the same memory, no copy (nil for an
// empty s).
func bytesOf[E float32 | uint32 | uint16 | int8](s []E) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}
