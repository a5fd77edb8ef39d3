package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/token"
)

// Seal makes the outbox entry of m: kind names its template, tenantID the tenant
// it concerns ("" for several); it is due at once and given up at expires. The
// message is sealed with masterKey and bound to the entry's id, since the links
// it carries are credentials that the store otherwise keeps only as hashes.
func Seal(masterKey []byte, kind, tenantID string, m *orgauth.Mail, now, expires time.Time) (*orgauth.OutboxMail, error) {
	return seal(masterKey, kind, tenantID, m, now, expires)
}

// Kinds of requests: outbox entries that the worker expands into mail (see
// Request).
const (
	KindResetRequest = "request.reset" // a reset mail to each account of the address
	KindOrgsRequest  = "request.orgs"  // one mail listing the address's organizations
)

// Request asks for the mail of an address whose accounts are not looked at
// while the request is answered: it is queued as it is, known address or not,
// and the worker's Expand finds the accounts and queues their mail. So the
// answer, its cost and its timing are the same whether the address has
// accounts or not.
type Request struct {
	Email string `json:"email"`
	Org   string `json:"org,omitempty"` // the organization named; "": every one
}

// SealRequest makes the outbox entry of a request of kind (KindResetRequest,
// KindOrgsRequest), sealed like mail since it names a person.
func SealRequest(masterKey []byte, kind, tenantID string, req Request, now, expires time.Time) (*orgauth.OutboxMail, error) {
	return seal(masterKey, kind, tenantID, req, now, expires)
}

// IsRequest reports whether the outbox entry is a Request rather than mail.
func IsRequest(o *orgauth.OutboxMail) bool { return strings.HasPrefix(o.Kind, "request.") }

func seal(masterKey []byte, kind, tenantID string, v any, now, expires time.Time) (*orgauth.OutboxMail, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	id := orgauth.NewID()
	sealed, err := token.Seal(masterKey, plain, outboxAD(id))
	if err != nil {
		return nil, err
	}
	return &orgauth.OutboxMail{
		ID: id, Kind: kind, TenantID: tenantID, Sealed: sealed,
		CreatedAt: now, NextAt: now, ExpiresAt: expires,
	}, nil
}

// Open returns the message that Seal sealed into o.
func Open(masterKey []byte, o *orgauth.OutboxMail) (*orgauth.Mail, error) {
	m := new(orgauth.Mail)
	return m, open(masterKey, o, m)
}

// OpenRequest returns the request that SealRequest sealed into o.
func OpenRequest(masterKey []byte, o *orgauth.OutboxMail) (Request, error) {
	var r Request
	return r, open(masterKey, o, &r)
}

func open(masterKey []byte, o *orgauth.OutboxMail, v any) error {
	plain, err := token.Open(masterKey, o.Sealed, outboxAD(o.ID))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("mail: outbox entry %s: %w", o.ID, err)
	}
	return nil
}

func outboxAD(id string) []byte { return []byte("orgauth outbox " + id) }

// Queue is the part of the store that the outbox worker uses.
type Queue interface {
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*orgauth.OutboxMail, error)
	MailSent(ctx context.Context, id string, now time.Time) error
	MailRetry(ctx context.Context, id string, next time.Time, lastError string) error
	MailFailed(ctx context.Context, id string, now time.Time, lastError string) error
}

// Outbox delivers the mail queued in the store. Any number of Outboxes, in one
// process or in several sharing the database, may run on the same queue: each
// message is claimed by one of them at a time, for Lease.
//
// Make one with NewOutbox. A message that fails is tried again after a delay that doubles from
// RetryMin up to RetryMax, until it is sent, the server refuses it for good
// (an SMTP 5xx answer), or it expires. A message is sent at least once; it is
// sent twice only if the process stops between the server's acceptance and the
// store's record of it.
type Outbox struct {
	Queue     Queue
	Sender    orgauth.Sender
	MasterKey []byte
	Log       *slog.Logger
	Now       func() time.Time

	Lease              time.Duration // longer than one Send may take (Send gets half)
	RetryMin, RetryMax time.Duration

	// Expand turns a Request into mail: it queues the messages and deletes the
	// entry o in one transaction (so a request is expanded once). Set it before
	// Run or Deliver; an error retries like a failed send.
	Expand func(ctx context.Context, o *orgauth.OutboxMail, r Request) error

	kick chan struct{}
}

// batch is how many messages one claim takes: one, so that each lease covers
// exactly one Send (at most Lease/2) and never runs out while its message waits
// behind others.
const batch = 1

// NewOutbox returns an Outbox with the default lease and retry delays; log nil
// is slog.Default, now nil is time.Now. Change the exported fields before Run.
func NewOutbox(q Queue, s orgauth.Sender, masterKey []byte, log *slog.Logger, now func() time.Time) *Outbox {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{
		Queue: q, Sender: s, MasterKey: masterKey, Log: log, Now: now,
		Lease: 2 * time.Minute, RetryMin: 30 * time.Second, RetryMax: time.Hour,
		kick: make(chan struct{}, 1),
	}
}

// Kick asks a running Run to deliver now rather than at its next poll; a
// request that queued mail calls it after its transaction committed.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run delivers whatever is due, then again at every poll or Kick, until ctx
// ends; it returns once the message in hand is recorded.
func (o *Outbox) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := o.Deliver(ctx); err != nil && ctx.Err() == nil {
			o.Log.ErrorContext(ctx, "mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
		}
	}
}

// Deliver sends every message due now and reports how many went out. It stops
// at the first error of the store; a message that cannot be sent is scheduled
// again and is no error of Deliver.
func (o *Outbox) Deliver(ctx context.Context) (int, error) {
	sent := 0
	for ctx.Err() == nil {
		msgs, err := o.Queue.ClaimMail(ctx, o.Now(), o.Lease, batch)
		if err != nil {
			return sent, err
		}
		if len(msgs) == 0 {
			return sent, nil
		}
		for i, m := range msgs {
			if ctx.Err() != nil {
				// Stopping: hand back what this claim took but did not try, so a
				// restarted or other worker need not wait for the lease.
				o.release(ctx, msgs[i:])
				return sent, ctx.Err()
			}
			ok, err := o.deliver(ctx, m)
			if orgauth.ErrorCode(err) == orgauth.ENOTFOUND {
				// Another worker recorded it meanwhile (the lease ran out during a
				// stalled send): nothing of ours to record.
				o.Log.WarnContext(ctx, "mail outcome recorded elsewhere", "mail", m.ID)
				continue
			}
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, ctx.Err()
}

// release makes claimed messages due again at once, outliving ctx.
func (o *Outbox) release(ctx context.Context, msgs []*orgauth.OutboxMail) {
	ctx = context.WithoutCancel(ctx)
	for _, m := range msgs {
		if err := o.Queue.MailRetry(ctx, m.ID, o.Now(), m.LastError); err != nil {
			o.Log.WarnContext(ctx, "releasing a claimed mail", "mail", m.ID, "err", err)
		}
	}
}

// deliver tries one claimed message and records the outcome.
func (o *Outbox) deliver(ctx context.Context, m *orgauth.OutboxMail) (bool, error) {
	log := o.Log.With("mail", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	now := o.Now()
	if !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt) {
		// Scrubbed again: rows from before scrub kept the server's reply as it was.
		why := scrub("expired: "+m.LastError, "")
		log.WarnContext(ctx, "mail expired before it could be sent", "last_error", why)
		return false, o.Queue.MailFailed(ctx, m.ID, now, why)
	}
	if IsRequest(m) {
		return false, o.expand(ctx, log, m)
	}
	msg, err := Open(o.MasterKey, m)
	if err != nil {
		log.ErrorContext(ctx, "mail cannot be opened", "err", err)
		return false, o.Queue.MailFailed(ctx, m.ID, now, "cannot be opened")
	}
	sendCtx, cancel := context.WithTimeout(ctx, o.Lease/2)
	err = o.Sender.Send(sendCtx, msg)
	cancel()
	now = o.Now()
	// The outcome is recorded even when ctx ended meanwhile: a message the server
	// accepted must not go out again after a restart.
	rctx := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		log.InfoContext(ctx, "mail sent")
		return true, o.Queue.MailSent(rctx, m.ID, now)
	case ctx.Err() != nil:
		// Shutting down mid-send: due again at once, for whoever runs next.
		o.release(ctx, []*orgauth.OutboxMail{m})
		return false, ctx.Err()
	case IsPermanent(err):
		why := scrub(err.Error(), msg.To)
		log.ErrorContext(ctx, "mail refused for good", "err", why)
		return false, o.Queue.MailFailed(ctx, m.ID, now, why)
	}
	why := scrub(err.Error(), msg.To)
	next := now.Add(o.retryDelay(m.Attempts))
	log.WarnContext(ctx, "mail not sent; will retry", "err", why, "next", next)
	return false, o.Queue.MailRetry(ctx, m.ID, next, why)
}

// addressLike matches what looks like a mail address in an error message,
// with a domain of labels or an address literal ("pat@[192.0.2.1]").
var addressLike = regexp.MustCompile(`[^\s<>()\[\]",;:]+@(?:\[[^\]\s]*\]|[^\s<>()\[\]"',;:]+)`)

// maxErrText bounds the error text an outbox row keeps.
const maxErrText = 300

// scrub is the text of a sending error (or an older row's) as the outbox row
// and the log keep it. Mail servers quote the recipient in their replies
// ("550 5.1.1 <pat@example.org>: no such user") and the SMTP library adds it
// too, while the address is otherwise kept only sealed or as a keyed MAC; so
// to, the recipient when known, and anything else that looks like an address
// are replaced. It is cut to maxErrText bytes, valid UTF-8 without NULs, as a
// PostgreSQL text column takes it.
func scrub(s, to string) string {
	if to != "" {
		s = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(to)).ReplaceAllString(s, "[address]")
	}
	s = addressLike.ReplaceAllString(s, "[address]")
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > maxErrText {
		s = strings.ToValidUTF8(s[:maxErrText], "") + "…"
	}
	return s
}

// expand hands a claimed request to Expand and records a failure.
func (o *Outbox) expand(ctx context.Context, log *slog.Logger, m *orgauth.OutboxMail) error {
	req, err := OpenRequest(o.MasterKey, m)
	if err != nil || o.Expand == nil {
		log.ErrorContext(ctx, "mail request cannot be expanded", "err", err)
		return o.Queue.MailFailed(ctx, m.ID, o.Now(), "cannot be expanded")
	}
	if err := o.Expand(ctx, m, req); err != nil {
		if ctx.Err() != nil {
			o.release(ctx, []*orgauth.OutboxMail{m})
			return ctx.Err()
		}
		next := o.Now().Add(o.retryDelay(m.Attempts))
		log.WarnContext(ctx, "mail request not expanded; will retry", "err", err, "next", next)
		return o.Queue.MailRetry(context.WithoutCancel(ctx), m.ID, next, "expand failed")
	}
	log.DebugContext(ctx, "mail request expanded")
	return nil
}

// retryDelay is the wait after the given number of failed attempts: RetryMin
// doubled for each earlier attempt, at most RetryMax, less up to a tenth at
// random so that messages failed together do not retry together.
func (o *Outbox) retryDelay(attempts int) time.Duration {
	d := o.RetryMin
	for i := 1; i < attempts && d < o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, o.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}
