package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// sessionColumns are the columns scanSession reads, in order.
const sessionColumns = `id, tenant_id, user_id, created_at, last_used_at, expires_at, revoked_at`

// scanSession reads a row of sessionColumns.
func scanSession(row pgx.Row) (*orgauth.Session, error) {
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
	tag, err := tq.q.db.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		SELECT $1::text, tenant_id, id, $2::bigint, $3::bigint, $4::bigint, $5::bigint
		FROM users WHERE tenant_id = $6 AND id = $7`,
		s.ID, millis(s.CreatedAt), millis(s.LastUsedAt), millis(s.ExpiresAt),
		millis(s.RevokedAt), tq.tenant, s.UserID)
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the session already exists")
	}
	return mustAffect("create session", "user", tag, err)
}

// Session returns the session with the given id.
func (tq *tenantQueries) Session(ctx context.Context, id string) (*orgauth.Session, error) {
	row := tq.q.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE tenant_id = $1 AND id = $2`, tq.tenant, id)
	s, err := scanSession(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("session")
	}
	return s, wrap("get session", err)
}

// TouchSession sets LastUsedAt of a live session.
func (tq *tenantQueries) TouchSession(ctx context.Context, id string, now time.Time) error {
	tag, err := tq.q.db.Exec(ctx, `UPDATE sessions SET last_used_at = $1
		WHERE tenant_id = $2 AND id = $3 AND revoked_at = 0 AND expires_at > $1`,
		millis(now), tq.tenant, id)
	return mustAffect("touch session", "session", tag, err)
}

// RevokeSession ends a live session.
func (tq *tenantQueries) RevokeSession(ctx context.Context, id string, now time.Time) error {
	tag, err := tq.q.db.Exec(ctx, `UPDATE sessions SET revoked_at = $1
		WHERE tenant_id = $2 AND id = $3 AND revoked_at = 0 AND expires_at > $1`,
		millis(now), tq.tenant, id)
	return mustAffect("revoke session", "session", tag, err)
}

// RevokeUserSessions ends every live session of the user but except and returns
// their ids.
func (tq *tenantQueries) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) ([]string, error) {
	rows, err := tq.q.db.Query(ctx, `UPDATE sessions SET revoked_at = $1
		WHERE tenant_id = $2 AND user_id = $3 AND id <> $4 AND revoked_at = 0 AND expires_at > $1
		RETURNING id`,
		millis(now), tq.tenant, userID, except)
	if err != nil {
		return nil, wrap("revoke user sessions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("revoke user sessions", err)
}

// userTokenColumns are the columns scanUserToken reads, in order.
const userTokenColumns = `id, tenant_id, user_id, purpose, hash, created_at, expires_at, used_at`

// scanUserToken reads the token of a single-row query.
func scanUserToken(row pgx.Row) (*orgauth.UserToken, error) {
	t := new(orgauth.UserToken)
	err := row.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Purpose, &t.Hash,
		msTime{&t.CreatedAt}, msTime{&t.ExpiresAt}, msTime{&t.UsedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, wrap("get token", err)
	}
	return t, nil
}

// CreateUserToken inserts t, giving it an id if it has none, and marks the older
// unused tokens of the same user and purpose used at t.CreatedAt.
//
// The insert locks the user's row, so concurrent CreateUserToken calls for one
// user run one after the other, and the UPDATE, a statement of its own with a
// fresh snapshot, sees every token committed before: only the newest stays unused.
func (tq *tenantQueries) CreateUserToken(ctx context.Context, t *orgauth.UserToken) error {
	t.TenantID = tq.tenant
	if t.ID == "" {
		t.ID = orgauth.NewID()
	}
	used := t.CreatedAt
	if used.IsZero() {
		used = time.Now()
	}
	return tq.q.atomically(ctx, func(db querier) error {
		tag, err := db.Exec(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`)
			SELECT $1::text, tenant_id, id, $2::text, $3::bytea, $4::bigint, $5::bigint, $6::bigint
			FROM users WHERE tenant_id = $7 AND id = $8
			FOR NO KEY UPDATE`,
			t.ID, t.Purpose, blob(t.Hash), millis(t.CreatedAt), millis(t.ExpiresAt),
			millis(t.UsedAt), tq.tenant, t.UserID)
		if isUnique(err) {
			return orgauth.Errorf(orgauth.ECONFLICT, "the token already exists")
		}
		if err := mustAffect("create token", "user", tag, err); err != nil {
			return err
		}
		_, err = db.Exec(ctx, `UPDATE user_tokens SET used_at = $1
			WHERE tenant_id = $2 AND user_id = $3 AND purpose = $4 AND used_at = 0 AND id <> $5`,
			millis(used), tq.tenant, t.UserID, t.Purpose, t.ID)
		return wrap("create token", err)
	})
}

// LatestUserToken returns the newest unused, unexpired token of the user for purpose.
func (tq *tenantQueries) LatestUserToken(ctx context.Context, userID, purpose string, now time.Time) (*orgauth.UserToken, error) {
	return scanUserToken(tq.q.db.QueryRow(ctx, `SELECT `+userTokenColumns+`
		FROM user_tokens
		WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND used_at = 0 AND expires_at > $4
		ORDER BY created_at DESC, id DESC LIMIT 1`,
		tq.tenant, userID, purpose, millis(now)))
}

// UseUserToken marks an unused, unexpired token used. Of two concurrent calls
// only one matches: the second re-evaluates used_at = 0 on the updated row.
func (tq *tenantQueries) UseUserToken(ctx context.Context, id string, now time.Time) error {
	tag, err := tq.q.db.Exec(ctx, `UPDATE user_tokens SET used_at = $1
		WHERE tenant_id = $2 AND id = $3 AND used_at = 0 AND expires_at > $1`,
		millis(now), tq.tenant, id)
	return mustAffect("use token", "token", tag, err)
}

// UserToken returns the token with the given id, in any tenant.
func (q *queries) UserToken(ctx context.Context, id string) (*orgauth.UserToken, error) {
	return scanUserToken(q.db.QueryRow(ctx, `SELECT `+userTokenColumns+`
		FROM user_tokens WHERE id = $1`, id))
}
