package http

import (
	"sync"
	"time"
)

// cache is a bounded map whose entries expire. It keeps hot lookups (tenants by
// name, sessions, principals, verified tokens) off the store; every write that
// changes a cached object deletes its entry, and the TTL bounds how long a change
// made elsewhere can go unseen.
type cache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]cacheEntry[V]
	max int
	ttl time.Duration
	now func() time.Time
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

// put stores v for k until the TTL passes or until, if earlier, until.
func (c *cache[K, V]) put(k K, v V, until time.Time) {
	exp := c.now().Add(c.ttl)
	if !until.IsZero() && until.Before(exp) {
		exp = until
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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
	delete(c.m, k)
	c.mu.Unlock()
}

// delIf removes every entry for which drop returns true.
func (c *cache[K, V]) delIf(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if drop(k, e.v) {
			delete(c.m, k)
		}
	}
}

// clear removes every entry.
func (c *cache[K, V]) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
