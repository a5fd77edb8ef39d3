package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

// lifecycleTests are the conformance tests of the account lifecycle: the mail
// outbox, password policies, expiry reminders and the blocklist. Run runs them.
var lifecycleTests = []struct {
	name string
	fn   func(t *testing.T, s orgauth.Store)
}{
	{"OutboxClaim", testOutboxClaim},
	{"OutboxClaimLimitOrder", testOutboxClaimLimitOrder},
	{"OutboxSent", testOutboxSent},
	{"OutboxDelete", testOutboxDelete},
	{"OutboxRetry", testOutboxRetry},
	{"OutboxFailed", testOutboxFailed},
	{"OutboxSentAfterFailed", testOutboxSentAfterFailed},
	{"OutboxCounts", testOutboxCounts},
	{"MailQueuedSince", testMailQueuedSince},
	{"OutboxRollBack", testOutboxRollBack},
	{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
	{"SystemPasswordPolicy", testSystemPasswordPolicy},
	{"TenantPasswordPolicy", testTenantPasswordPolicy},
	{"DeleteTenantDropsPasswordPolicy", testDeleteTenantDropsPasswordPolicy},
	{"PasswordRemindersWindow", testPasswordRemindersWindow},
	{"PasswordRemindersMark", testPasswordRemindersMark},
	{"PasswordRemindersTenantPolicy", testPasswordRemindersTenantPolicy},
	{"PasswordRemindersPaging", testPasswordRemindersPaging},
	{"PasswordBlocklist", testPasswordBlocklist},
}

// day is a day of the reminder arithmetic: stores count days as 24 hours.
const day = 24 * time.Hour

// outboxMail returns a message due at next, not yet queued.
func outboxMail(next time.Time) *orgauth.OutboxMail {
	id := orgauth.NewID()
	return &orgauth.OutboxMail{
		ID: id, Kind: "reset", TenantID: "tenant-" + id,
		Sealed:    []byte("sealed\x00\xff-" + id),
		CreatedAt: now.Add(-time.Minute), NextAt: next, ExpiresAt: now.Add(day),
	}
}

// enqueue queues a message due at next and returns it.
func enqueue(t *testing.T, s orgauth.Store, next time.Time) *orgauth.OutboxMail {
	t.Helper()
	m := outboxMail(next)
	ok(t, s.EnqueueMail(t.Context(), m))
	return m
}

// claim claims up to limit messages at at, leased for lease.
func claim(t *testing.T, s orgauth.Store, at time.Time, lease time.Duration, limit int) []*orgauth.OutboxMail {
	t.Helper()
	got, err := s.ClaimMail(t.Context(), at, lease, limit)
	ok(t, err)
	if len(got) > limit {
		t.Fatalf("ClaimMail(limit %d) returned %d messages", limit, len(got))
	}
	return got
}

// mailIDs returns the ids of ms, sorted.
func mailIDs(ms []*orgauth.OutboxMail) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	sort.Strings(out)
	return out
}

// wantClaimed fails t unless exactly the messages want are in got.
func wantClaimed(t *testing.T, what string, got []*orgauth.OutboxMail, want ...*orgauth.OutboxMail) {
	t.Helper()
	if g, w := mailIDs(got), mailIDs(want); !slices.Equal(g, w) {
		t.Fatalf("%s: claimed %v, want %v", what, g, w)
	}
}

// checkClaimed fails t unless got is the queued message want after attempts
// claims, with lastError.
func checkClaimed(t *testing.T, got, want *orgauth.OutboxMail, attempts int, lastError string) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.TenantID != want.TenantID ||
		!bytes.Equal(got.Sealed, want.Sealed) || !sameTime(got.CreatedAt, want.CreatedAt) ||
		!sameTime(got.NextAt, want.NextAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) ||
		got.Attempts != attempts || got.LastError != lastError ||
		!got.SentAt.IsZero() || !got.FailedAt.IsZero() {
		t.Fatalf("claimed mail:\ngot  %+v\nwant %+v with %d attempts, last error %q", got, want, attempts, lastError)
	}
}

// wantCounts fails t unless the outbox counts are want.
func wantCounts(t *testing.T, s orgauth.Store, want orgauth.OutboxCounts) {
	t.Helper()
	got, err := s.CountOutbox(t.Context())
	ok(t, err)
	if got != want {
		t.Fatalf("CountOutbox = %+v, want %+v", got, want)
	}
}

func testOutboxClaim(t *testing.T, s orgauth.Store) {
	m1 := enqueue(t, s, now)
	m2 := enqueue(t, s, now.Add(time.Minute))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 2})

	got := claim(t, s, now, 5*time.Minute, 10)
	wantClaimed(t, "at now", got, m1)
	checkClaimed(t, got[0], m1, 1, "")

	// m1 is leased until now+5m, m2 is not due before now+1m.
	wantClaimed(t, "again at now", claim(t, s, now, 5*time.Minute, 10))
	wantClaimed(t, "before m2 is due", claim(t, s, now.Add(time.Minute-time.Millisecond), 5*time.Minute, 10))
	got = claim(t, s, now.Add(time.Minute), 5*time.Minute, 10)
	wantClaimed(t, "when m2 is due", got, m2)
	checkClaimed(t, got[0], m2, 1, "")

	// m1's lease ends at now+5m, m2's at now+6m.
	wantClaimed(t, "before the lease ends", claim(t, s, now.Add(5*time.Minute-time.Millisecond), 5*time.Minute, 10))
	got = claim(t, s, now.Add(5*time.Minute+time.Millisecond), time.Hour, 10)
	wantClaimed(t, "after the lease", got, m1)
	checkClaimed(t, got[0], m1, 2, "")
	got = claim(t, s, now.Add(6*time.Minute+time.Millisecond), time.Hour, 10)
	wantClaimed(t, "after m2's lease", got, m2)
	checkClaimed(t, got[0], m2, 2, "")
	wantClaimed(t, "under the new leases", claim(t, s, now.Add(time.Hour), time.Hour, 10))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 2, Retries: 2})
}

func testOutboxClaimLimitOrder(t *testing.T, s orgauth.Store) {
	// Queued out of order: the earliest NextAt goes first whatever the order of
	// queueing or of the ids.
	var byNext []*orgauth.OutboxMail
	for _, minutes := range []int{3, 1, 4, 0, 2} {
		m := enqueue(t, s, now.Add(time.Duration(minutes-10)*time.Minute))
		byNext = append(byNext, m)
	}
	sort.Slice(byNext, func(i, j int) bool { return byNext[i].NextAt.Before(byNext[j].NextAt) })
	notDue := enqueue(t, s, now.Add(time.Millisecond))

	// The batch is the earliest messages; ClaimMail does not promise to return
	// it sorted.
	wantClaimed(t, "first batch", claim(t, s, now, time.Hour, 2), byNext[0], byNext[1])
	wantClaimed(t, "second batch", claim(t, s, now, time.Hour, 2), byNext[2], byNext[3])
	wantClaimed(t, "third batch", claim(t, s, now, time.Hour, 2), byNext[4])
	wantClaimed(t, "nothing left", claim(t, s, now, time.Hour, 2))
	wantClaimed(t, "limit 1", claim(t, s, now.Add(time.Millisecond), time.Hour, 1), notDue)
}

func testOutboxDelete(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	m1, m2 := enqueue(t, s, now), enqueue(t, s, now)
	ok(t, s.DeleteMail(ctx, m1.ID))
	wantCode(t, s.DeleteMail(ctx, m1.ID), orgauth.ENOTFOUND)
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1})
	wantClaimed(t, "after the delete", claim(t, s, now, time.Minute, 10), m2)

	// A delete in a transaction that fails is undone, and of two transactions
	// deleting the same entry only one succeeds.
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		ok(t, tx.DeleteMail(ctx, m2.ID))
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Update returned no error")
	}
	ok(t, s.Update(ctx, func(tx orgauth.Queries) error { return tx.DeleteMail(ctx, m2.ID) }))
	wantCode(t, s.Update(ctx, func(tx orgauth.Queries) error { return tx.DeleteMail(ctx, m2.ID) }), orgauth.ENOTFOUND)
	wantCounts(t, s, orgauth.OutboxCounts{})
}

func testOutboxSent(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	m1, m2 := enqueue(t, s, now), enqueue(t, s, now)
	wantClaimed(t, "at now", claim(t, s, now, time.Minute, 10), m1, m2)

	ok(t, s.MailSent(ctx, m1.ID, now.Add(time.Second)))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Sent: 1})
	wantCode(t, s.MailSent(ctx, m1.ID, now.Add(2*time.Second)), orgauth.ENOTFOUND)
	wantCode(t, s.MailRetry(ctx, m1.ID, now, "late"), orgauth.ENOTFOUND)
	wantCode(t, s.MailFailed(ctx, m1.ID, now, "late"), orgauth.ENOTFOUND)
	wantCode(t, s.MailSent(ctx, orgauth.NewID(), now), orgauth.ENOTFOUND)
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Sent: 1})

	// Long after every lease, only the unsent message comes back.
	got := claim(t, s, now.Add(day), time.Minute, 10)
	wantClaimed(t, "after the lease", got, m2)
	checkClaimed(t, got[0], m2, 2, "")
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Sent: 1, Retries: 1})

	// A message may be recorded sent without being claimed (a sender that
	// delivered straight away).
	m3 := enqueue(t, s, now)
	ok(t, s.MailSent(ctx, m3.ID, now))
	wantClaimed(t, "sent unclaimed", claim(t, s, now.Add(2*day), time.Minute, 10), m2)
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Sent: 2, Retries: 2})
}

func testOutboxRetry(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	m := enqueue(t, s, now)
	wantClaimed(t, "at now", claim(t, s, now, time.Hour, 10), m)

	next := now.Add(10 * time.Minute)
	ok(t, s.MailRetry(ctx, m.ID, next, "421 try again later"))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1})
	wantClaimed(t, "before next", claim(t, s, next.Add(-time.Millisecond), time.Hour, 10))
	// next is before the first lease would have ended: the retry released it.
	got := claim(t, s, next, time.Hour, 10)
	wantClaimed(t, "at next", got, m)
	want := *m
	want.NextAt = next
	checkClaimed(t, got[0], &want, 2, "421 try again later")
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Retries: 1})

	// A retry to an earlier time works too; the last error is replaced.
	ok(t, s.MailRetry(ctx, m.ID, now, "connection refused"))
	got = claim(t, s, next, time.Hour, 10)
	wantClaimed(t, "retried to the past", got, m)
	want.NextAt = now
	checkClaimed(t, got[0], &want, 3, "connection refused")

	wantCode(t, s.MailRetry(ctx, orgauth.NewID(), next, "x"), orgauth.ENOTFOUND)
}

func testOutboxFailed(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	m, keep := enqueue(t, s, now), enqueue(t, s, now.Add(time.Hour))
	wantClaimed(t, "at now", claim(t, s, now, time.Minute, 10), m)

	ok(t, s.MailFailed(ctx, m.ID, now.Add(time.Second), "expired"))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Failed: 1})
	wantClaimed(t, "after giving up", claim(t, s, now.Add(day), time.Minute, 10), keep)
	wantCode(t, s.MailFailed(ctx, m.ID, now.Add(day), "again"), orgauth.ENOTFOUND)
	wantCode(t, s.MailRetry(ctx, m.ID, now, "again"), orgauth.ENOTFOUND)
	wantCode(t, s.MailFailed(ctx, orgauth.NewID(), now, "x"), orgauth.ENOTFOUND)
	wantClaimed(t, "after the retry was refused", claim(t, s, now.Add(2*day), time.Minute, 10), keep)
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Failed: 1, Retries: 1})

	// Giving up a message never claimed works as well.
	never := enqueue(t, s, now.Add(day*10))
	ok(t, s.MailFailed(ctx, never.ID, now, "tenant deleted"))
	wantClaimed(t, "never claimed", claim(t, s, now.Add(day*20), time.Minute, 10), keep)
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1, Failed: 2, Retries: 2})
}

// A message is waiting, sent or given up: never counted twice. A worker whose
// lease ran out may report a delivery after another gave the message up.
func testOutboxSentAfterFailed(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	m := enqueue(t, s, now)
	wantClaimed(t, "first worker", claim(t, s, now, time.Minute, 10), m)
	wantClaimed(t, "second worker", claim(t, s, now.Add(2*time.Minute), time.Minute, 10), m)
	ok(t, s.MailFailed(ctx, m.ID, now.Add(2*time.Minute), "expired"))
	err := s.MailSent(ctx, m.ID, now.Add(3*time.Minute))
	if err != nil && orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		t.Fatalf("MailSent after MailFailed: %v", err)
	}
	c, err := s.CountOutbox(ctx)
	ok(t, err)
	if c.Queued+c.Sent+c.Failed != 1 || c.Queued != 0 {
		t.Fatalf("one message given up, then reported sent, is counted %+v", c)
	}
	wantClaimed(t, "later", claim(t, s, now.Add(day), time.Minute, 10))
}

func testOutboxCounts(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	wantCounts(t, s, orgauth.OutboxCounts{})
	at := now
	claimOnly := func(m *orgauth.OutboxMail, lease time.Duration) {
		t.Helper()
		at = at.Add(2 * time.Minute)
		wantClaimed(t, "claim", claim(t, s, at, lease, 10), m)
	}

	sent := enqueue(t, s, now) // 3 tries, then sent
	for range 3 {
		claimOnly(sent, time.Minute)
	}
	ok(t, s.MailSent(ctx, sent.ID, at))
	failed := enqueue(t, s, now) // 2 tries, then given up
	for range 2 {
		claimOnly(failed, time.Minute)
	}
	ok(t, s.MailFailed(ctx, failed.ID, at, "550 no such user"))
	once := enqueue(t, s, now) // 1 try, leased for long
	claimOnly(once, day)
	twice := enqueue(t, s, now) // 2 tries, waiting
	for range 2 {
		claimOnly(twice, time.Minute)
	}
	enqueue(t, s, now.Add(100*day)) // never tried

	wantCounts(t, s, orgauth.OutboxCounts{Queued: 3, Sent: 1, Failed: 1, Retries: 2 + 1 + 1})
}

func testOutboxRollBack(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	m := outboxMail(now)
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.EnqueueMail(ctx, m); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	wantCounts(t, s, orgauth.OutboxCounts{})
	wantClaimed(t, "rolled back", claim(t, s, now.Add(day), time.Minute, 10))
	wantCode(t, s.MailSent(ctx, m.ID, now), orgauth.ENOTFOUND)

	// The same message queued in a transaction that commits is there.
	ok(t, s.Update(ctx, func(tx orgauth.Queries) error { return tx.EnqueueMail(ctx, m) }))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: 1})
	got := claim(t, s, now, time.Minute, 10)
	wantClaimed(t, "committed", got, m)
	checkClaimed(t, got[0], m, 1, "")
}

func testOutboxConcurrentClaims(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	const total, workers, limit = 40, 8, 3
	queued := make(map[string]bool)
	for i := range total {
		m := enqueue(t, s, now.Add(-time.Duration(i)*time.Millisecond))
		queued[m.ID] = true
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	got := make([][]*orgauth.OutboxMail, workers)
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			<-start
			for {
				batch, err := s.ClaimMail(ctx, now, time.Hour, limit)
				if err != nil {
					errs[w] = err
					return
				}
				if len(batch) > limit {
					errs[w] = fmt.Errorf("claimed %d messages with limit %d", len(batch), limit)
					return
				}
				if len(batch) == 0 {
					return
				}
				got[w] = append(got[w], batch...)
			}
		})
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", w, err)
		}
	}
	seen := make(map[string]int)
	for w, batch := range got {
		for _, m := range batch {
			if prev, dup := seen[m.ID]; dup {
				t.Fatalf("message %s claimed by workers %d and %d", m.ID, prev, w)
			}
			seen[m.ID] = w
			if !queued[m.ID] || m.Attempts != 1 {
				t.Fatalf("worker %d claimed %+v", w, m)
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("the workers claimed %d messages, want %d", len(seen), total)
	}
	wantClaimed(t, "after the workers", claim(t, s, now, time.Hour, total))
	wantCounts(t, s, orgauth.OutboxCounts{Queued: total})
}

// checkPolicy fails t unless got has every field of want (times to the ms).
func checkPolicy(t *testing.T, what string, got, want *orgauth.PasswordPolicy) {
	t.Helper()
	g, w := *got, *want
	sameTimes := sameTime(g.CreatedAt, w.CreatedAt) && sameTime(g.UpdatedAt, w.UpdatedAt)
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w || !sameTimes {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

// policies returns two policies that differ in every field.
func policies() (p1, p2 *orgauth.PasswordPolicy) {
	p1 = &orgauth.PasswordPolicy{
		MinLength: 10, MaxLength: 64, MinUpper: 2, MinLower: 3, MinDigits: 4, MinSpecial: 1,
		IsRegex: true, Regex: `^[\p{L}\d]{10,}$|ünïcødé 'quoted' "too"`,
		ExpiryDays: 90, FirstReminderDays: 14, ReminderEveryDays: 3,
		CreatedAt: now, UpdatedAt: now,
	}
	p2 = &orgauth.PasswordPolicy{
		MinLength: 12, MaxLength: 200, MinUpper: 0, MinLower: 1, MinDigits: 2, MinSpecial: 3,
		IsRegex: false, Regex: "",
		ExpiryDays: 0, FirstReminderDays: 0, ReminderEveryDays: 0,
		CreatedAt: now.Add(time.Hour), UpdatedAt: now.Add(2 * time.Hour),
	}
	return p1, p2
}

func testSystemPasswordPolicy(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	got, err := s.SystemPasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "new store", got, &orgauth.DefaultPasswordPolicy)
	// The default is returned as a copy.
	got.MinLength = 99
	got, err = s.SystemPasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "after changing the returned default", got, &orgauth.DefaultPasswordPolicy)

	p1, p2 := policies()
	ok(t, s.SetSystemPasswordPolicy(ctx, p1))
	got, err = s.SystemPasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "round trip", got, p1)

	// Setting again replaces every field but the creation time.
	ok(t, s.SetSystemPasswordPolicy(ctx, p2))
	got, err = s.SystemPasswordPolicy(ctx)
	ok(t, err)
	want := *p2
	want.CreatedAt = p1.CreatedAt
	checkPolicy(t, "second set", got, &want)
	if orgauth.DefaultPasswordPolicy.MinLength != 6 {
		t.Fatal("the store changed orgauth.DefaultPasswordPolicy")
	}

	// A tenant's policy is not the system's.
	tn := newFixture(t, s).tenant("acme")
	_, err = s.InTenant(tn.ID).PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)
}

func testTenantPasswordPolicy(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("a"), f.tenant("b")
	qa, qb := s.InTenant(a.ID), s.InTenant(b.ID)
	_, err := qa.PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)

	p1, p2 := policies()
	ok(t, qa.SetPasswordPolicy(ctx, p1))
	got, err := qa.PasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "round trip", got, p1)
	_, err = qb.PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)
	sys, err := s.SystemPasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "system policy after a tenant's", sys, &orgauth.DefaultPasswordPolicy)

	ok(t, qa.SetPasswordPolicy(ctx, p2))
	got, err = qa.PasswordPolicy(ctx)
	ok(t, err)
	want := *p2
	want.CreatedAt = p1.CreatedAt
	checkPolicy(t, "second set", got, &want)

	// b's own policy leaves a's alone.
	ok(t, qb.SetPasswordPolicy(ctx, p1))
	got, err = qb.PasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "b", got, p1)
	got, err = qa.PasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "a after b's", got, &want)

	// A rolled back change is not kept.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.InTenant(b.ID).SetPasswordPolicy(ctx, p2); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	got, err = qb.PasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "b after the rollback", got, p1)

	// A tenant that does not exist has none and gets none.
	ghost := s.InTenant(orgauth.NewID())
	wantCode(t, ghost.SetPasswordPolicy(ctx, p1), orgauth.ENOTFOUND)
	_, err = ghost.PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)
}

func testDeleteTenantDropsPasswordPolicy(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn, keep := f.tenant("gone"), f.tenant("keep")
	p1, _ := policies()
	ok(t, s.InTenant(tn.ID).SetPasswordPolicy(ctx, p1))
	ok(t, s.InTenant(keep.ID).SetPasswordPolicy(ctx, p1))

	ok(t, s.DeleteTenant(ctx, tn.ID))
	_, err := s.InTenant(tn.ID).PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)
	// The same tenant created again, same id and name, starts without one.
	again := *tn
	ok(t, s.CreateTenant(ctx, &again))
	_, err = s.InTenant(tn.ID).PasswordPolicy(ctx)
	wantCode(t, err, orgauth.ENOTFOUND)
	got, err := s.InTenant(keep.ID).PasswordPolicy(ctx)
	ok(t, err)
	checkPolicy(t, "other tenant", got, p1)
}

// reminderPolicy is a system policy with passwords expiring after 30 days and a
// first reminder 5 days before.
func reminderPolicy(every int) *orgauth.PasswordPolicy {
	p := orgauth.DefaultPasswordPolicy
	p.ExpiryDays, p.FirstReminderDays, p.ReminderEveryDays = 30, 5, every
	return &p
}

// withPassword creates a user in tn whose password was set at changed.
func (f *fixture) withPassword(tn *orgauth.Tenant, email string, changed time.Time) *orgauth.User {
	f.t.Helper()
	u := f.user(tn, email)
	ok(f.t, f.s.InTenant(tn.ID).SetPassword(f.ctx, u.ID, "hash-"+email, changed))
	u.Activated, u.PasswordChangedAt = true, changed
	return u
}

// due returns the reminders due at at, by user id.
func due(t *testing.T, s orgauth.Store, sys *orgauth.PasswordPolicy, at time.Time, limit int) map[string]*orgauth.PasswordReminder {
	t.Helper()
	list, err := s.DuePasswordReminders(t.Context(), sys, at, nil, limit)
	ok(t, err)
	if len(list) > limit {
		t.Fatalf("DuePasswordReminders(limit %d) returned %d", limit, len(list))
	}
	out := make(map[string]*orgauth.PasswordReminder)
	for _, r := range list {
		if out[r.UserID] != nil {
			t.Fatalf("user %s is due twice", r.UserID)
		}
		out[r.UserID] = r
	}
	return out
}

// wantDue fails t unless exactly the users want are in got.
func wantDue(t *testing.T, what string, got map[string]*orgauth.PasswordReminder, want ...*orgauth.User) {
	t.Helper()
	var g, w []string
	for id := range got {
		g = append(g, id)
	}
	for _, u := range want {
		w = append(w, u.ID)
	}
	sort.Strings(g)
	sort.Strings(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: due %v, want %v", what, g, w)
	}
}

// checkReminder fails t unless r is the reminder of u expiring at expires, last
// reminded at reminded.
func checkReminder(t *testing.T, r *orgauth.PasswordReminder, u *orgauth.User, expires, reminded time.Time) {
	t.Helper()
	if r.TenantID != u.TenantID || r.UserID != u.ID || r.Email != u.Email || r.Name != u.Name() ||
		!sameTime(r.ExpiresAt, expires) || !sameTime(r.RemindedAt, reminded) ||
		!sameTime(r.PasswordChangedAt, u.PasswordChangedAt) {
		t.Fatalf("reminder:\ngot  %+v\nwant user %s of %s <%s> %q expiring %v, reminded %v",
			r, u.ID, u.TenantID, u.Email, u.Name(), ms(expires), ms(reminded))
	}
}

func testPasswordRemindersWindow(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	sys := reminderPolicy(0)
	wantDue(t, "empty store", due(t, s, sys, now, 100))

	f.withPassword(tn, "d20@example.com", now.Add(-20*day))
	d26 := f.withPassword(tn, "d26@example.com", now.Add(-26*day))
	f.withPassword(tn, "d31@example.com", now.Add(-31*day))
	start := f.withPassword(tn, "start@example.com", now.Add(-25*day))                // the window opens at now
	f.withPassword(tn, "early@example.com", now.Add(-25*day+time.Millisecond))        // it opens 1ms later
	last := f.withPassword(tn, "last@example.com", now.Add(-30*day+time.Millisecond)) // expires 1ms later

	// Never due: disabled, no password, a password time without a password.
	disabled := f.withPassword(tn, "disabled@example.com", now.Add(-26*day))
	stored, err := s.InTenant(tn.ID).User(ctx, disabled.ID)
	ok(t, err)
	stored.Disabled = true
	ok(t, s.InTenant(tn.ID).UpdateUser(ctx, stored))
	f.user(tn, "nopassword@example.com")
	ok(t, s.InTenant(tn.ID).CreateUser(ctx, &orgauth.User{ID: orgauth.NewID(), Email: "nohash@example.com",
		Activated: true, PasswordChangedAt: now.Add(-26 * day), CreatedAt: now}))
	ok(t, s.InTenant(tn.ID).CreateUser(ctx, &orgauth.User{ID: orgauth.NewID(), Email: "inactive@example.com",
		PasswordHash: "hash", PasswordChangedAt: now.Add(-26 * day), CreatedAt: now}))
	f.withPassword(tn, "expired@example.com", now.Add(-30*day)) // expires at now: too late

	got := due(t, s, sys, now, 100)
	wantDue(t, "at now", got, d26, start, last)
	checkReminder(t, got[d26.ID], d26, d26.PasswordChangedAt.Add(30*day), time.Time{})
	checkReminder(t, got[start.ID], start, now.Add(5*day), time.Time{})
	checkReminder(t, got[last.ID], last, now.Add(time.Millisecond), time.Time{})

	// limit is honoured.
	for _, limit := range []int{1, 2} {
		got := due(t, s, sys, now, limit)
		if len(got) != limit {
			t.Fatalf("limit %d: %d due", limit, len(got))
		}
		for id := range got {
			if id != d26.ID && id != start.ID && id != last.ID {
				t.Fatalf("limit %d: user %s is not due", limit, id)
			}
		}
	}

	// A policy without expiry or without reminders reminds no one.
	never := reminderPolicy(0)
	never.ExpiryDays, never.FirstReminderDays = 0, 0
	wantDue(t, "never expires", due(t, s, never, now, 100))
	silent := reminderPolicy(0)
	silent.FirstReminderDays = 0
	wantDue(t, "no reminders", due(t, s, silent, now, 100))
	// The system policy given is the one applied.
	longer := reminderPolicy(0)
	longer.ExpiryDays = 60
	wantDue(t, "60 days", due(t, s, longer, now.Add(30*day), 100), d26, start, last)

	// A new password closes the window.
	ok(t, s.InTenant(tn.ID).SetPassword(ctx, d26.ID, "new", now))
	wantDue(t, "after a new password", due(t, s, sys, now, 100), start, last)
}

func testPasswordRemindersMark(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn, other := f.tenant("acme"), f.tenant("other")
	q := s.InTenant(tn.ID)
	u := f.withPassword(tn, "u@example.com", now.Add(-26*day))
	v := f.withPassword(tn, "v@example.com", now.Add(-25*day)) // due from now to now+5d, never reminded
	once := reminderPolicy(0)

	got := due(t, s, once, now, 100)
	wantDue(t, "at now", got, u, v)
	r := got[u.ID]
	checkReminder(t, r, u, u.PasswordChangedAt.Add(30*day), time.Time{})

	// Another tenant cannot mark the user.
	marked, err := s.InTenant(other.ID).MarkPasswordReminded(ctx, u.ID, r.RemindedAt, now)
	ok(t, err)
	if marked {
		t.Fatal("another tenant marked the user reminded")
	}
	wantDue(t, "after the other tenant's mark", due(t, s, once, now, 100), u, v)

	// The first mark wins, the second reports it was too late.
	marked, err = q.MarkPasswordReminded(ctx, u.ID, r.RemindedAt, now)
	ok(t, err)
	if !marked {
		t.Fatal("first MarkPasswordReminded = false")
	}
	marked, err = q.MarkPasswordReminded(ctx, u.ID, r.RemindedAt, now.Add(time.Second))
	ok(t, err)
	if marked {
		t.Fatal("second MarkPasswordReminded with the same time = true")
	}
	wantDue(t, "after the reminder", due(t, s, once, now, 100), v)
	// ReminderEveryDays 0: one reminder only.
	wantDue(t, "two days later, one reminder", due(t, s, once, now.Add(2*day), 100), v)

	// Every 2 days: due again 2 days after the last reminder, not before.
	every2 := reminderPolicy(2)
	wantDue(t, "one day later", due(t, s, every2, now.Add(day), 100), v)
	wantDue(t, "just before two days", due(t, s, every2, now.Add(2*day-time.Millisecond), 100), v)
	got = due(t, s, every2, now.Add(2*day), 100)
	wantDue(t, "two days later", got, u, v)
	checkReminder(t, got[u.ID], u, u.PasswordChangedAt.Add(30*day), now)
	marked, err = q.MarkPasswordReminded(ctx, u.ID, got[u.ID].RemindedAt, now.Add(2*day))
	ok(t, err)
	if !marked {
		t.Fatal("second reminder not marked")
	}
	marked, err = q.MarkPasswordReminded(ctx, u.ID, time.Time{}, now.Add(2*day))
	ok(t, err)
	if marked {
		t.Fatal("MarkPasswordReminded with a stale (zero) time = true")
	}
	wantDue(t, "three days later", due(t, s, every2, now.Add(3*day), 100), v)

	// A new password is reminded of afresh when its own window opens, whatever
	// the reminders of the old one.
	changed := now.Add(3 * day)
	ok(t, q.SetPassword(ctx, u.ID, "new", changed))
	u.PasswordChangedAt = changed
	wantDue(t, "new password, before its window", due(t, s, once, changed.Add(25*day-time.Millisecond), 100))
	got = due(t, s, once, changed.Add(25*day), 100)
	wantDue(t, "new password, in its window", got, u)
	checkReminder(t, got[u.ID], u, changed.Add(30*day), now.Add(2*day))
	marked, err = q.MarkPasswordReminded(ctx, u.ID, got[u.ID].RemindedAt, changed.Add(25*day))
	ok(t, err)
	if !marked {
		t.Fatal("reminder of the new password not marked")
	}
	wantDue(t, "new password, reminded", due(t, s, once, changed.Add(25*day), 100))
}

func testPasswordRemindersTenantPolicy(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sys := reminderPolicy(0)

	plain := f.tenant("plain") // follows sys
	plainUser := f.withPassword(plain, "p@example.com", now.Add(-26*day))

	never := f.tenant("never")
	np := reminderPolicy(0)
	np.ExpiryDays, np.FirstReminderDays = 0, 0
	ok(t, s.InTenant(never.ID).SetPasswordPolicy(ctx, np))
	f.withPassword(never, "n@example.com", now.Add(-26*day))
	f.withPassword(never, "n-old@example.com", now.Add(-400*day))

	silent := f.tenant("silent")
	sp := reminderPolicy(0)
	sp.FirstReminderDays = 0
	ok(t, s.InTenant(silent.ID).SetPasswordPolicy(ctx, sp))
	f.withPassword(silent, "s@example.com", now.Add(-26*day))

	longer := f.tenant("longer")
	lp := reminderPolicy(1)
	lp.ExpiryDays = 60
	ok(t, s.InTenant(longer.ID).SetPasswordPolicy(ctx, lp))
	f.withPassword(longer, "l26@example.com", now.Add(-26*day)) // in sys's window, not in the tenant's
	l56 := f.withPassword(longer, "l56@example.com", now.Add(-56*day))
	// Never due, though inside the tenant's window: disabled, not activated, no
	// password, no password time.
	ldis := f.withPassword(longer, "ldis@example.com", now.Add(-56*day))
	stored, err := s.InTenant(longer.ID).User(ctx, ldis.ID)
	ok(t, err)
	stored.Disabled = true
	ok(t, s.InTenant(longer.ID).UpdateUser(ctx, stored))
	for i, u := range []*orgauth.User{
		{Email: "linactive@example.com", PasswordHash: "hash", PasswordChangedAt: now.Add(-56 * day)},
		{Email: "lnohash@example.com", Activated: true, PasswordChangedAt: now.Add(-56 * day)},
		{Email: "lnotime@example.com", Activated: true, PasswordHash: "hash"},
	} {
		u.ID, u.CreatedAt = orgauth.NewID(), now.Add(time.Duration(i)*time.Second)
		ok(t, s.InTenant(longer.ID).CreateUser(ctx, u))
	}

	// The users of an inactive tenant are never due, by either policy.
	for i, p := range []*orgauth.PasswordPolicy{nil, reminderPolicy(1)} {
		tn := f.tenant(fmt.Sprintf("inactive%d", i))
		if p != nil {
			ok(t, s.InTenant(tn.ID).SetPasswordPolicy(ctx, p))
		}
		f.withPassword(tn, "i@example.com", now.Add(-26*day))
		tn.Active = false
		ok(t, s.UpdateTenant(ctx, tn))
	}

	got := due(t, s, sys, now, 100)
	wantDue(t, "at now", got, plainUser, l56)
	checkReminder(t, got[l56.ID], l56, l56.PasswordChangedAt.Add(60*day), time.Time{})
	checkReminder(t, got[plainUser.ID], plainUser, plainUser.PasswordChangedAt.Add(30*day), time.Time{})
	// When the system's policy sends no reminders, the tenants whose own policy
	// does still get theirs (the store then reads only their users).
	off := reminderPolicy(0)
	off.FirstReminderDays = 0
	wantDue(t, "system policy without reminders", due(t, s, off, now, 100), l56)
	off.ExpiryDays = 0
	wantDue(t, "system policy without expiry", due(t, s, off, now, 100), l56)

	// The tenant's ReminderEveryDays applies to its users, sys's to the others.
	for _, u := range []*orgauth.User{plainUser, l56} {
		marked, err := s.InTenant(u.TenantID).MarkPasswordReminded(ctx, u.ID, time.Time{}, now)
		ok(t, err)
		if !marked {
			t.Fatalf("%s not marked", u.Email)
		}
	}
	wantDue(t, "half a day later", due(t, s, sys, now.Add(day/2), 100))
	wantDue(t, "one day later", due(t, s, sys, now.Add(day), 100), l56)

	// Deleting the tenant drops its policy and its users.
	ok(t, s.DeleteTenant(ctx, longer.ID))
	wantDue(t, "after deleting the tenant", due(t, s, sys, now.Add(day), 100))
}

// testPasswordRemindersPaging pages through the due users of both kinds of
// tenant, each once, in the order of orgauth.PageDueReminders: those who follow
// the system's policy, then each tenant with its own in turn, each by
// (PasswordChangedAt, UserID); with ties inside and across tenants, and a
// tenant whose window opens before the system's.
func testPasswordRemindersPaging(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sys := reminderPolicy(0)
	plain, own, longer := f.tenant("plain"), f.tenant("own"), f.tenant("longer")
	ok(t, s.InTenant(own.ID).SetPasswordPolicy(ctx, reminderPolicy(0)))
	lp := reminderPolicy(0)
	lp.ExpiryDays = 60
	ok(t, s.InTenant(longer.ID).SetPasswordPolicy(ctx, lp))
	type dueUser struct {
		u       *orgauth.User
		expires time.Time
		part    string // "" for the system's policy, else the tenant's id
	}
	var want []dueUser
	add := func(tn *orgauth.Tenant, days time.Duration, expiry time.Duration) {
		u := f.withPassword(tn, fmt.Sprintf("u%d@example.com", len(want)), now.Add(days))
		part := tn.ID
		if tn == plain {
			part = ""
		}
		want = append(want, dueUser{u, u.PasswordChangedAt.Add(expiry), part})
	}
	for _, d := range []time.Duration{-28 * day, -26 * day, -26 * day, -25*day - day/2} {
		add(own, d, 30*day) // the same times as the system's users below
	}
	for _, d := range []time.Duration{-28 * day, -26 * day, -26 * day, -29 * day} {
		add(plain, d, 30*day)
	}
	for _, d := range []time.Duration{-58 * day, -56 * day, -56 * day} {
		add(longer, d, 60*day)
	}
	f.withPassword(longer, "not-yet@example.com", now.Add(-26*day)) // in sys's window, not in its own
	slices.SortFunc(want, func(a, b dueUser) int {
		if c := strings.Compare(a.part, b.part); c != 0 {
			return c
		}
		if c := a.u.PasswordChangedAt.Compare(b.u.PasswordChangedAt); c != 0 {
			return c
		}
		return strings.Compare(a.u.ID, b.u.ID)
	})
	for _, limit := range []int{1, 2, 3, 5, len(want), len(want) + 1} {
		var got []*orgauth.PasswordReminder
		var after *orgauth.PasswordReminder
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, err := s.DuePasswordReminders(ctx, sys, now, after, limit)
			ok(t, err)
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			got = append(got, page...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1]
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d due, want %d", limit, len(got), len(want))
		}
		for i, w := range want {
			checkReminder(t, got[i], w.u, w.expires, time.Time{})
			if got[i].TenantPolicy != (w.part != "") {
				t.Fatalf("limit %d: %s: TenantPolicy = %v", limit, w.u.Email, got[i].TenantPolicy)
			}
		}
	}
}

func testPasswordBlocklist(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	h1 := bytes.Repeat([]byte{0x00, 0xff, 0x10, 0x80}, 8)
	h2 := bytes.Repeat([]byte{0x42}, 32)
	h3 := bytes.Repeat([]byte{0x07}, 32)
	unknown := bytes.Repeat([]byte{0x99}, 32)
	blocked := func(h []byte, want bool) {
		t.Helper()
		got, err := s.PasswordBlocked(ctx, h)
		ok(t, err)
		if got != want {
			t.Fatalf("PasswordBlocked(%x) = %v, want %v", h, got, want)
		}
	}

	blocked(h1, false)
	ok(t, s.BlockPasswords(ctx, [][]byte{h1, h2}, now))
	blocked(h1, true)
	blocked(h2, true)
	blocked(h1[:16], false) // no prefix match
	blocked(h3, false)

	ok(t, s.BlockPasswords(ctx, [][]byte{h1}, now.Add(time.Minute)))
	ok(t, s.BlockPasswords(ctx, [][]byte{h3, h3, h2}, now.Add(time.Minute)))
	ok(t, s.BlockPasswords(ctx, nil, now))
	blocked(h1, true)
	blocked(h3, true)

	ok(t, s.UnblockPasswords(ctx, [][]byte{h1, unknown}))
	blocked(h1, false)
	blocked(h2, true)
	blocked(h3, true)
	blocked(unknown, false)
	ok(t, s.UnblockPasswords(ctx, nil))
	ok(t, s.UnblockPasswords(ctx, [][]byte{h1}))
	blocked(h2, true)

	// Inside a transaction that rolls back nothing changes.
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.BlockPasswords(ctx, [][]byte{h1}, now); err != nil {
			return err
		}
		if err := tx.UnblockPasswords(ctx, [][]byte{h2}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	blocked(h1, false)
	blocked(h2, true)
}

func testMailQueuedSince(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	alice, bob := []byte("mac-of-alice"), []byte("mac-of-bob")
	m := outboxMail(now)
	m.Kind, m.Recipient, m.CreatedAt = "orgs", alice, now
	ok(t, s.EnqueueMail(ctx, m))
	request := outboxMail(now) // no recipient, like a request
	request.Kind = "orgs"
	ok(t, s.EnqueueMail(ctx, request))

	for _, c := range []struct {
		name      string
		kind      string
		recipient []byte
		since     time.Time
		want      bool
	}{
		{"queued after since", "orgs", alice, now.Add(-time.Minute), true},
		{"queued at since", "orgs", alice, now, false},
		{"queued before since", "orgs", alice, now.Add(time.Millisecond), false},
		{"another recipient", "orgs", bob, now.Add(-time.Minute), false},
		{"another kind", "reset", alice, now.Add(-time.Minute), false},
		{"no recipient", "orgs", nil, now.Add(-time.Minute), false},
	} {
		got, err := s.MailQueuedSince(ctx, c.kind, c.recipient, c.since)
		ok(t, err)
		if got != c.want {
			t.Errorf("%s: MailQueuedSince = %v, want %v", c.name, got, c.want)
		}
	}
	// Sending drops the content, not the record of whom it went to.
	ok(t, s.MailSent(ctx, m.ID, now.Add(time.Second)))
	got, err := s.MailQueuedSince(ctx, "orgs", alice, now.Add(-time.Minute))
	ok(t, err)
	if !got {
		t.Fatal("MailQueuedSince = false once the mail was sent")
	}
}
