package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/orgauth/orgauth"
)

// sessionColumns are the columns scanSession reads, in order.
const sessionColumns = `id, tenant_id, user_id, created_at, last_used_at, expires_at, revoked_at`

// scanSession reads a row of sessionColumns.
func scanSession(row interface{ Scan(...any) error }) (*orgauth.Session, error) {
	s := new(orgauth.Session)
	err := row.Scan(&s.ID, &s.TenantID, &s.UserID, msTime{&s.CreatedAt},
		msTime{&s.LastUsedAt}, msTime{&s.ExpiresAt}, msTime{&s.RevokedAt})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// CreateSession inserts s, giving it an id if it has none. The user must be in
// the tenant: the row is copied from the user's, so it cannot name another tenant.
func (tq *tenantQueries) CreateSession(ctx context.Context, s *orgauth.Session) error {
	s.TenantID = tq.tenant
	if s.ID == "" {
		s.ID = orgauth.NewID()
	}
	res, err := tq.q.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		SELECT ?, tenant_id, id, ?, ?, ?, ? FROM users WHERE tenant_id = ? AND id = ?`,
		s.ID, millis(s.CreatedAt), millis(s.LastUsedAt), millis(s.ExpiresAt),
		millis(s.RevokedAt), tq.tenant, s.UserID)
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the session already exists")
	}
	return mustAffect("create session", "user", res, err)
}

// Session returns the session with the given id.
func (tq *tenantQueries) Session(ctx context.Context, id string) (*orgauth.Session, error) {
	row := tq.q.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE tenant_id = ? AND id = ?`, tq.tenant, id)
	s, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	return s, wrap("get session", err)
}

// TouchSession sets LastUsedAt of a live session.
func (tq *tenantQueries) TouchSession(ctx context.Context, id string, now time.Time) error {
	res, err := tq.q.write.ExecContext(ctx, `UPDATE sessions SET last_used_at = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = 0 AND expires_at > ?`,
		millis(now), tq.tenant, id, millis(now))
	return mustAffect("touch session", "session", res, err)
}

// RevokeSession ends a live session.
func (tq *tenantQueries) RevokeSession(ctx context.Context, id string, now time.Time) error {
	res, err := tq.q.write.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = 0 AND expires_at > ?`,
		millis(now), tq.tenant, id, millis(now))
	return mustAffect("revoke session", "session", res, err)
}

// RevokeUserSessions ends every live session of the user but except and returns
// their ids.
func (tq *tenantQueries) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) ([]string, error) {
	rows, err := tq.q.write.QueryContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE tenant_id = ? AND user_id = ? AND id <> ? AND revoked_at = 0 AND expires_at > ?
		RETURNING id`,
		millis(now), tq.tenant, userID, except, millis(now))
	if err != nil {
		return nil, wrap("revoke user sessions", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("revoke user sessions", err)
		}
		ids = append(ids, id)
	}
	return ids, wrap("revoke user sessions", rows.Err())
}

// userTokenColumns are the columns scanUserToken reads, in order.
const userTokenColumns = `id, tenant_id, user_id, purpose, hash, created_at, expires_at, used_at`

// scanUserToken reads a row of userTokenColumns.
func scanUserToken(row interface{ Scan(...any) error }) (*orgauth.UserToken, error) {
	t := new(orgauth.UserToken)
	err := row.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Purpose, &t.Hash,
		msTime{&t.CreatedAt}, msTime{&t.ExpiresAt}, msTime{&t.UsedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("token")
	}
	return t, wrap("get token", err)
}

// CreateUserToken inserts t, giving it an id if it has none, and marks the older
// unused tokens of the same user and purpose used at t.CreatedAt.
func (tq *tenantQueries) CreateUserToken(ctx context.Context, t *orgauth.UserToken) error {
	t.TenantID = tq.tenant
	if t.ID == "" {
		t.ID = orgauth.NewID()
	}
	used := t.CreatedAt
	if used.IsZero() {
		used = time.Now()
	}
	return tq.q.atomically(ctx, func(w runner) error {
		res, err := w.ExecContext(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`)
			SELECT ?, tenant_id, id, ?, ?, ?, ?, ? FROM users WHERE tenant_id = ? AND id = ?`,
			t.ID, t.Purpose, blob(t.Hash), millis(t.CreatedAt), millis(t.ExpiresAt),
			millis(t.UsedAt), tq.tenant, t.UserID)
		if isUnique(err) {
			return orgauth.Errorf(orgauth.ECONFLICT, "the token already exists")
		}
		if err := mustAffect("create token", "user", res, err); err != nil {
			return err
		}
		_, err = w.ExecContext(ctx, `UPDATE user_tokens SET used_at = ?
			WHERE tenant_id = ? AND user_id = ? AND purpose = ? AND used_at = 0 AND id <> ?`,
			millis(used), tq.tenant, t.UserID, t.Purpose, t.ID)
		return wrap("create token", err)
	})
}

// LatestUserToken returns the newest unused, unexpired token of the user for purpose.
func (tq *tenantQueries) LatestUserToken(ctx context.Context, userID, purpose string, now time.Time) (*orgauth.UserToken, error) {
	return scanUserToken(tq.q.read.QueryRowContext(ctx, `SELECT `+userTokenColumns+`
		FROM user_tokens
		WHERE tenant_id = ? AND user_id = ? AND purpose = ? AND used_at = 0 AND expires_at > ?
		ORDER BY created_at DESC, id DESC LIMIT 1`,
		tq.tenant, userID, purpose, millis(now)))
}

// UseUserToken marks an unused, unexpired token used.
func (tq *tenantQueries) UseUserToken(ctx context.Context, id string, now time.Time) error {
	res, err := tq.q.write.ExecContext(ctx, `UPDATE user_tokens SET used_at = ?
		WHERE tenant_id = ? AND id = ? AND used_at = 0 AND expires_at > ?`,
		millis(now), tq.tenant, id, millis(now))
	return mustAffect("use token", "token", res, err)
}

// UserToken returns the token with the given id, in any tenant.
func (q *queries) UserToken(ctx context.Context, id string) (*orgauth.UserToken, error) {
	return scanUserToken(q.read.QueryRowContext(ctx, `SELECT `+userTokenColumns+`
		FROM user_tokens WHERE id = ?`, id))
}
