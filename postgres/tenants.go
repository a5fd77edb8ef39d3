package postgres

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// tenantColumns are the columns scanTenant reads, in order.
const tenantColumns = `id, name, system, email, auth_type, login_mode, address, active,
	annotations, labels, token_expiry_minutes, banner_enabled, banner_title,
	banner_message, created_at, updated_at`

// scanTenant reads a row of tenantColumns.
func scanTenant(row pgx.Row) (*orgauth.Tenant, error) {
	t := new(orgauth.Tenant)
	err := row.Scan(&t.ID, &t.Name, &t.System, &t.Email, &t.AuthType, &t.LoginMode,
		&t.Address, &t.Active, &t.Annotations, &t.Labels,
		&t.TokenExpiryMinutes, &t.BannerEnabled, &t.BannerTitle, &t.BannerMessage,
		msTime{&t.CreatedAt}, msTime{&t.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// tenantJSON returns the JSON columns of t: address, annotations, labels.
func tenantJSON(t *orgauth.Tenant) (addr, ann, labels []byte, err error) {
	if addr, err = jsonb(t.Address); err != nil {
		return
	}
	if ann, err = jsonb(t.Annotations); err != nil {
		return
	}
	labels, err = jsonb(t.Labels)
	return
}

// CreateTenant inserts t, giving it an id if it has none.
func (q *queries) CreateTenant(ctx context.Context, t *orgauth.Tenant) error {
	if t.ID == "" {
		t.ID = orgauth.NewID()
	}
	addr, ann, labels, err := tenantJSON(t)
	if err != nil {
		return wrap("create tenant", err)
	}
	_, err = q.db.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		t.ID, t.Name, t.System, t.Email, t.AuthType, t.LoginMode, addr, t.Active,
		ann, labels, t.TokenExpiryMinutes, t.BannerEnabled, t.BannerTitle,
		t.BannerMessage, millis(t.CreatedAt), millis(t.UpdatedAt))
	if isUniqueOn(err, "tenants_name") {
		return orgauth.Errorf(orgauth.ECONFLICT, "a tenant with this name already exists")
	}
	if isUnique(err) {
		return orgauth.Errorf(orgauth.ECONFLICT, "the tenant already exists")
	}
	return wrap("create tenant", err)
}

// tenant returns the tenant of a single-row query.
func (q *queries) tenant(ctx context.Context, where string, arg any) (*orgauth.Tenant, error) {
	row := q.db.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+where, arg)
	t, err := scanTenant(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("tenant")
	}
	return t, wrap("get tenant", err)
}

// Tenant returns the tenant with the given id.
func (q *queries) Tenant(ctx context.Context, id string) (*orgauth.Tenant, error) {
	return q.tenant(ctx, `id = $1`, id)
}

// TenantByName returns the tenant with the given name.
func (q *queries) TenantByName(ctx context.Context, name string) (*orgauth.Tenant, error) {
	return q.tenant(ctx, `name = $1`, name)
}

// ListTenants returns a page of the customer tenants ordered by name. The cursor
// is the last name of the page.
func (q *queries) ListTenants(ctx context.Context, p orgauth.Page) ([]*orgauth.Tenant, string, error) {
	after := ""
	if p.Continue != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Continue)
		if err != nil || len(b) == 0 {
			return nil, "", badCursor()
		}
		after = string(b)
	}
	n := limit(p.Limit)
	rows, err := q.db.Query(ctx, `SELECT `+tenantColumns+` FROM tenants
		WHERE NOT system AND name > $1 ORDER BY name LIMIT $2`, after, n+1)
	if err != nil {
		return nil, "", wrap("list tenants", err)
	}
	defer rows.Close()
	var list []*orgauth.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, "", wrap("list tenants", err)
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("list tenants", err)
	}
	if len(list) <= n {
		return list, "", nil
	}
	list = list[:n]
	return list, base64.RawURLEncoding.EncodeToString([]byte(list[n-1].Name)), nil
}

// CountTenants counts the customer tenants.
func (q *queries) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE NOT system`).Scan(&n)
	return n, wrap("count tenants", err)
}

// UpdateTenant stores every field of t but ID, Name, System and CreatedAt.
func (q *queries) UpdateTenant(ctx context.Context, t *orgauth.Tenant) error {
	addr, ann, labels, err := tenantJSON(t)
	if err != nil {
		return wrap("update tenant", err)
	}
	tag, err := q.db.Exec(ctx, `UPDATE tenants SET email = $1, auth_type = $2,
		login_mode = $3, address = $4, active = $5, annotations = $6, labels = $7,
		token_expiry_minutes = $8, banner_enabled = $9, banner_title = $10,
		banner_message = $11, updated_at = $12
		WHERE id = $13`,
		t.Email, t.AuthType, t.LoginMode, addr, t.Active, ann, labels,
		t.TokenExpiryMinutes, t.BannerEnabled, t.BannerTitle, t.BannerMessage,
		millis(t.UpdatedAt), t.ID)
	return mustAffect("update tenant", "tenant", tag, err)
}

// DeleteTenant removes the tenant; the foreign keys remove everything in it.
func (q *queries) DeleteTenant(ctx context.Context, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, id)
	return mustAffect("delete tenant", "tenant", tag, err)
}
