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
	pending map[string]int // requests admitted since the last drain, for the other instances
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
	return &limiter{rate: rate.Limit(perSecond), burst: b, now: now,
		buckets: make(map[string]*bucket), pending: make(map[string]int)}
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
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		l.mu.Unlock()
		return false, d
	}
	l.pending[client]++
	l.mu.Unlock()
	return true, 0
}

// drain returns the requests admitted per client since the last drain.
func (l *limiter) drain() map[string]int {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil
	}
	p := l.pending
	l.pending = make(map[string]int)
	return p
}

// debit takes from client's bucket the n requests other instances admitted, so
// that all instances together admit about the configured rate. The bucket may go
// into debt: the client then waits until it has paid it off.
func (l *limiter) debit(client string, n int) {
	if l == nil || n <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[client] = b
	}
	b.seen = now
	// ReserveN refuses more than the burst at once; a few times the burst of debt
	// is as good as any more (the client is refused for that long).
	for i := 0; n > 0 && i < 4; i++ {
		k := min(n, l.burst)
		b.lim.ReserveN(now, k)
		n -= k
	}
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
