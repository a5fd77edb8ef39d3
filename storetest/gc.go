package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

var gcTests = []struct {
	name string
	fn   func(t *testing.T, s orgauth.Store)
}{
	{"GarbageCollect", testGarbageCollect},
	{"GarbageCollectBatches", testGarbageCollectBatches},
	{"GarbageCollectWalksPastLiveRows", testGarbageCollectWalksPastLiveRows},
	{"GarbageCollectConcurrent", testGarbageCollectConcurrent},
}

const (
	gcIdle     = time.Hour
	gcKeepMail = 7 * day
)

// gcSession creates a session of u with the given times.
func gcSession(t *testing.T, s orgauth.Store, u *orgauth.User, lastUsed, expires, revoked time.Time) *orgauth.Session {
	t.Helper()
	sess := &orgauth.Session{ID: orgauth.NewID(), UserID: u.ID, CreatedAt: lastUsed,
		LastUsedAt: lastUsed, ExpiresAt: expires, RevokedAt: revoked}
	ok(t, s.InTenant(u.TenantID).CreateSession(t.Context(), sess))
	return sess
}

// wantSessions checks which sessions are still there.
func wantSessions(t *testing.T, s orgauth.Store, kept, gone []*orgauth.Session) {
	t.Helper()
	for _, sess := range kept {
		_, err := s.InTenant(sess.TenantID).Session(t.Context(), sess.ID)
		ok(t, err)
	}
	for _, sess := range gone {
		_, err := s.InTenant(sess.TenantID).Session(t.Context(), sess.ID)
		wantCode(t, err, orgauth.ENOTFOUND)
	}
}

func collect(t *testing.T, s orgauth.Store, batch int) orgauth.Collected {
	t.Helper()
	got, err := s.GarbageCollect(t.Context(), orgauth.Collect{Now: now, SessionIdle: gcIdle, KeepMail: gcKeepMail, Batch: batch})
	ok(t, err)
	return got
}

func testGarbageCollect(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	t1, t2 := f.tenant("gc-one"), f.tenant("gc-two")
	u, v := f.user(t1, "u@gc.example"), f.user(t2, "v@gc.example")

	// Sessions, in both tenants: live ones a millisecond from their end stay.
	live := gcSession(t, s, u, now.Add(-gcIdle+time.Millisecond), now.Add(time.Millisecond), time.Time{})
	liveOther := gcSession(t, s, v, now, now.Add(day), time.Time{})
	expired := gcSession(t, s, u, now.Add(-time.Minute), now, time.Time{})
	idle := gcSession(t, s, v, now.Add(-gcIdle), now.Add(day), time.Time{})
	revoked := gcSession(t, s, u, now, now.Add(day), now.Add(-time.Second))
	revokedLater := gcSession(t, s, v, now, now.Add(day), now.Add(time.Second))

	// Tokens: a newer token of the same purpose marks the older one used.
	tokLive := f.token(u, orgauth.PurposeActivation, now.Add(-30*time.Minute))
	tokExpired := f.token(v, orgauth.PurposeReset, now.Add(-time.Hour))
	tokUsed := f.token(u, orgauth.PurposeReset, now.Add(-time.Minute))
	ok(t, s.InTenant(u.TenantID).UseUserToken(ctx, tokUsed.ID, now.Add(-time.Second)))
	tokOld := f.token(v, orgauth.PurposeActivation, now.Add(-20*time.Minute))
	tokNew := f.token(v, orgauth.PurposeActivation, now.Add(-10*time.Minute))
	usedLater := f.token(v, orgauth.PurposeReset, now.Add(-time.Minute))
	ok(t, s.InTenant(v.TenantID).UseUserToken(ctx, usedLater.ID, now.Add(time.Second)))

	// Mail: waiting mail stays whatever its age, leased or waiting to be
	// retried; sent and given-up mail stays for gcKeepMail.
	queued := enqueue(t, s, now.Add(-30*day))
	retrying := enqueue(t, s, now.Add(-30*day))
	wantClaimed(t, "before collecting", claim(t, s, now, time.Minute, 10), queued, retrying)
	ok(t, s.MailRetry(ctx, retrying.ID, now.Add(time.Hour), "421 try again later"))
	sentOld, sentNew := enqueue(t, s, now), enqueue(t, s, now)
	ok(t, s.MailSent(ctx, sentOld.ID, now.Add(-gcKeepMail)))
	ok(t, s.MailSent(ctx, sentNew.ID, now.Add(-gcKeepMail+time.Millisecond)))
	failedOld, failedNew := enqueue(t, s, now), enqueue(t, s, now)
	ok(t, s.MailFailed(ctx, failedOld.ID, now.Add(-gcKeepMail-time.Hour), "550 no such user"))
	ok(t, s.MailFailed(ctx, failedNew.ID, now.Add(-time.Hour), "550 no such user"))

	got := collect(t, s, 0)
	if want := (orgauth.Collected{Sessions: 3, UserTokens: 3, Mail: 2}); got != want {
		t.Fatalf("GarbageCollect = %+v, want %+v", got, want)
	}
	wantSessions(t, s, []*orgauth.Session{live, liveOther, revokedLater}, []*orgauth.Session{expired, idle, revoked})
	for _, tok := range []*orgauth.UserToken{tokLive, tokNew, usedLater} {
		_, err := s.UserToken(ctx, tok.ID)
		ok(t, err)
	}
	for _, tok := range []*orgauth.UserToken{tokExpired, tokUsed, tokOld} {
		_, err := s.UserToken(ctx, tok.ID)
		wantCode(t, err, orgauth.ENOTFOUND)
	}
	latest, err := s.InTenant(v.TenantID).LatestUserToken(ctx, v.ID, orgauth.PurposeActivation, now)
	ok(t, err)
	if latest.ID != tokNew.ID {
		t.Fatalf("LatestUserToken = %s, want %s", latest.ID, tokNew.ID)
	}
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 2, Sent: 1, Failed: 1})
	// The lease of queued ran out; retrying is due in an hour.
	wantClaimed(t, "after collecting", claim(t, s, now.Add(2*time.Minute), time.Minute, 10), queued)

	// Nothing is left to collect.
	if got := collect(t, s, 0); got != (orgauth.Collected{}) {
		t.Fatalf("second GarbageCollect = %+v, want nothing", got)
	}
	// A day later the sessions and the tokens that were live, or ended only
	// after the first collection's Now, have ended too, and the mail sent a
	// millisecond too late for the first collection is old enough.
	later, err := s.GarbageCollect(ctx, orgauth.Collect{Now: now.Add(day), SessionIdle: gcIdle, KeepMail: gcKeepMail})
	ok(t, err)
	if want := (orgauth.Collected{Sessions: 3, UserTokens: 3, Mail: 1}); later != want {
		t.Fatalf("GarbageCollect a day later = %+v, want %+v", later, want)
	}
}

// gcDead makes n sessions and n tokens of u that have ended.
func gcDead(t *testing.T, f *fixture, s orgauth.Store, u *orgauth.User, n int) {
	t.Helper()
	for i := range n {
		gcSession(t, s, u, now, now.Add(day), now.Add(-time.Duration(i+1)*time.Second))
		f.token(u, orgauth.PurposeReset, now.Add(-2*time.Hour-time.Duration(i)*time.Second))
	}
}

func testGarbageCollectBatches(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	tn := f.tenant("gc-batches")
	u := f.user(tn, "u@gc.example")
	live := gcSession(t, s, u, now, now.Add(day), time.Time{})
	gcDead(t, f, s, u, 23)
	// Windows of 5 rows over 24 sessions and 23 tokens: the last ones are partial.
	if got, want := collect(t, s, 5), (orgauth.Collected{Sessions: 23, UserTokens: 23}); got != want {
		t.Fatalf("GarbageCollect in batches of 5 = %+v, want %+v", got, want)
	}
	// Windows that hold only live rows delete nothing and the walk goes on.
	gcDead(t, f, s, u, 10)
	if got, want := collect(t, s, 5), (orgauth.Collected{Sessions: 10, UserTokens: 10}); got != want {
		t.Fatalf("GarbageCollect of 10 in batches of 5 = %+v, want %+v", got, want)
	}
	wantSessions(t, s, []*orgauth.Session{live}, nil)
}

// testGarbageCollectWalksPastLiveRows puts the dead rows behind windows that
// hold only live ones, in key order.
func testGarbageCollectWalksPastLiveRows(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	tn := f.tenant("gc-walk")
	u := f.user(tn, "u@gc.example")
	q := s.InTenant(tn.ID)
	var live, dead []*orgauth.Session
	for i := range 12 {
		sess := &orgauth.Session{ID: fmt.Sprintf("s-live-%02d", i), UserID: u.ID,
			CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(day)}
		ok(t, q.CreateSession(t.Context(), sess))
		live = append(live, sess)
	}
	for i := range 3 {
		sess := &orgauth.Session{ID: fmt.Sprintf("s-zdead-%d", i), UserID: u.ID,
			CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(day), RevokedAt: now}
		ok(t, q.CreateSession(t.Context(), sess))
		dead = append(dead, sess)
	}
	if got, want := collect(t, s, 2), (orgauth.Collected{Sessions: 3}); got != want {
		t.Fatalf("GarbageCollect in batches of 2 = %+v, want %+v", got, want)
	}
	wantSessions(t, s, live, dead)
}

// testGarbageCollectConcurrent runs the collection of several instances at
// once: none fails, and nothing is deleted twice or left behind once they
// are done and one more runs.
func testGarbageCollectConcurrent(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	tn := f.tenant("gc-concurrent")
	u := f.user(tn, "u@gc.example")
	live := gcSession(t, s, u, now, now.Add(day), time.Time{})
	const dead = 40
	gcDead(t, f, s, u, dead)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total orgauth.Collected
	)
	for range 4 {
		wg.Go(func() {
			got, err := s.GarbageCollect(t.Context(), orgauth.Collect{Now: now, SessionIdle: gcIdle, KeepMail: gcKeepMail, Batch: 3})
			if err != nil {
				t.Errorf("concurrent GarbageCollect: %v", err)
			}
			mu.Lock()
			total.Sessions += got.Sessions
			total.UserTokens += got.UserTokens
			mu.Unlock()
		})
	}
	wg.Wait()
	last := collect(t, s, 3)
	total.Sessions += last.Sessions
	total.UserTokens += last.UserTokens
	if want := (orgauth.Collected{Sessions: dead, UserTokens: dead}); total != want {
		t.Fatalf("concurrent GarbageCollect deleted %+v in all, want %+v", total, want)
	}
	wantSessions(t, s, []*orgauth.Session{live}, nil)
}
