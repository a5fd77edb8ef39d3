package orgauth

import (
	"strings"
	"time"
)

// Permission is a "resource.verb" string, e.g. "user.create".
type Permission string

// Scope of a role: system roles act on every tenant, tenant roles inside one.
const (
	ScopeSystem = "system"
	ScopeTenant = "tenant"
)

// Role is a named set of permissions: one of BuiltinRoles, or a custom role of one
// tenant.
type Role struct {
	ID          string
	TenantID    string // the tenant of a custom role; "" for built-in roles
	Name        string // unique among the built-in and the tenant's roles, case-insensitively
	Scope       string
	Builtin     bool
	Permissions []Permission
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Has reports whether the role grants p. A permission "resource.*" grants every verb
// of the resource, "*.verb" that verb on every resource, and "*" everything.
func (r *Role) Has(p Permission) bool {
	res, verb, _ := strings.Cut(string(p), ".")
	for _, g := range r.Permissions {
		gr, gv, _ := strings.Cut(string(g), ".")
		if g == "*" || g == p || (gr == res && gv == "*") || (gr == "*" && gv == verb) {
			return true
		}
	}
	return false
}

// Permissions of the catalogue known so far. The catalogue grows with the features.
const (
	PermTenantCreate         Permission = "tenant.create"
	PermTenantGet            Permission = "tenant.get"
	PermTenantList           Permission = "tenant.list"
	PermTenantDelete         Permission = "tenant.delete"
	PermTenantSettingsGet    Permission = "tenantSettings.get"
	PermTenantSettingsUpdate Permission = "tenantSettings.update"
	PermUserCreate           Permission = "user.create"
	PermUserGet              Permission = "user.get"
	PermUserList             Permission = "user.list"
	PermUserUpdate           Permission = "user.update"
	PermUserDelete           Permission = "user.delete"
	PermAPIKeyCreate         Permission = "apiKey.create"
	PermAPIKeyGet            Permission = "apiKey.get"
	PermAPIKeyList           Permission = "apiKey.list"
	PermAPIKeyUpdate         Permission = "apiKey.update"
	PermAPIKeyDelete         Permission = "apiKey.delete"
	PermTeamCreate           Permission = "team.create"
	PermTeamGet              Permission = "team.get"
	PermTeamList             Permission = "team.list"
	PermTeamUpdate           Permission = "team.update"
	PermTeamDelete           Permission = "team.delete"
	PermRoleCreate           Permission = "role.create"
	PermRoleGet              Permission = "role.get"
	PermRoleList             Permission = "role.list"
	PermRoleUpdate           Permission = "role.update"
	PermRoleDelete           Permission = "role.delete"
	PermAuditGet             Permission = "audit.get"
	PermSystemSettingsGet    Permission = "systemSettings.get"    // system SSO apps, default password policy, blocklist
	PermSystemSettingsUpdate Permission = "systemSettings.update" // system SSO apps, default password policy, blocklist
)

// Ids of the built-in roles. They are stable: stored user roles refer to them.
const (
	RoleSystemAdmin  = "system-admin"
	RoleTenantAdmin  = "tenant-admin"
	RoleTenantViewer = "tenant-viewer"
	RoleUserAdmin    = "tenant-user-admin"
	RoleTeamAdmin    = "tenant-team-admin"
	RoleRoleAdmin    = "tenant-role-admin"
)

// BuiltinRoles are the roles every deployment has. They cannot be changed.
var BuiltinRoles = []*Role{
	{ID: RoleSystemAdmin, Name: "System Admin", Scope: ScopeSystem, Builtin: true,
		Permissions: []Permission{"*"}},
	{ID: RoleTenantAdmin, Name: "Tenant Admin", Scope: ScopeTenant, Builtin: true,
		Permissions: []Permission{"tenant.get", "tenantSettings.*", "user.*", "apiKey.*", "team.*", "role.*", "audit.*"}},
	{ID: RoleTenantViewer, Name: "Tenant Viewer", Scope: ScopeTenant, Builtin: true,
		Permissions: []Permission{"*.get", "*.list"}},
	{ID: RoleUserAdmin, Name: "Tenant User Admin", Scope: ScopeTenant, Builtin: true,
		Permissions: []Permission{"user.*", "apiKey.*"}},
	{ID: RoleTeamAdmin, Name: "Tenant Team Admin", Scope: ScopeTenant, Builtin: true,
		Permissions: []Permission{"team.*", "user.get", "user.list"}},
	{ID: RoleRoleAdmin, Name: "Tenant Role Admin", Scope: ScopeTenant, Builtin: true,
		Permissions: []Permission{"role.*"}},
}

// BuiltinRole returns the built-in role with the given id or (case-insensitive) name.
func BuiltinRole(idOrName string) (*Role, bool) {
	for _, r := range BuiltinRoles {
		if r.ID == idOrName || strings.EqualFold(r.Name, idOrName) {
			return r, true
		}
	}
	return nil, false
}

// Catalogue is every permission orgauth knows, in a stable order.
var Catalogue = []Permission{
	PermTenantCreate, PermTenantGet, PermTenantList, PermTenantDelete,
	PermTenantSettingsGet, PermTenantSettingsUpdate,
	PermUserCreate, PermUserGet, PermUserList, PermUserUpdate, PermUserDelete,
	PermAPIKeyCreate, PermAPIKeyGet, PermAPIKeyList, PermAPIKeyUpdate, PermAPIKeyDelete,
	PermTeamCreate, PermTeamGet, PermTeamList, PermTeamUpdate, PermTeamDelete,
	PermRoleCreate, PermRoleGet, PermRoleList, PermRoleUpdate, PermRoleDelete,
	PermAuditGet,
	PermSystemSettingsGet, PermSystemSettingsUpdate,
}

// systemOnly are the permissions that mean something only in the system scope:
// a tenant role that matches them by wildcard (Tenant Viewer's "*.list") gains nothing.
var systemOnly = map[Permission]bool{
	PermTenantCreate: true, PermTenantList: true, PermTenantDelete: true,
	PermSystemSettingsGet: true, PermSystemSettingsUpdate: true,
}

// SystemOnly reports whether p means something only in the system scope, so that
// no tenant role can hold it.
func SystemOnly(p Permission) bool { return systemOnly[p] }

// Covers reports whether the roles held grant every catalogue permission that r
// grants in r's scope: only then may their holder give r to someone.
func Covers(held []*Role, r *Role) bool {
	for _, p := range Catalogue {
		if r.Scope == ScopeTenant && systemOnly[p] {
			continue
		}
		if r.Has(p) && !anyHas(held, p) {
			return false
		}
	}
	return true
}

// Intersect returns a role that grants what both a and b grant: every catalogue
// permission held in both, in the system scope only if both hold a system role.
func Intersect(a, b []*Role) *Role {
	r := &Role{ID: "intersection", Name: "Intersection", Scope: ScopeTenant, Permissions: []Permission{}}
	if anySystem(a) && anySystem(b) {
		r.Scope = ScopeSystem
	}
	for _, p := range Catalogue {
		if anyHas(a, p) && anyHas(b, p) {
			r.Permissions = append(r.Permissions, p)
		}
	}
	return r
}

func anySystem(roles []*Role) bool {
	for _, r := range roles {
		if r.Scope == ScopeSystem {
			return true
		}
	}
	return false
}

func anyHas(roles []*Role, p Permission) bool {
	for _, r := range roles {
		if r.Has(p) {
			return true
		}
	}
	return false
}
