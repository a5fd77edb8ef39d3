package http

import (
	"sync"
	"sync/atomic"
	"time"
)

// cache is a bounded map whose entries expire. It keeps hot lookups (tenants by
// name, sessions, principals, verified tokens) off the store; every write that
// changes a cached object deletes its entry, and the TTL bounds how long a change
// made elsewhere can go unseen.
//
// A value loaded from the store must not be cached after an invalidation that
// happened while it was loaded: loaders take gen() before reading the store and
// store the value with putAt, which drops it if anything was deleted meanwhile.
type cache[K comparable, V any] struct {
	gens atomic.Uint64 // deletions so far
	mu   sync.RWMutex
	m    map[K]cacheEntry[V]
	max  int
	ttl  time.Duration
	now  func() time.Time
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

func newCache[K comparable, V any](max int, ttl time.Duration, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{m: make(map[K]cacheEntry[V]), max: max, ttl: ttl, now: now}
}

// get returns the live entry for k.
func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// gen returns the count of deletions so far, for putAt.
func (c *cache[K, V]) gen() uint64 { return c.gens.Load() }

// putAt stores v for k like put, unless an entry was deleted since gen was taken.
func (c *cache[K, V]) putAt(k K, v V, until time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens.Load() != gen {
		return
	}
	c.putLocked(k, v, until)
}

// put stores v for k until the TTL passes or until, if earlier, until.
func (c *cache[K, V]) put(k K, v V, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v, until)
}

func (c *cache[K, V]) putLocked(k K, v V, until time.Time) {
	exp := c.now().Add(c.ttl)
	if !until.IsZero() && until.Before(exp) {
		exp = until
	}
	if len(c.m) >= c.max {
		// Evict about a tenth; map iteration order makes the choice random.
		n := c.max/10 + 1
		for key := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, key)
			n--
		}
	}
	c.m[k] = cacheEntry[V]{v: v, expires: exp}
}

// del removes k.
func (c *cache[K, V]) del(k K) {
	c.mu.Lock()
	c.gens.Add(1)
	delete(c.m, k)
	c.mu.Unlock()
}

// delIf removes every entry for which drop returns true.
func (c *cache[K, V]) delIf(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens.Add(1)
	for k, e := range c.m {
		if drop(k, e.v) {
			delete(c.m, k)
		}
	}
}

// clear removes every entry.
func (c *cache[K, V]) clear() {
	c.mu.Lock()
	c.gens.Add(1)
	clear(c.m)
	c.mu.Unlock()
}
