package sqlite

import (
	"context"
	"fmt"

	"github.com/orgauth/orgauth"
)

// GarbageCollect deletes ended sessions, expired or used user tokens and old
// sent or given-up mail, at most c.Batch rows per statement.
func (q *queries) GarbageCollect(ctx context.Context, c orgauth.Collect) (orgauth.Collected, error) {
	batch := c.BatchSize()
	now := millis(c.Now)
	mailBefore := millis(c.Now.Add(-c.KeepMail))
	var out orgauth.Collected
	var err error
	// Each statement picks its rows by id through a LIMITed subquery: SQLite's
	// DELETE takes no LIMIT of its own unless compiled with it.
	if out.Sessions, err = q.deleteBatches(ctx, "sessions", batch, `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE revoked_at <> 0 OR expires_at <= ? OR last_used_at <= ? LIMIT ?)`,
		now, millis(c.Now.Add(-c.SessionIdle))); err != nil {
		return out, err
	}
	if out.UserTokens, err = q.deleteBatches(ctx, "user tokens", batch, `DELETE FROM user_tokens WHERE id IN (
		SELECT id FROM user_tokens WHERE used_at <> 0 OR expires_at <= ? LIMIT ?)`, now); err != nil {
		return out, err
	}
	out.Mail, err = q.deleteBatches(ctx, "mail", batch, `DELETE FROM mail_outbox WHERE id IN (
		SELECT id FROM mail_outbox WHERE (sent_at <> 0 AND sent_at <= ?) OR (failed_at <> 0 AND failed_at <= ?) LIMIT ?)`,
		mailBefore, mailBefore)
	return out, err
}

// deleteBatches runs query, whose last parameter is the batch size, after args
// until a run deletes fewer than batch rows, and returns the rows deleted.
func (q *queries) deleteBatches(ctx context.Context, what string, batch int, query string, args ...any) (int, error) {
	args = append(args, batch)
	total := 0
	for {
		res, err := q.write.ExecContext(ctx, query, args...)
		if err != nil {
			return total, wrap(fmt.Sprintf("collect %s", what), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap(fmt.Sprintf("collect %s", what), err)
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}
