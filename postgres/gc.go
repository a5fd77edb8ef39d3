package postgres

import (
	"context"

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
	if out.Sessions, err = q.deleteBatches(ctx, "collect sessions", `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE revoked_at <> 0 OR expires_at <= $1 OR last_used_at <= $2 LIMIT $3)`,
		batch, now, millis(c.Now.Add(-c.SessionIdle)), batch); err != nil {
		return out, err
	}
	if out.UserTokens, err = q.deleteBatches(ctx, "collect user tokens", `DELETE FROM user_tokens WHERE id IN (
		SELECT id FROM user_tokens WHERE used_at <> 0 OR expires_at <= $1 LIMIT $2)`,
		batch, now, batch); err != nil {
		return out, err
	}
	out.Mail, err = q.deleteBatches(ctx, "collect mail", `DELETE FROM mail_outbox WHERE id IN (
		SELECT id FROM mail_outbox WHERE (sent_at <> 0 AND sent_at <= $1) OR (failed_at <> 0 AND failed_at <= $1) LIMIT $2)`,
		batch, mailBefore, batch)
	return out, err
}

// deleteBatches runs the DELETE query with args until a run deletes fewer
// than batch rows, and returns the rows deleted.
func (q *queries) deleteBatches(ctx context.Context, op, query string, batch int, args ...any) (int, error) {
	total := 0
	for {
		tag, err := q.db.Exec(ctx, query, args...)
		if err != nil {
			return total, wrap(op, err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < batch {
			return total, nil
		}
	}
}
