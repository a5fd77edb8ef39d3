//go:build linux && !race

package argon2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocBlocks maps n blocks of anonymous memory outside the Go heap, left out
// of core dumps. When the mapping fails it falls back to the heap (and a nil
// unmap).
func allocBlocks(n int) (blocks []block, unmap func()) {
	region, err := unix.Mmap(-1, 0, n*blockLength*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]block, n), nil
	}
	_ = unix.Madvise(region, unix.MADV_DONTDUMP) // best effort
	blocks = unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(region))), n)
	return blocks, func() { unix.Munmap(region) }
}
