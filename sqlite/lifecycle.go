package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/orgauth/orgauth"
)

// outboxColumns are the columns scanOutbox reads, in order.
const outboxColumns = `id, kind, tenant_id, sealed, created_at, next_at, expires_at,
	attempts, last_error, sent_at, failed_at`

func scanOutbox(row interface{ Scan(...any) error }) (*orgauth.OutboxMail, error) {
	m := new(orgauth.OutboxMail)
	err := row.Scan(&m.ID, &m.Kind, &m.TenantID, &m.Sealed, msTime{&m.CreatedAt}, msTime{&m.NextAt},
		msTime{&m.ExpiresAt}, &m.Attempts, &m.LastError, msTime{&m.SentAt}, msTime{&m.FailedAt})
	return m, err
}

// EnqueueMail puts m in the outbox.
func (q *queries) EnqueueMail(ctx context.Context, m *orgauth.OutboxMail) error {
	_, err := q.write.ExecContext(ctx, `INSERT INTO mail_outbox (id, kind, tenant_id, sealed,
		created_at, next_at, expires_at, recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Kind, m.TenantID, blob(m.Sealed), millis(m.CreatedAt), millis(m.NextAt), millis(m.ExpiresAt),
		blob(m.Recipient))
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the mail is queued already")
	}
	return wrap("enqueue mail", err)
}

// ClaimMail leases up to limit due messages in one statement; SQLite's single
// writer makes it race-free.
func (q *queries) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*orgauth.OutboxMail, error) {
	var out []*orgauth.OutboxMail
	err := q.atomically(ctx, func(w runner) error {
		rows, err := w.QueryContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, lease_until = ?
			WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at = 0 AND failed_at = 0
				AND next_at <= ? AND lease_until <= ? ORDER BY next_at, id LIMIT ?)
			RETURNING `+outboxColumns, millis(now.Add(lease)), millis(now), millis(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, wrap("claim mail", err)
}

// MailSent records that the message went out and drops its content.
func (q *queries) MailSent(ctx context.Context, id string, now time.Time) error {
	res, err := q.write.ExecContext(ctx, `UPDATE mail_outbox SET sent_at = ?, failed_at = 0, sealed = x'',
		lease_until = 0, last_error = '' WHERE id = ? AND sent_at = 0`, millis(now), id)
	return mustAffect("mail sent", "mail", res, err)
}

// MailRetry releases the message to be tried again at next.
func (q *queries) MailRetry(ctx context.Context, id string, next time.Time, lastError string) error {
	res, err := q.write.ExecContext(ctx, `UPDATE mail_outbox SET next_at = ?, lease_until = 0,
		last_error = ? WHERE id = ? AND sent_at = 0 AND failed_at = 0`, millis(next), lastError, id)
	return mustAffect("mail retry", "mail", res, err)
}

// DeleteMail removes the entry.
func (q *queries) DeleteMail(ctx context.Context, id string) error {
	res, err := q.write.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, id)
	return mustAffect("delete mail", "mail", res, err)
}

// MailFailed gives the message up and drops its content.
func (q *queries) MailFailed(ctx context.Context, id string, now time.Time, lastError string) error {
	res, err := q.write.ExecContext(ctx, `UPDATE mail_outbox SET failed_at = ?, sealed = x'',
		lease_until = 0, last_error = ? WHERE id = ? AND sent_at = 0 AND failed_at = 0`, millis(now), lastError, id)
	return mustAffect("mail failed", "mail", res, err)
}

// MailQueuedSince reports whether mail of kind to recipient was queued after since.
func (q *queries) MailQueuedSince(ctx context.Context, kind string, recipient []byte, since time.Time) (bool, error) {
	if len(recipient) == 0 {
		return false, nil
	}
	var found bool
	err := q.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mail_outbox
		WHERE recipient = ? AND recipient <> x'' AND kind = ? AND created_at > ?)`,
		recipient, kind, millis(since)).Scan(&found) // the repeated condition lets SQLite use the partial index
	return found, wrap("mail queued since", err)
}

// CountOutbox counts the outbox.
func (q *queries) CountOutbox(ctx context.Context) (orgauth.OutboxCounts, error) {
	var c orgauth.OutboxCounts
	err := q.read.QueryRowContext(ctx, `SELECT
		coalesce(sum(CASE WHEN sent_at = 0 AND failed_at = 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN sent_at <> 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN failed_at <> 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0)
		FROM mail_outbox`).Scan(&c.Queued, &c.Sent, &c.Failed, &c.Retries)
	return c, wrap("count outbox", err)
}

// policyColumns are the columns of both policy tables that scanPolicy reads.
const policyColumns = `min_length, max_length, min_upper, min_lower, min_digits, min_special,
	is_regex, regex, expiry_days, first_reminder_days, reminder_every_days, created_at, updated_at`

func scanPolicy(row *sql.Row) (*orgauth.PasswordPolicy, error) {
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
	p, err := scanPolicy(q.read.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM system_password_policy WHERE id = 1`))
	if errors.Is(err, sql.ErrNoRows) {
		d := orgauth.DefaultPasswordPolicy
		return &d, nil
	}
	return p, wrap("get system password policy", err)
}

// SetSystemPasswordPolicy stores the system default.
func (q *queries) SetSystemPasswordPolicy(ctx context.Context, p *orgauth.PasswordPolicy) error {
	_, err := q.write.ExecContext(ctx, `INSERT INTO system_password_policy (id, `+policyColumns+`)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id)`+policyUpsert, policyArgs(p)...)
	return wrap("set system password policy", err)
}

// PasswordPolicy returns the tenant's own policy.
func (tq *tenantQueries) PasswordPolicy(ctx context.Context) (*orgauth.PasswordPolicy, error) {
	p, err := scanPolicy(tq.q.read.QueryRowContext(ctx, `SELECT `+policyColumns+`
		FROM tenant_password_policies WHERE tenant_id = ?`, tq.tenant))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("password policy")
	}
	return p, wrap("get password policy", err)
}

// SetPasswordPolicy stores the tenant's own policy.
func (tq *tenantQueries) SetPasswordPolicy(ctx context.Context, p *orgauth.PasswordPolicy) error {
	args := append(policyArgs(p), tq.tenant)
	res, err := tq.q.write.ExecContext(ctx, `INSERT INTO tenant_password_policies (tenant_id, `+policyColumns+`)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM tenants WHERE id = ?
		ON CONFLICT (tenant_id)`+policyUpsert, args...)
	return mustAffect("set password policy", "tenant", res, err)
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
// user who may be due once, not every user: at 1,000,000 users, none due, about
// 1 ms (0.86 s of CPU for the scan of every user under the default policy
// before).
func (q *queries) DuePasswordReminders(ctx context.Context, sys *orgauth.PasswordPolicy, now time.Time, after *orgauth.PasswordReminder, limit int) ([]*orgauth.PasswordReminder, error) {
	return orgauth.PageDueReminders(sys, now, after, limit,
		func(from string, n int) ([]orgauth.ReminderPolicy, error) {
			rows, err := q.read.QueryContext(ctx, `SELECT p.tenant_id, p.expiry_days, p.first_reminder_days, p.reminder_every_days
				FROM tenant_password_policies p JOIN tenants t ON t.id = p.tenant_id AND t.active = 1
				WHERE p.expiry_days > 0 AND p.first_reminder_days > 0 AND p.tenant_id >= ?
				ORDER BY p.tenant_id LIMIT ?`, from, n)
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
	from := `FROM users u INDEXED BY users_tenant_password_changed WHERE u.tenant_id = ?9 AND`
	if p.TenantID == "" {
		from = `FROM users u INDEXED BY users_password_changed
			CROSS JOIN tenants t ON t.id = u.tenant_id AND t.active = 1
			WHERE NOT EXISTS (SELECT 1 FROM tenant_password_policies p WHERE p.tenant_id = u.tenant_id) AND`
	}
	rows, err := q.read.QueryContext(ctx, `SELECT u.tenant_id, u.id, u.email, u.first_name, u.last_name,
			u.password_changed_at + ?3 * ?2, u.password_reminded_at, u.password_changed_at
		`+from+` (u.password_changed_at, u.id) > (?7, ?8)
			AND u.password_changed_at <= ?1 - (?3 - ?4) * ?2
			AND u.password_changed_at + ?3 * ?2 > ?1
			AND u.password_hash <> '' AND u.activated = 1 AND u.disabled = 0
			AND (u.password_reminded_at < u.password_changed_at + (?3 - ?4) * ?2
				OR (?5 > 0 AND u.password_reminded_at + ?5 * ?2 <= ?1))
		ORDER BY u.password_changed_at, u.id LIMIT ?6`,
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
	res, err := tq.q.write.ExecContext(ctx, `UPDATE users SET password_reminded_at = ?
		WHERE tenant_id = ? AND id = ? AND password_reminded_at = ?`, millis(now), tq.tenant, userID, millis(was))
	if err != nil {
		return false, wrap("mark password reminded", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("mark password reminded", err)
}

// BlockPasswords adds hashes to the blocklist.
func (q *queries) BlockPasswords(ctx context.Context, hashes [][]byte, now time.Time) error {
	return q.atomically(ctx, func(w runner) error {
		for _, h := range hashes {
			if _, err := w.ExecContext(ctx, `INSERT INTO password_blocklist (hash, created_at)
				VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, h, millis(now)); err != nil {
				return wrap("block passwords", err)
			}
		}
		return nil
	})
}

// UnblockPasswords removes hashes from the blocklist.
func (q *queries) UnblockPasswords(ctx context.Context, hashes [][]byte) error {
	return q.atomically(ctx, func(w runner) error {
		for _, h := range hashes {
			if _, err := w.ExecContext(ctx, `DELETE FROM password_blocklist WHERE hash = ?`, h); err != nil {
				return wrap("unblock passwords", err)
			}
		}
		return nil
	})
}

// PasswordBlocked reports whether the hash is on the blocklist.
func (q *queries) PasswordBlocked(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := q.read.QueryRowContext(ctx, `SELECT count(*) FROM password_blocklist WHERE hash = ?`, hash).Scan(&n)
	return n > 0, wrap("password blocked", err)
}
