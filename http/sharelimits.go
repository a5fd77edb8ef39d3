package http

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Rate limits hold for all instances together: each instance tells the others,
// through the Bus, how many requests of each client it admitted, and debits those
// from its own buckets (msgHits). A client spreading its requests over N
// instances thus gets about the configured rate, not N times it, give or take
// what arrives within one sharing interval.

// msgHits is the kind of the message "hits <instance> <limit> <key>=<n> ...",
// keys query-escaped.
const msgHits = "hits"

// maxHitsMessage keeps a message well under PostgreSQL's 8000-byte NOTIFY limit;
// maxHitsKeys bounds the clients shared per interval (about 10 messages).
const (
	maxHitsMessage = 7000
	maxHitsKeys    = 1000
)

// ShareRateLimits publishes, every interval until ctx ends, the requests this
// instance admitted. It does nothing without a Bus (a single instance).
func (s *Server) ShareRateLimits(ctx context.Context, every time.Duration) {
	if s.bus == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.publishHits(ctx, "a", s.authLimit.drain())
		s.publishHits(ctx, "r", s.resetLimit.drain())
	}
}

func (s *Server) publishHits(ctx context.Context, class string, hits map[string]int) {
	head := msgHits + " " + s.instance + " " + class
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		if err := s.bus.Publish(ctx, head+b.String()); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sharing rate-limit counts", "err", err)
		}
		b.Reset()
	}
	sent := 0
	for key, n := range hits {
		if sent++; sent > maxHitsKeys {
			// A flood from very many addresses: the rest are counted here only,
			// and the cache invalidations on the same channel are not held up.
			break
		}
		item := " " + url.QueryEscape(key) + "=" + strconv.Itoa(n)
		if len(head)+b.Len()+len(item) > maxHitsMessage {
			flush()
		}
		if len(head)+len(item) > maxHitsMessage {
			continue // a key that long is not a client address and a route
		}
		b.WriteString(item)
	}
	flush()
}

// applyHits debits the requests another instance admitted.
func (s *Server) applyHits(f []string) {
	if len(f) < 3 || f[1] == s.instance {
		return
	}
	l := s.authLimit
	if f[2] == "r" {
		l = s.resetLimit
	}
	for _, item := range f[3:] {
		k, v, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(v)
		key, kerr := url.QueryUnescape(k)
		if !ok || err != nil || kerr != nil {
			continue
		}
		l.debit(key, n)
	}
}
