package http

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/orgauth/orgauth"
)

// This file resolves role ids to roles (built-in, or custom roles of a tenant),
// computes what a user holds (direct roles plus the roles of their teams), decides
// who may grant what, and serves /v1/roles and /v1/users/{uid}/roles.

// resolveRole returns the role named by id in tenant t: a built-in role (system
// roles only in the system tenant) or a custom role of t. ENOTFOUND otherwise.
func resolveRole(ctx context.Context, tq orgauth.TenantQueries, t *orgauth.Tenant, id string) (*orgauth.Role, error) {
	if r, ok := orgauth.BuiltinRole(id); ok {
		if r.Scope == orgauth.ScopeSystem && !t.System {
			return nil, orgauth.Errorf(orgauth.ENOTFOUND, "role not found")
		}
		return r, nil
	}
	if !validID(id) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "role not found")
	}
	r, err := tq.Role(ctx, id)
	if isNotFound(err) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "role not found")
	}
	return r, err
}

// validID reports whether id has the form of an object id made by orgauth.NewID.
func validID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// userRoles returns the roles u holds directly and, apart, those it holds only
// through its teams. Role ids that no longer resolve are skipped.
func userRoles(ctx context.Context, tq orgauth.TenantQueries, t *orgauth.Tenant, u *orgauth.User) (direct, inherited []*orgauth.Role, err error) {
	teams, err := tq.UserTeams(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	// Each distinct id is resolved once; many custom ones are read in one query.
	seen := map[string]bool{}
	var directIDs, teamIDs []string
	for _, id := range u.Roles {
		if !seen[id] {
			seen[id] = true
			directIDs = append(directIDs, id)
		}
	}
	for _, tm := range teams {
		for _, id := range tm.Roles {
			if !seen[id] {
				seen[id] = true
				teamIDs = append(teamIDs, id)
			}
		}
	}
	res := roleResolver{tq: tq, t: t}
	if err := res.preload(ctx, append(slices.Clone(directIDs), teamIDs...)); err != nil {
		return nil, nil, err
	}
	got := map[string]bool{}
	pick := func(ids []string) ([]*orgauth.Role, error) {
		var out []*orgauth.Role
		for _, id := range ids {
			r, err := res.resolve(ctx, id)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !got[r.ID] {
				got[r.ID] = true
				out = append(out, r)
			}
		}
		return out, nil
	}
	if direct, err = pick(directIDs); err != nil {
		return nil, nil, err
	}
	inherited, err = pick(teamIDs)
	return direct, inherited, err
}

// roleResolver resolves the role ids of one user, reading all custom roles of
// the tenant at once when there are more than a few to resolve.
type roleResolver struct {
	tq     orgauth.TenantQueries
	t      *orgauth.Tenant
	custom map[string]*orgauth.Role // nil: resolve one by one
}

func (r *roleResolver) preload(ctx context.Context, ids []string) error {
	n := 0
	for _, id := range ids {
		if _, ok := orgauth.BuiltinRole(id); !ok && validID(id) {
			n++
		}
	}
	if n <= 4 {
		return nil
	}
	list, err := r.tq.ListRoles(ctx)
	if err != nil {
		return err
	}
	r.custom = make(map[string]*orgauth.Role, len(list))
	for _, role := range list {
		r.custom[role.ID] = role
	}
	return nil
}

func (r *roleResolver) resolve(ctx context.Context, id string) (*orgauth.Role, error) {
	if r.custom != nil {
		if role, ok := r.custom[id]; ok {
			return role, nil
		}
		if _, ok := orgauth.BuiltinRole(id); !ok {
			return nil, orgauth.Errorf(orgauth.ENOTFOUND, "role not found")
		}
	}
	return resolveRole(ctx, r.tq, r.t, id)
}

// grants returns every role u holds, through a cache. gen is the cache's
// generation taken before u was read. An entry counts only while the tenant's
// authorization epoch, which every change of its teams or roles moves on, is
// the one it was computed in.
func (s *Server) grants(ctx context.Context, t *orgauth.Tenant, u *orgauth.User, gen uint64) ([]*orgauth.Role, error) {
	key := t.ID + "/" + u.ID
	epoch := s.authzEpoch(t.ID)
	if g, ok := s.grantCache.get(key); ok && g.epoch == epoch {
		return g.roles, nil
	}
	direct, inherited, err := userRoles(ctx, s.store.InTenant(t.ID), t, u)
	if err != nil {
		return nil, err
	}
	roles := append(direct, inherited...)
	if s.authzEpoch(t.ID) == epoch {
		s.grantCache.putAt(key, grant{roles: roles, epoch: epoch}, time.Time{}, gen)
	}
	return roles, nil
}

// grant is a cached answer of grants.
type grant struct {
	roles []*orgauth.Role
	epoch uint64
}

// authzEpoch returns the authorization epoch of a tenant.
func (s *Server) authzEpoch(tenantID string) uint64 {
	if v, ok := s.epochs.Load(tenantID); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

// bumpAuthz starts a new authorization epoch of a tenant: every cached grant of
// its users stops counting, without scanning the cache.
func (s *Server) bumpAuthz(tenantID string) {
	v, _ := s.epochs.LoadOrStore(tenantID, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// mayManage reports whether the caller may act on another user u (set their
// password, disable, delete or edit them, create or change their API keys): it
// must hold every permission u holds, directly or through teams, so no one can
// take over a more powerful account. Anyone may manage themselves.
func mayManage(ctx context.Context, tq orgauth.TenantQueries, p *principal, u *orgauth.User) error {
	if u.ID == p.User.ID {
		return nil
	}
	if p.SelfOnly {
		return orgauth.Errorf(orgauth.EFORBIDDEN, "you may only act on your own account")
	}
	direct, inherited, err := userRoles(ctx, tq, p.Tenant, u)
	if err != nil {
		return err
	}
	for _, r := range append(direct, inherited...) {
		if !orgauth.Covers(p.Roles, r) {
			return orgauth.Errorf(orgauth.EFORBIDDEN, "this user holds permissions you do not hold")
		}
	}
	return nil
}

// grantable checks that every id names a role of the caller's tenant that the
// caller holds in full, and returns the canonical ids without repeats.
func grantable(ctx context.Context, tq orgauth.TenantQueries, p *principal, field string, ids []string) ([]string, error) {
	if len(ids) > maxRolesPerObject {
		return nil, orgauth.Errorf(orgauth.EINVALID, "%s: at most %d roles", field, maxRolesPerObject)
	}
	out := []string{}
	for _, id := range ids {
		r, err := resolveRole(ctx, tq, p.Tenant, id)
		if isNotFound(err) {
			return nil, orgauth.Errorf(orgauth.EINVALID, "%s: unknown role %q", field, truncate(id, 64))
		}
		if err != nil {
			return nil, err
		}
		if !orgauth.Covers(p.Roles, r) {
			return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot grant role %s: it has permissions you do not hold", r.Name)
		}
		if !slices.Contains(out, r.ID) {
			out = append(out, r.ID)
		}
	}
	return out, nil
}

// mayRevoke checks that the caller holds in full every role of ids that still
// exists: taking a role away needs the same standing as giving it.
func mayRevoke(ctx context.Context, tq orgauth.TenantQueries, p *principal, ids []string) error {
	for _, id := range ids {
		r, err := resolveRole(ctx, tq, p.Tenant, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if !orgauth.Covers(p.Roles, r) {
			return orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot take away role %s: it has permissions you do not hold", r.Name)
		}
	}
	return nil
}

// maxRolesPerObject bounds the roles of one user or team, and maxCustomRoles the
// custom roles of one tenant.
const (
	maxRolesPerObject = 64
	maxCustomRoles    = 500
)

func toV1Role(r *orgauth.Role) v1Role {
	typ := "user"
	if r.Builtin {
		typ = "system"
	}
	perms := make([]string, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		perms = append(perms, string(p))
	}
	return v1Role{
		Metadata: v1ObjectMeta{UID: r.ID, Name: r.Name,
			CreationTimestamp: v1Time(r.CreatedAt), LastModifiedTimestamp: v1Time(r.UpdatedAt)},
		Spec:   v1RoleSpec{Permissions: perms, Scope: r.Scope, Type: typ},
		Status: v1RoleStatus{IsEnabled: true},
	}
}

// visibleRoles returns the built-in roles of t's kind and t's custom roles,
// ordered by name.
func visibleRoles(ctx context.Context, tq orgauth.TenantQueries, t *orgauth.Tenant) ([]*orgauth.Role, error) {
	custom, err := tq.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	var all []*orgauth.Role
	for _, r := range orgauth.BuiltinRoles {
		if r.Scope == orgauth.ScopeTenant || t.System {
			all = append(all, r)
		}
	}
	all = append(all, custom...)
	slices.SortFunc(all, func(a, b *orgauth.Role) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all, nil
}

func (s *Server) rolesList(w http.ResponseWriter, r *http.Request) error {
	if err := noFilters(r); err != nil {
		return err
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	all, err := visibleRoles(r.Context(), s.store.InTenant(p.Tenant.ID), p.Tenant)
	if err != nil {
		return err
	}
	start := 0
	if pg.Continue != "" {
		b, err := base64.RawURLEncoding.DecodeString(pg.Continue)
		key, id, ok := strings.Cut(string(b), "\x00")
		if err != nil || !ok {
			return orgauth.Errorf(orgauth.EINVALID, "invalid continue token")
		}
		start = len(all)
		for i, role := range all {
			if c := strings.Compare(strings.ToLower(role.Name), key); c > 0 || c == 0 && role.ID > id {
				start = i
				break
			}
		}
	}
	end, next := min(start+pg.Limit, len(all)), ""
	if end < len(all) {
		last := all[end-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strings.ToLower(last.Name) + "\x00" + last.ID))
	}
	out := v1Roles{Items: make([]v1Role, 0, end-start), Listmeta: listMeta(pg, end-start, next)}
	for _, role := range all[start:end] {
		out.Items = append(out.Items, toV1Role(role))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// roleInput checks a role body and returns its name and permissions. Custom roles
// are tenant roles; their permissions come from the catalogue, and the caller
// must hold each one.
func roleInput(p *principal, in *v1RoleIn) (string, []orgauth.Permission, error) {
	if in.Metadata == nil {
		return "", nil, orgauth.Errorf(orgauth.EINVALID, "metadata.name is required")
	}
	name, err := validName("metadata.name", in.Metadata.Name, true)
	if err != nil {
		return "", nil, err
	}
	if r, ok := orgauth.BuiltinRole(name); ok {
		return "", nil, orgauth.Errorf(orgauth.ECONFLICT, "%s is the name of a built-in role", r.Name)
	}
	if in.Spec == nil {
		return "", nil, orgauth.Errorf(orgauth.EINVALID, "spec.permissions is required")
	}
	if in.Spec.Scope != "" && in.Spec.Scope != orgauth.ScopeTenant {
		return "", nil, orgauth.Errorf(orgauth.EINVALID, "spec.scope must be tenant: custom roles act inside their tenant")
	}
	if in.Spec.Type != "" && in.Spec.Type != "user" {
		return "", nil, orgauth.Errorf(orgauth.EINVALID, "spec.type must be user: system roles are built in")
	}
	perms := []orgauth.Permission{}
	for _, raw := range in.Spec.Permissions {
		perm := orgauth.Permission(raw)
		if !slices.Contains(orgauth.Catalogue, perm) || orgauth.SystemOnly(perm) {
			return "", nil, orgauth.Errorf(orgauth.EINVALID, "spec.permissions: unknown permission %q (see GET /v1/permissions)", truncate(raw, 64))
		}
		if !p.has(perm) {
			return "", nil, orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot grant permission %s: you do not hold it", perm)
		}
		if !slices.Contains(perms, perm) {
			perms = append(perms, perm)
		}
	}
	return name, perms, nil
}

func (s *Server) rolesCreate(w http.ResponseWriter, r *http.Request) error {
	var in v1RoleIn
	if err := decode(r, &in); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	name, perms, err := roleInput(p, &in)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	role := &orgauth.Role{ID: orgauth.NewID(), Name: name, Scope: orgauth.ScopeTenant, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	err = s.write(w, r, p.Tenant.ID, role.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		existing, err := tq.ListRoles(r.Context())
		if err != nil {
			return err
		}
		if len(existing) >= maxCustomRoles {
			return orgauth.Errorf(orgauth.EINVALID, "a tenant may have at most %d custom roles", maxCustomRoles)
		}
		return tq.CreateRole(r.Context(), role)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1Uid{UID: role.ID})
	return nil
}

func (s *Server) rolesGet(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	role, err := resolveRole(r.Context(), s.store.InTenant(p.Tenant.ID), p.Tenant, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toV1Role(role))
	return nil
}

// customRole loads the custom role of the path for a change: built-in roles
// cannot be changed, and the caller must hold every permission of the role.
func customRole(ctx context.Context, tq orgauth.TenantQueries, p *principal, id string) (*orgauth.Role, error) {
	role, err := resolveRole(ctx, tq, p.Tenant, id)
	if err != nil {
		return nil, err
	}
	if role.Builtin {
		return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "built-in roles cannot be changed or deleted")
	}
	if !orgauth.Covers(p.Roles, role) {
		return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "role %s has permissions you do not hold", role.Name)
	}
	return role, nil
}

func (s *Server) rolesUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1RoleIn
	if err := decode(r, &in); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		role, err := customRole(r.Context(), tq, p, uid)
		if err != nil {
			return err
		}
		if role.Name, role.Permissions, err = roleInput(p, &in); err != nil {
			return err
		}
		role.UpdatedAt = s.cfg.Now()
		return tq.UpdateRole(r.Context(), role)
	})
	if err != nil {
		return err
	}
	s.forgetAuthz(r.Context(), p.Tenant.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rolesDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		if _, err := customRole(r.Context(), tq, p, uid); err != nil {
			return err
		}
		return tq.DeleteRole(r.Context(), uid)
	})
	if err != nil {
		return err
	}
	s.forgetAuthzAndUsers(r.Context(), p.Tenant.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func roleSummaries(roles []*orgauth.Role) []v1UidSummary {
	out := make([]v1UidSummary, 0, len(roles))
	for _, r := range roles {
		out = append(out, v1UidSummary{UID: r.ID, Name: r.Name})
	}
	return out
}

// userRolesGet shows the roles of a user: held directly, and held through teams.
func (s *Server) userRolesGet(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	tq := s.store.InTenant(p.Tenant.ID)
	u, err := s.targetUser(r.Context(), tq, r.PathValue("uid"))
	if err != nil {
		return err
	}
	direct, inherited, err := userRoles(r.Context(), tq, p.Tenant, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1UserRolesEntity{Roles: roleSummaries(direct), InheritedRoles: roleSummaries(inherited)})
	return nil
}

// userRolesUpdate replaces the direct roles of a user.
func (s *Server) userRolesUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1UserRoleUIDs
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Roles == nil {
		return orgauth.Errorf(orgauth.EINVALID, "roles is required (an empty list takes every role away)")
	}
	return s.updateUser(w, r, func(tq orgauth.TenantQueries, u *orgauth.User) error {
		return setRoles(r.Context(), tq, principalFrom(r.Context()), u, in.Roles)
	})
}

// permissionsList publishes the permission catalogue (beyond the spec).
func (s *Server) permissionsList(w http.ResponseWriter, r *http.Request) error {
	out := v1Permissions{Items: make([]v1Permission, 0, len(orgauth.Catalogue))}
	for _, perm := range orgauth.Catalogue {
		res, verb, _ := strings.Cut(string(perm), ".")
		scope := orgauth.ScopeTenant
		if orgauth.SystemOnly(perm) {
			scope = orgauth.ScopeSystem
		}
		out.Items = append(out.Items, v1Permission{Name: string(perm), Resource: res, Verb: verb, Scope: scope})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
