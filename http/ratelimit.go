package http

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client address.
type limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond, burst float64, now func() time.Time) *limiter {
	if perSecond <= 0 {
		return nil
	}
	b := int(math.Max(1, burst))
	return &limiter{rate: rate.Limit(perSecond), burst: b, now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token for client and, when there is none, says how long to wait.
func (l *limiter) allow(client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	b, ok := l.buckets[client]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[client] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	l.mu.Unlock()
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets clients not seen for a minute (their buckets are full again).
func (l *limiter) sweep() {
	if l == nil {
		return
	}
	cut := l.now().Add(-time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		if b.seen.Before(cut) {
			delete(l.buckets, k)
		}
	}
}
