package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/orgauth/orgauth"
)

// tenantColumns are the columns scanTenant reads, in order.
const tenantColumns = `id, name, system, email, auth_type, login_mode, address, active,
	annotations, labels, token_expiry_minutes, banner_enabled, banner_title,
	banner_message, created_at, updated_at`

// scanTenant reads a row of tenantColumns.
func scanTenant(row interface{ Scan(...any) error }) (*orgauth.Tenant, error) {
	t := new(orgauth.Tenant)
	err := row.Scan(&t.ID, &t.Name, &t.System, &t.Email, &t.AuthType, &t.LoginMode,
		jsonCol{&t.Address}, &t.Active, jsonCol{&t.Annotations}, jsonCol{&t.Labels},
		&t.TokenExpiryMinutes, &t.BannerEnabled, &t.BannerTitle, &t.BannerMessage,
		msTime{&t.CreatedAt}, msTime{&t.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// tenantJSON returns the JSON columns of t: address, annotations, labels.
func tenantJSON(t *orgauth.Tenant) (addr, ann, labels string, err error) {
	if addr, err = jsonText(t.Address); err != nil {
		return
	}
	if ann, err = jsonText(t.Annotations); err != nil {
		return
	}
	labels, err = jsonText(t.Labels)
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
	_, err = q.write.ExecContext(ctx, `INSERT INTO tenants (`+tenantColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.System, t.Email, t.AuthType, t.LoginMode, addr, t.Active,
		ann, labels, t.TokenExpiryMinutes, t.BannerEnabled, t.BannerTitle,
		t.BannerMessage, millis(t.CreatedAt), millis(t.UpdatedAt))
	if isUnique(err) {
		if strings.Contains(err.Error(), "tenants.name") {
			return orgauth.Errorf(orgauth.ECONFLICT, "a tenant with this name already exists")
		}
		return orgauth.Errorf(orgauth.ECONFLICT, "the tenant already exists")
	}
	return wrap("create tenant", err)
}

// tenant returns the tenant of a single-row query.
func (q *queries) tenant(ctx context.Context, where string, arg any) (*orgauth.Tenant, error) {
	row := q.read.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+where, arg)
	t, err := scanTenant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant")
	}
	return t, wrap("get tenant", err)
}

// Tenant returns the tenant with the given id.
func (q *queries) Tenant(ctx context.Context, id string) (*orgauth.Tenant, error) {
	return q.tenant(ctx, `id = ?`, id)
}

// TenantByName returns the tenant with the given name.
func (q *queries) TenantByName(ctx context.Context, name string) (*orgauth.Tenant, error) {
	return q.tenant(ctx, `name = ?`, name)
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
	rows, err := q.read.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants
		WHERE system = 0 AND name > ? ORDER BY name LIMIT ?`, after, n+1)
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
	err := q.read.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE system = 0`).Scan(&n)
	return n, wrap("count tenants", err)
}

// UpdateTenant stores every field of t but ID, Name, System and CreatedAt.
func (q *queries) UpdateTenant(ctx context.Context, t *orgauth.Tenant) error {
	addr, ann, labels, err := tenantJSON(t)
	if err != nil {
		return wrap("update tenant", err)
	}
	res, err := q.write.ExecContext(ctx, `UPDATE tenants SET email = ?, auth_type = ?,
		login_mode = ?, address = ?, active = ?, annotations = ?, labels = ?,
		token_expiry_minutes = ?, banner_enabled = ?, banner_title = ?,
		banner_message = ?, updated_at = ?
		WHERE id = ?`,
		t.Email, t.AuthType, t.LoginMode, addr, t.Active, ann, labels,
		t.TokenExpiryMinutes, t.BannerEnabled, t.BannerTitle, t.BannerMessage,
		millis(t.UpdatedAt), t.ID)
	return mustAffect("update tenant", "tenant", res, err)
}

// DeleteTenant removes the tenant; the foreign keys remove everything in it.
func (q *queries) DeleteTenant(ctx context.Context, id string) error {
	res, err := q.write.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id)
	return mustAffect("delete tenant", "tenant", res, err)
}
