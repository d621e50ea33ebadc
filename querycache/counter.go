package querycache

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// stripedCounter is a counter that many goroutines can increment at once
// without contending on one cache line. An increment picks a stripe from
// the address of its goroutine's stack, and load adds all stripes up. The zero value is not usable; call
// newStripedCounter.
type stripedCounter struct {
	stripes []paddedUint64
	mask    uint32
}

// paddedUint64 fills a 64-byte cache line, so that neighboring stripes do
// not share one.
type paddedUint64 struct {
	atomic.Uint64
	_ [56]byte
}

// maxStripes caps the memory of a counter at 4 KiB.
const maxStripes = 64

func newStripedCounter() *stripedCounter {
	n := uint(runtime.GOMAXPROCS(0))
	n = min(uint(1)<<bits.Len(n-1), maxStripes) // the next power of two
	return &stripedCounter{stripes: make([]paddedUint64, n), mask: uint32(n - 1)}
}

// inc adds one. Goroutine stacks start at 8 KiB and do not overlap, so the
// stack address divided by 8 KiB differs between goroutines that run at the
// same time and stays the same within one. That spreads concurrent
// increments over the stripes at the cost of one shift. The address is
// never dereferenced.
func (c *stripedCounter) inc() {
	var onStack byte
	slot := uint32(uintptr(unsafe.Pointer(&onStack)) >> 13)
	c.stripes[slot&c.mask].Add(1)
}

// load returns the sum of all stripes. Increments that run concurrently
// may or may not be included.
func (c *stripedCounter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].Load()
	}
	return sum
}
