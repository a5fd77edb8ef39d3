package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/orgauth/orgauth"
)

// apiKeyColumns are the columns scanAPIKey reads, in order.
const apiKeyColumns = `id, tenant_id, user_id, name, annotations, hash, active,
	expires_at, created_at, updated_at, created_by`

// scanAPIKey reads a row of apiKeyColumns.
func scanAPIKey(row interface{ Scan(...any) error }) (*orgauth.APIKey, error) {
	k := new(orgauth.APIKey)
	err := row.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Name, jsonCol{&k.Annotations},
		&k.Hash, &k.Active, msTime{&k.ExpiresAt}, msTime{&k.CreatedAt}, msTime{&k.UpdatedAt}, &k.CreatedBy)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// apiKey returns the key of a single-row query.
func apiKey(row *sql.Row) (*orgauth.APIKey, error) {
	k, err := scanAPIKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key")
	}
	return k, wrap("get API key", err)
}

// CreateAPIKey inserts k, giving it an id if it has none. The user must be in the
// tenant.
func (tq *tenantQueries) CreateAPIKey(ctx context.Context, k *orgauth.APIKey) error {
	k.TenantID = tq.tenant
	if k.ID == "" {
		k.ID = orgauth.NewID()
	}
	ann, err := jsonText(k.Annotations)
	if err != nil {
		return wrap("create API key", err)
	}
	res, err := tq.q.write.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`)
		SELECT ?, tenant_id, id, ?, ?, ?, ?, ?, ?, ?, ? FROM users WHERE tenant_id = ? AND id = ?`,
		k.ID, k.Name, ann, blob(k.Hash), k.Active, millis(k.ExpiresAt),
		millis(k.CreatedAt), millis(k.UpdatedAt), k.CreatedBy, tq.tenant, k.UserID)
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the API key already exists")
	}
	return mustAffect("create API key", "user", res, err)
}

// APIKey returns the key with the given id.
func (tq *tenantQueries) APIKey(ctx context.Context, id string) (*orgauth.APIKey, error) {
	return apiKey(tq.q.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE tenant_id = ? AND id = ?`, tq.tenant, id))
}

// APIKeyByHash finds a key by the hash of its secret, in any tenant.
func (q *queries) APIKeyByHash(ctx context.Context, hash []byte) (*orgauth.APIKey, error) {
	return apiKey(q.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE hash = ?`, blob(hash)))
}

// ListAPIKeys returns the keys of the tenant, or of one user, oldest first.
func (tq *tenantQueries) ListAPIKeys(ctx context.Context, userID string) ([]*orgauth.APIKey, error) {
	query := `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE tenant_id = ?`
	args := []any{tq.tenant}
	if userID != "" {
		query += ` AND user_id = ?`
		args = append(args, userID)
	}
	rows, err := tq.q.read.QueryContext(ctx, query+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, wrap("list API keys", err)
	}
	defer rows.Close()
	var list []*orgauth.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, wrap("list API keys", err)
		}
		list = append(list, k)
	}
	return list, wrap("list API keys", rows.Err())
}

// UpdateAPIKey stores the name, annotations, expiry, active flag and update time of k.
func (tq *tenantQueries) UpdateAPIKey(ctx context.Context, k *orgauth.APIKey) error {
	ann, err := jsonText(k.Annotations)
	if err != nil {
		return wrap("update API key", err)
	}
	res, err := tq.q.write.ExecContext(ctx, `UPDATE api_keys SET name = ?, annotations = ?,
		expires_at = ?, active = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		k.Name, ann, millis(k.ExpiresAt), k.Active, millis(k.UpdatedAt), tq.tenant, k.ID)
	return mustAffect("update API key", "API key", res, err)
}

// DeleteAPIKey removes the key.
func (tq *tenantQueries) DeleteAPIKey(ctx context.Context, id string) error {
	res, err := tq.q.write.ExecContext(ctx,
		`DELETE FROM api_keys WHERE tenant_id = ? AND id = ?`, tq.tenant, id)
	return mustAffect("delete API key", "API key", res, err)
}

// signingKeyColumns are the columns of signing_keys, in the order of SigningKeys.
const signingKeyColumns = `id, algorithm, public_key, sealed_private, created_at,
	retires_at, expires_at`

// CreateSigningKey inserts k.
func (q *queries) CreateSigningKey(ctx context.Context, k *orgauth.SigningKey) error {
	_, err := q.write.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, blob(k.PublicKey), blob(k.SealedPrivate), millis(k.CreatedAt),
		millis(k.RetiresAt), millis(k.ExpiresAt))
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the signing key already exists")
	}
	return wrap("create signing key", err)
}

// SigningKeys returns the keys not yet expired at now, newest first.
func (q *queries) SigningKeys(ctx context.Context, now time.Time) ([]*orgauth.SigningKey, error) {
	rows, err := q.read.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		WHERE expires_at > ? ORDER BY created_at DESC, id DESC`, millis(now))
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	defer rows.Close()
	var list []*orgauth.SigningKey
	for rows.Next() {
		k := new(orgauth.SigningKey)
		err := rows.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedPrivate,
			msTime{&k.CreatedAt}, msTime{&k.RetiresAt}, msTime{&k.ExpiresAt})
		if err != nil {
			return nil, wrap("signing keys", err)
		}
		list = append(list, k)
	}
	return list, wrap("signing keys", rows.Err())
}

// AddAudit inserts r, giving it an id if it has none.
func (q *queries) AddAudit(ctx context.Context, r *orgauth.AuditRecord) error {
	if r.ID == "" {
		r.ID = orgauth.NewID()
	}
	_, err := q.write.ExecContext(ctx, `INSERT INTO audit (id, tenant_id, actor_id,
		action, target, outcome, request_id, client_ip, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.ActorID, r.Action, r.Target, r.Outcome, r.RequestID,
		r.ClientIP, millis(r.CreatedAt))
	return wrap("add audit", err)
}
