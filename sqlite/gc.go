package sqlite

import (
	"context"
	"database/sql"

	"github.com/orgauth/orgauth"
)

// GarbageCollect deletes the sessions and user tokens that ended by c.Now and
// the mail sent or given up c.KeepMail before it, walking each table's primary
// key in windows of c.Batch rows.
func (q *queries) GarbageCollect(ctx context.Context, c orgauth.Collect) (orgauth.Collected, error) {
	now := millis(c.Now)
	mailBefore := millis(c.Now.Add(-c.KeepMail))
	var out orgauth.Collected
	var err error
	if out.Sessions, err = q.collect(ctx, "sessions", c.BatchSize(),
		`(revoked_at <> 0 AND revoked_at <= ?) OR expires_at <= ? OR last_used_at <= ?`,
		now, now, millis(c.Now.Add(-c.SessionIdle))); err != nil {
		return out, err
	}
	if out.UserTokens, err = q.collect(ctx, "user_tokens", c.BatchSize(),
		`(used_at <> 0 AND used_at <= ?) OR expires_at <= ?`, now, now); err != nil {
		return out, err
	}
	out.Mail, err = q.collect(ctx, "mail_outbox", c.BatchSize(),
		`(sent_at <> 0 AND sent_at <= ?) OR (failed_at <> 0 AND failed_at <= ?)`, mailBefore, mailBefore)
	return out, err
}

// collect deletes the rows of table (a constant of this file) that match
// cond with args, one window of batch ids at a time in id order, and returns
// how many it deleted. Each statement looks at no more than batch rows, so it
// holds the writer briefly however large the table, and each row is looked at
// once per run.
func (q *queries) collect(ctx context.Context, table string, batch int, cond string, args ...any) (int, error) {
	window := `SELECT max(id) FROM (SELECT id FROM ` + table + ` WHERE id > ? ORDER BY id LIMIT ?)`
	del := `DELETE FROM ` + table + ` WHERE id > ? AND id <= ? AND (` + cond + `)`
	total, last := 0, ""
	for {
		var hi sql.NullString
		if err := q.read.QueryRowContext(ctx, window, last, batch).Scan(&hi); err != nil {
			return total, wrap("collect "+table, err)
		}
		if !hi.Valid {
			return total, nil
		}
		res, err := q.write.ExecContext(ctx, del, append([]any{last, hi.String}, args...)...)
		if err != nil {
			return total, wrap("collect "+table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("collect "+table, err)
		}
		total += int(n)
		last = hi.String
	}
}
