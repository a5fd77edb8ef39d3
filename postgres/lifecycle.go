package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// outboxColumns are the columns scanOutbox reads, in order.
const outboxColumns = `id, kind, tenant_id, sealed, created_at, next_at, expires_at,
	attempts, last_error, sent_at, failed_at`

func scanOutbox(row pgx.Row) (*orgauth.OutboxMail, error) {
	m := new(orgauth.OutboxMail)
	err := row.Scan(&m.ID, &m.Kind, &m.TenantID, &m.Sealed, msTime{&m.CreatedAt}, msTime{&m.NextAt},
		msTime{&m.ExpiresAt}, &m.Attempts, &m.LastError, msTime{&m.SentAt}, msTime{&m.FailedAt})
	return m, err
}

// EnqueueMail puts m in the outbox.
func (q *queries) EnqueueMail(ctx context.Context, m *orgauth.OutboxMail) error {
	_, err := q.db.Exec(ctx, `INSERT INTO mail_outbox (id, kind, tenant_id, sealed,
		created_at, next_at, expires_at, recipient) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.ID, m.Kind, m.TenantID, blob(m.Sealed), millis(m.CreatedAt), millis(m.NextAt), millis(m.ExpiresAt),
		blob(m.Recipient))
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the mail is queued already")
	}
	return wrap("enqueue mail", err)
}

// ClaimMail leases up to limit due messages in one statement. The rows are
// locked with SKIP LOCKED, so workers of several instances claiming at once take
// different messages and never the same one twice.
func (q *queries) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*orgauth.OutboxMail, error) {
	rows, err := q.db.Query(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, lease_until = $1
		WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at = 0 AND failed_at = 0
			AND next_at <= $2 AND lease_until <= $2 ORDER BY next_at, id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumns, millis(now.Add(lease)), millis(now), limit)
	if err != nil {
		return nil, wrap("claim mail", err)
	}
	defer rows.Close()
	var out []*orgauth.OutboxMail
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, wrap("claim mail", err)
		}
		out = append(out, m)
	}
	return out, wrap("claim mail", rows.Err())
}

// MailSent records that the message went out and drops its content.
func (q *queries) MailSent(ctx context.Context, id string, now time.Time) error {
	tag, err := q.db.Exec(ctx, `UPDATE mail_outbox SET sent_at = $1, failed_at = 0, sealed = '',
		lease_until = 0, last_error = '' WHERE id = $2 AND sent_at = 0`, millis(now), id)
	return mustAffect("mail sent", "mail", tag, err)
}

// MailRetry releases the message to be tried again at next.
func (q *queries) MailRetry(ctx context.Context, id string, next time.Time, lastError string) error {
	tag, err := q.db.Exec(ctx, `UPDATE mail_outbox SET next_at = $1, lease_until = 0,
		last_error = $2 WHERE id = $3 AND sent_at = 0 AND failed_at = 0`, millis(next), lastError, id)
	return mustAffect("mail retry", "mail", tag, err)
}

// DeleteMail removes the entry.
func (q *queries) DeleteMail(ctx context.Context, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM mail_outbox WHERE id = $1`, id)
	return mustAffect("delete mail", "mail", tag, err)
}

// MailFailed gives the message up and drops its content.
func (q *queries) MailFailed(ctx context.Context, id string, now time.Time, lastError string) error {
	tag, err := q.db.Exec(ctx, `UPDATE mail_outbox SET failed_at = $1, sealed = '',
		lease_until = 0, last_error = $2 WHERE id = $3 AND sent_at = 0 AND failed_at = 0`, millis(now), lastError, id)
	return mustAffect("mail failed", "mail", tag, err)
}

// MailQueuedSince reports whether mail of kind to recipient was queued after since.
func (q *queries) MailQueuedSince(ctx context.Context, kind string, recipient []byte, since time.Time) (bool, error) {
	if len(recipient) == 0 {
		return false, nil
	}
	var found bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mail_outbox
		WHERE recipient = $1 AND recipient <> '' AND kind = $2 AND created_at > $3)`,
		recipient, kind, millis(since)).Scan(&found) // the repeated condition matches the partial index in any plan
	return found, wrap("mail queued since", err)
}

// CountOutbox counts the outbox.
func (q *queries) CountOutbox(ctx context.Context) (orgauth.OutboxCounts, error) {
	var c orgauth.OutboxCounts
	err := q.db.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE sent_at = 0 AND failed_at = 0),
		count(*) FILTER (WHERE sent_at <> 0),
		count(*) FILTER (WHERE failed_at <> 0),
		coalesce(sum(greatest(attempts - 1, 0)), 0)
		FROM mail_outbox`).Scan(&c.Queued, &c.Sent, &c.Failed, &c.Retries)
	return c, wrap("count outbox", err)
}

// policyColumns are the columns of both policy tables that scanPolicy reads.
const policyColumns = `min_length, max_length, min_upper, min_lower, min_digits, min_special,
	is_regex, regex, expiry_days, first_reminder_days, reminder_every_days, created_at, updated_at`

func scanPolicy(row pgx.Row) (*orgauth.PasswordPolicy, error) {
	p := new(orgauth.PasswordPolicy)
	err := row.Scan(&p.MinLength, &p.MaxLength, &p.MinUpper, &p.MinLower, &p.MinDigits, &p.MinSpecial,
		&p.IsRegex, &p.Regex, &p.ExpiryDays, &p.FirstReminderDays, &p.ReminderEveryDays,
		msTime{&p.CreatedAt}, msTime{&p.UpdatedAt})
	return p, err
}

func policyArgs(p *orgauth.PasswordPolicy) []any {
	return []any{p.MinLength, p.MaxLength, p.MinUpper, p.MinLower, p.MinDigits, p.MinSpecial,
		p.IsRegex, p.Regex, p.ExpiryDays, p.FirstReminderDays, p.ReminderEveryDays,
		millis(p.CreatedAt), millis(p.UpdatedAt)}
}

// policyUpsert is the ON CONFLICT clause of both policy tables: the creation
// time stays.
const policyUpsert = ` DO UPDATE SET min_length = excluded.min_length,
	max_length = excluded.max_length, min_upper = excluded.min_upper,
	min_lower = excluded.min_lower, min_digits = excluded.min_digits,
	min_special = excluded.min_special, is_regex = excluded.is_regex, regex = excluded.regex,
	expiry_days = excluded.expiry_days, first_reminder_days = excluded.first_reminder_days,
	reminder_every_days = excluded.reminder_every_days, updated_at = excluded.updated_at`

// SystemPasswordPolicy returns the system default, or orgauth.DefaultPasswordPolicy.
func (q *queries) SystemPasswordPolicy(ctx context.Context) (*orgauth.PasswordPolicy, error) {
	p, err := scanPolicy(q.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM system_password_policy WHERE id = 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		d := orgauth.DefaultPasswordPolicy
		return &d, nil
	}
	return p, wrap("get system password policy", err)
}

// SetSystemPasswordPolicy stores the system default.
func (q *queries) SetSystemPasswordPolicy(ctx context.Context, p *orgauth.PasswordPolicy) error {
	_, err := q.db.Exec(ctx, `INSERT INTO system_password_policy (id, `+policyColumns+`)
		VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id)`+policyUpsert,
		policyArgs(p)...)
	return wrap("set system password policy", err)
}

// PasswordPolicy returns the tenant's own policy.
func (tq *tenantQueries) PasswordPolicy(ctx context.Context) (*orgauth.PasswordPolicy, error) {
	p, err := scanPolicy(tq.q.db.QueryRow(ctx, `SELECT `+policyColumns+`
		FROM tenant_password_policies WHERE tenant_id = $1`, tq.tenant))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("password policy")
	}
	return p, wrap("get password policy", err)
}

// SetPasswordPolicy stores the tenant's own policy.
func (tq *tenantQueries) SetPasswordPolicy(ctx context.Context, p *orgauth.PasswordPolicy) error {
	args := append(policyArgs(p), tq.tenant)
	tag, err := tq.q.db.Exec(ctx, `INSERT INTO tenant_password_policies (tenant_id, `+policyColumns+`)
		SELECT id, $1::int, $2::int, $3::int, $4::int, $5::int, $6::int, $7::boolean, $8::text,
			$9::int, $10::int, $11::int, $12::bigint, $13::bigint FROM tenants WHERE id = $14
		ON CONFLICT (tenant_id)`+policyUpsert, args...)
	return mustAffect("set password policy", "tenant", tag, err)
}

// DuePasswordReminders finds the users due a reminder of their password's expiry,
// page by page (orgauth.PageDueReminders). Days are counted as 86,400,000 ms, as
// the clock does.
//
// The users who follow sys (of tenants without a policy of their own) are read
// by the index on (password_changed_at, id), and those of each tenant whose own
// policy sends reminders by the index on (tenant_id, password_changed_at, id):
// each in index order, from after or the opening of the reminder window,
// whichever is later, and stopped at limit due users. So a sweep reads each
// user who may be due once, not every user.
func (q *queries) DuePasswordReminders(ctx context.Context, sys *orgauth.PasswordPolicy, now time.Time, after *orgauth.PasswordReminder, limit int) ([]*orgauth.PasswordReminder, error) {
	return orgauth.PageDueReminders(sys, now, after, limit,
		func(from string, n int) ([]orgauth.ReminderPolicy, error) {
			rows, err := q.db.Query(ctx, `SELECT p.tenant_id, p.expiry_days, p.first_reminder_days, p.reminder_every_days
				FROM tenant_password_policies p JOIN tenants t ON t.id = p.tenant_id AND t.active
				WHERE p.expiry_days > 0 AND p.first_reminder_days > 0 AND p.tenant_id >= $1::text COLLATE "C"
				ORDER BY p.tenant_id COLLATE "C" LIMIT $2`, from, n)
			if err != nil {
				return nil, wrap("due password reminders", err)
			}
			defer rows.Close()
			var out []orgauth.ReminderPolicy
			for rows.Next() {
				var p orgauth.ReminderPolicy
				if err := rows.Scan(&p.TenantID, &p.ExpiryDays, &p.FirstReminderDays, &p.ReminderEveryDays); err != nil {
					return nil, wrap("due password reminders", err)
				}
				out = append(out, p)
			}
			return out, wrap("due password reminders", rows.Err())
		},
		func(p orgauth.ReminderPolicy, start orgauth.ReminderStart, limit int) ([]*orgauth.PasswordReminder, error) {
			return q.dueReminders(ctx, p, now, start, limit)
		})
}

// dueReminders returns up to limit users under p (the system's policy when
// p.TenantID is "") due a reminder at now, in the order of (password_changed_at,
// id) after start.
func (q *queries) dueReminders(ctx context.Context, p orgauth.ReminderPolicy, now time.Time, start orgauth.ReminderStart, limit int) ([]*orgauth.PasswordReminder, error) {
	const day = 86_400_000
	// For a tenant, whether the planner walks users_tenant_password_changed or,
	// for a large tenant, users_password_changed, the walk starts at start.
	from := `FROM users u WHERE u.tenant_id = $9::text`
	if p.TenantID == "" {
		from = `FROM users u JOIN tenants t ON t.id = u.tenant_id AND t.active
			WHERE $9::text = '' AND NOT EXISTS (SELECT 1 FROM tenant_password_policies p WHERE p.tenant_id = u.tenant_id)`
	}
	rows, err := q.db.Query(ctx, `SELECT u.tenant_id, u.id, u.email, u.first_name, u.last_name,
			u.password_changed_at + $3::int * $2::bigint, u.password_reminded_at, u.password_changed_at
		`+from+`
			AND (u.password_changed_at, u.id) > ($7::bigint, $8::text)
			AND u.password_changed_at <= $1::bigint - ($3::int - $4::int) * $2::bigint
			AND u.password_changed_at + $3::int * $2::bigint > $1::bigint
			AND u.password_hash <> '' AND u.activated AND NOT u.disabled
			AND (u.password_reminded_at < u.password_changed_at + ($3::int - $4::int) * $2::bigint
				OR ($5::int > 0 AND u.password_reminded_at + $5::int * $2::bigint <= $1::bigint))
		ORDER BY u.password_changed_at, u.id LIMIT $6`,
		millis(now), day, p.ExpiryDays, p.FirstReminderDays, p.ReminderEveryDays, limit,
		millis(start.PasswordChangedAt), start.UserID, p.TenantID)
	if err != nil {
		return nil, wrap("due password reminders", err)
	}
	defer rows.Close()
	var out []*orgauth.PasswordReminder
	for rows.Next() {
		r := new(orgauth.PasswordReminder)
		var first, last string
		if err := rows.Scan(&r.TenantID, &r.UserID, &r.Email, &first, &last, msTime{&r.ExpiresAt}, msTime{&r.RemindedAt}, msTime{&r.PasswordChangedAt}); err != nil {
			return nil, wrap("due password reminders", err)
		}
		r.Name = (&orgauth.User{FirstName: first, LastName: last}).Name()
		out = append(out, r)
	}
	return out, wrap("due password reminders", rows.Err())
}

// MarkPasswordReminded records a reminder unless another worker was first.
func (tq *tenantQueries) MarkPasswordReminded(ctx context.Context, userID string, was, now time.Time) (bool, error) {
	tag, err := tq.q.db.Exec(ctx, `UPDATE users SET password_reminded_at = $1
		WHERE tenant_id = $2 AND id = $3 AND password_reminded_at = $4`, millis(now), tq.tenant, userID, millis(was))
	if err != nil {
		return false, wrap("mark password reminded", err)
	}
	return tag.RowsAffected() == 1, nil
}

// BlockPasswords adds hashes to the blocklist.
func (q *queries) BlockPasswords(ctx context.Context, hashes [][]byte, now time.Time) error {
	_, err := q.db.Exec(ctx, `INSERT INTO password_blocklist (hash, created_at)
		SELECT h, $2 FROM unnest($1::bytea[]) AS h ON CONFLICT (hash) DO NOTHING`, hashes, millis(now))
	return wrap("block passwords", err)
}

// UnblockPasswords removes hashes from the blocklist.
func (q *queries) UnblockPasswords(ctx context.Context, hashes [][]byte) error {
	_, err := q.db.Exec(ctx, `DELETE FROM password_blocklist WHERE hash = ANY($1::bytea[])`, hashes)
	return wrap("unblock passwords", err)
}

// PasswordBlocked reports whether the hash is on the blocklist.
func (q *queries) PasswordBlocked(ctx context.Context, hash []byte) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM password_blocklist WHERE hash = $1)`, hash).Scan(&ok)
	return ok, wrap("password blocked", err)
}
