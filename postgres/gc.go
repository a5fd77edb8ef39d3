package postgres

import (
	"context"

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
		`(revoked_at <> 0 AND revoked_at <= $3) OR expires_at <= $3 OR last_used_at <= $4`,
		now, millis(c.Now.Add(-c.SessionIdle))); err != nil {
		return out, err
	}
	if out.UserTokens, err = q.collect(ctx, "user_tokens", c.BatchSize(),
		`(used_at <> 0 AND used_at <= $3) OR expires_at <= $3`, now); err != nil {
		return out, err
	}
	out.Mail, err = q.collect(ctx, "mail_outbox", c.BatchSize(),
		`(sent_at <> 0 AND sent_at <= $3) OR (failed_at <> 0 AND failed_at <= $3)`, mailBefore)
	return out, err
}

// collect deletes the rows of table (a constant of this file) that match
// cond, whose parameters start at $3, one window of batch ids at a time in id
// order, and returns how many it deleted. Each statement looks at no more than
// batch rows and locks rows in key order, and each row is looked at once per
// run.
func (q *queries) collect(ctx context.Context, table string, batch int, cond string, args ...any) (int, error) {
	window := `SELECT max(id) FROM (SELECT id FROM ` + table + ` WHERE id > $1 ORDER BY id LIMIT $2) w`
	del := `DELETE FROM ` + table + ` WHERE id > $1 AND id <= $2 AND (` + cond + `)`
	total, last := 0, ""
	for {
		var hi *string
		if err := q.db.QueryRow(ctx, window, last, batch).Scan(&hi); err != nil {
			return total, wrap("collect "+table, err)
		}
		if hi == nil {
			return total, nil
		}
		tag, err := q.db.Exec(ctx, del, append([]any{last, *hi}, args...)...)
		if err != nil {
			return total, wrap("collect "+table, err)
		}
		total += int(tag.RowsAffected())
		last = *hi
	}
}
