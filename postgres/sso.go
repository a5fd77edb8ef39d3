package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// SSOApps returns the social login apps, ordered by name.
func (q *queries) SSOApps(ctx context.Context) ([]*orgauth.SSOApp, error) {
	rows, err := q.db.Query(ctx, `SELECT name, kind, enabled, client_id, sealed_secret,
		issuer_url, scopes, claims, logo_url, updated_at FROM sso_apps ORDER BY name`)
	if err != nil {
		return nil, wrap("list sso apps", err)
	}
	defer rows.Close()
	var out []*orgauth.SSOApp
	for rows.Next() {
		a := new(orgauth.SSOApp)
		if err := rows.Scan(&a.Name, &a.Kind, &a.Enabled, &a.ClientID, &a.SealedSecret,
			&a.IssuerURL, &a.Scopes, &a.Claims, &a.LogoURL, msTime{&a.UpdatedAt}); err != nil {
			return nil, wrap("list sso apps", err)
		}
		out = append(out, a)
	}
	return out, wrap("list sso apps", rows.Err())
}

// SetSSOApps replaces every social login app with apps, in one transaction.
func (q *queries) SetSSOApps(ctx context.Context, apps []*orgauth.SSOApp) error {
	return q.atomically(ctx, func(db querier) error {
		if _, err := db.Exec(ctx, `DELETE FROM sso_apps`); err != nil {
			return wrap("set sso apps", err)
		}
		for _, a := range apps {
			scopes, err := jsonb(a.Scopes)
			if err != nil {
				return err
			}
			claims, err := jsonb(a.Claims)
			if err != nil {
				return err
			}
			_, err = db.Exec(ctx, `INSERT INTO sso_apps (name, kind, enabled, client_id,
				sealed_secret, issuer_url, scopes, claims, logo_url, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				a.Name, a.Kind, a.Enabled, a.ClientID, blob(a.SealedSecret), a.IssuerURL,
				scopes, claims, a.LogoURL, millis(a.UpdatedAt))
			if isUnique(err) {
				return orgauth.Errorf(orgauth.ECONFLICT, "two social logins are named %q", a.Name)
			}
			if err != nil {
				return wrap("set sso apps", err)
			}
		}
		return nil
	})
}

// CreateSSOFlow inserts f and drops the flows that expired before it started.
func (q *queries) CreateSSOFlow(ctx context.Context, f *orgauth.SSOFlow) error {
	return q.atomically(ctx, func(db querier) error {
		if _, err := db.Exec(ctx, `DELETE FROM sso_flows WHERE expires_at <= $1`, millis(f.CreatedAt)); err != nil {
			return wrap("create sso flow", err)
		}
		_, err := db.Exec(ctx, `INSERT INTO sso_flows (id, app, tenant_id, browser_hash,
			redirect_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			f.ID, f.App, f.TenantID, blob(f.BrowserHash), f.RedirectPath, millis(f.CreatedAt), millis(f.ExpiresAt))
		if isUnique(err) {
			return orgauth.Errorf(orgauth.ECONFLICT, "the sso flow already exists")
		}
		return wrap("create sso flow", err)
	})
}

// TakeSSOFlow deletes the flow and returns it, unless it is missing or expired.
// The DELETE is one statement: of two concurrent takes only one gets the row.
func (q *queries) TakeSSOFlow(ctx context.Context, id string, now time.Time) (*orgauth.SSOFlow, error) {
	f := new(orgauth.SSOFlow)
	row := q.db.QueryRow(ctx, `DELETE FROM sso_flows WHERE id = $1
		RETURNING id, app, tenant_id, browser_hash, redirect_path, created_at, expires_at`, id)
	err := row.Scan(&f.ID, &f.App, &f.TenantID, &f.BrowserHash, &f.RedirectPath, msTime{&f.CreatedAt}, msTime{&f.ExpiresAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("sso flow")
	}
	if err != nil {
		return nil, wrap("take sso flow", err)
	}
	if !now.Before(f.ExpiresAt) {
		return nil, notFound("sso flow")
	}
	return f, nil
}

// SSOLogins returns the tenant's choice of social logins.
func (tq *tenantQueries) SSOLogins(ctx context.Context) (*orgauth.TenantSSOLogins, error) {
	l := &orgauth.TenantSSOLogins{TenantID: tq.tenant}
	row := tq.q.db.QueryRow(ctx, `SELECT enabled, logins, updated_at FROM tenant_sso_logins
		WHERE tenant_id = $1`, tq.tenant)
	err := row.Scan(&l.Enabled, &l.Logins, msTime{&l.UpdatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return nil, wrap("get tenant sso logins", err)
	}
	return l, nil
}

// SetSSOLogins stores the tenant's choice of social logins.
func (tq *tenantQueries) SetSSOLogins(ctx context.Context, l *orgauth.TenantSSOLogins) error {
	l.TenantID = tq.tenant
	logins, err := jsonb(l.Logins)
	if err != nil {
		return err
	}
	tag, err := tq.q.db.Exec(ctx, `INSERT INTO tenant_sso_logins (tenant_id, enabled, logins, updated_at)
		SELECT id, $1, $2, $3 FROM tenants WHERE id = $4
		ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, logins = excluded.logins,
		updated_at = excluded.updated_at`, l.Enabled, logins, millis(l.UpdatedAt), tq.tenant)
	return mustAffect("set tenant sso logins", "tenant", tag, err)
}

// SSOLink returns the link of the provider account (app, subject).
func (tq *tenantQueries) SSOLink(ctx context.Context, app, subject string) (*orgauth.SSOLink, error) {
	l := new(orgauth.SSOLink)
	row := tq.q.db.QueryRow(ctx, `SELECT tenant_id, app, subject, user_id, created_at FROM sso_links
		WHERE tenant_id = $1 AND app = $2 AND subject = $3`, tq.tenant, app, subject)
	err := row.Scan(&l.TenantID, &l.App, &l.Subject, &l.UserID, msTime{&l.CreatedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("sso link")
	}
	return l, wrap("get sso link", err)
}

// CreateSSOLink links a provider account to a user of the tenant.
func (tq *tenantQueries) CreateSSOLink(ctx context.Context, l *orgauth.SSOLink) error {
	l.TenantID = tq.tenant
	tag, err := tq.q.db.Exec(ctx, `INSERT INTO sso_links (tenant_id, app, subject, user_id, created_at)
		SELECT tenant_id, $1::text, $2::text, id, $3::bigint FROM users WHERE tenant_id = $4 AND id = $5`,
		l.App, l.Subject, millis(l.CreatedAt), tq.tenant, l.UserID)
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the account is linked already")
	}
	return mustAffect("create sso link", "user", tag, err)
}
