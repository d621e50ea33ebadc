package querycache

// ring tracks the stored items in insertion slots for the CLOCK eviction
// hand and the expiry sweep. The zero value is an empty ring. Its methods
// must be called with Entry.mu held.
type ring[K comparable, V any] struct {
	slots     []*item[K, V] // nil marks a free slot
	free      []int         // indexes of nil slots
	count     int
	hand      int // next slot the eviction hand examines
	sweepHand int // next slot the expiry sweep examines
}

func (r *ring[K, V]) len() int { return r.count }

// add puts it into a free slot.
func (r *ring[K, V]) add(it *item[K, V]) {
	if n := len(r.free); n > 0 {
		it.slot = r.free[n-1]
		r.free = r.free[:n-1]
		r.slots[it.slot] = it
	} else {
		it.slot = len(r.slots)
		r.slots = append(r.slots, it)
	}
	r.count++
}

// replace puts it into the slot of old, which holds the same key.
func (r *ring[K, V]) replace(old, it *item[K, V]) {
	it.slot = old.slot
	r.slots[it.slot] = it
}

// remove frees the slot of it.
func (r *ring[K, V]) remove(it *item[K, V]) {
	r.slots[it.slot] = nil
	r.free = append(r.free, it.slot)
	r.count--
	if r.count == 0 {
		// Drop the backing arrays so that a drained entry holds no memory.
		*r = ring[K, V]{}
	}
}

// victim returns the first item after the hand that has not been read
// since the hand last passed it, clearing the referenced bit of each read
// item it passes. When concurrent hits keep setting bits behind the hand,
// it returns the next item whatever its bit. It returns nil only when the
// ring is empty.
func (r *ring[K, V]) victim() *item[K, V] {
	if r.count == 0 {
		return nil
	}
	// Without concurrent hits two turns suffice, because the first clears
	// every bit it passes.
	for range 2 * len(r.slots) {
		it := r.advance(&r.hand)
		if it == nil {
			continue
		}
		if it.referenced.Load() {
			it.referenced.Store(false)
			continue
		}
		return it
	}
	// Hits set referenced bits without Entry.mu, so they can set each bit
	// again right after the hand clears it. The bound comes first: take the
	// next item whatever its bit.
	for range len(r.slots) {
		if it := r.advance(&r.hand); it != nil {
			return it
		}
	}
	return nil
}

// nextSwept advances the sweep hand by one slot and returns the item in
// it, or nil for a free slot or an empty ring.
func (r *ring[K, V]) nextSwept() *item[K, V] {
	if len(r.slots) == 0 {
		return nil
	}
	return r.advance(&r.sweepHand)
}

// advance returns the item in the slot at *hand, or nil for a free slot,
// and moves *hand to the next slot, wrapping around. The ring must not be
// empty.
func (r *ring[K, V]) advance(hand *int) *item[K, V] {
	if *hand >= len(r.slots) {
		*hand = 0
	}
	it := r.slots[*hand]
	*hand++
	return it
}
