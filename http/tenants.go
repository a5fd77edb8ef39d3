package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
)

func (s *Server) toV1Tenant(t *orgauth.Tenant) v1Tenant {
	v := v1Tenant{
		Metadata: v1ObjectMeta{
			UID: t.ID, Name: t.Name, Annotations: t.Annotations, Labels: t.Labels,
			CreationTimestamp: v1Time(t.CreatedAt), LastModifiedTimestamp: v1Time(t.UpdatedAt),
		},
		Spec: v1TenantSpec{
			OrgName: t.Name, OrgEmailID: t.Email, AuthType: t.AuthType, DefaultLoginMode: t.LoginMode,
		},
		Status: v1TenantStatus{IsActive: t.Active},
	}
	if t.Address != (orgauth.Address{}) {
		a := t.Address
		v.Spec.Address = &a
	}
	return v
}

// tenantsList lists the customer tenants.
func (s *Server) tenantsList(w http.ResponseWriter, r *http.Request) error {
	if err := noFilters(r); err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := s.store.ListTenants(r.Context(), p)
	if err != nil {
		return err
	}
	out := v1Tenants{Items: make([]v1Tenant, 0, len(ts)), Listmeta: &v1ListMetaData{Continue: next, Count: len(ts), Limit: p.Limit}}
	for _, t := range ts {
		out.Items = append(out.Items, s.toV1Tenant(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// noFilters refuses the list parameters orgauth does not support, rather than
// silently answering an unfiltered list.
func noFilters(r *http.Request) error {
	q := r.URL.Query()
	for _, name := range []string{"filters", "orderBy", "fields", "offset"} {
		if q.Get(name) != "" {
			return orgauth.Errorf(orgauth.EINVALID, "the %s parameter is not supported: page with limit and continue", name)
		}
	}
	return nil
}

// tenantsCreate creates a tenant and invites its first Tenant Admin.
func (s *Server) tenantsCreate(w http.ResponseWriter, r *http.Request) error {
	var in v1TenantEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Spec == nil {
		return orgauth.Errorf(orgauth.EINVALID, "spec is required")
	}
	sp := in.Spec
	name := sp.OrgName
	if err := validOrgName(name); err != nil {
		return err
	}
	if reservedOrgNames[name] {
		return orgauth.Errorf(orgauth.EINVALID, "orgName %q is reserved", name)
	}
	email, err := validEmail("spec.emailId", sp.EmailID)
	if err != nil {
		return err
	}
	orgEmail := email
	if sp.OrgEmailID != "" {
		if orgEmail, err = validEmail("spec.orgEmailId", sp.OrgEmailID); err != nil {
			return err
		}
	}
	first, err := validName("spec.firstName", sp.FirstName, true)
	if err != nil {
		return err
	}
	last, err := validName("spec.lastName", sp.LastName, true)
	if err != nil {
		return err
	}
	mode, err := validLoginMode(sp.LoginMode)
	if err != nil {
		return err
	}
	if sp.AuthType != "" && sp.AuthType != "password" {
		return orgauth.Errorf(orgauth.EINVALID, "authType must be password: a tenant turns on SSO after it has configured its identity provider")
	}
	if sp.SsoApp != "" {
		return orgauth.Errorf(orgauth.EINVALID, "ssoApp is not accepted at creation: enable social logins for the tenant afterwards")
	}
	roles := []string{orgauth.RoleTenantAdmin}
	for _, id := range sp.Roles {
		role, ok := orgauth.BuiltinRole(id)
		if !ok || role.Scope != orgauth.ScopeTenant {
			return orgauth.Errorf(orgauth.EINVALID, "unknown tenant role %q", truncate(id, 64))
		}
		if role.ID != orgauth.RoleTenantAdmin {
			roles = append(roles, role.ID)
		}
	}
	var meta v1ObjectMeta
	if in.Metadata != nil {
		meta = *in.Metadata
	}
	if err := validMap("metadata.annotations", meta.Annotations); err != nil {
		return err
	}
	if err := validMap("metadata.labels", meta.Labels); err != nil {
		return err
	}
	now := s.cfg.Now()
	t := &orgauth.Tenant{
		ID: orgauth.NewID(), Name: name, Email: orgEmail, AuthType: "password", LoginMode: mode,
		Active: true, Annotations: meta.Annotations, Labels: meta.Labels, TokenExpiryMinutes: 15,
		CreatedAt: now, UpdatedAt: now,
	}
	if sp.Address != nil {
		t.Address = *sp.Address
	}
	admin := &orgauth.User{
		ID: orgauth.NewID(), TenantID: t.ID, Email: email, FirstName: first, LastName: last,
		LoginMode: mode, Roles: roles, CreatedAt: now, UpdatedAt: now,
	}
	p := principalFrom(r.Context())
	err = s.write(w, r, p.Tenant.ID, t.ID, func(tx orgauth.Queries) error {
		if err := tx.CreateTenant(r.Context(), t); err != nil {
			return err
		}
		if err := tx.InTenant(t.ID).CreateUser(r.Context(), admin); err != nil {
			return err
		}
		return s.invite(r.Context(), tx, t, admin)
	})
	if err != nil {
		return err
	}
	s.forgetTenant(r.Context(), t)
	writeJSON(w, http.StatusCreated, v1Uid{UID: t.ID})
	return nil
}

// link is the link to page (/activate, /reset) that carries a mailed token,
// always built from the configured public URL, never from the request.
func (s *Server) link(page, secret string) string {
	return s.cfg.PublicURL + page + "?token=" + url.QueryEscape(secret)
}

// humanDuration says d in days or hours.
func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.Round(time.Minute).String()
}

// tenant loads the tenant named in the path.
func (s *Server) tenant(r *http.Request) (*orgauth.Tenant, error) {
	t, err := s.store.Tenant(r.Context(), r.PathValue("tenantUid"))
	if isNotFound(err) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "tenant not found")
	}
	return t, err
}

func (s *Server) tenantsGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toV1Tenant(t))
	return nil
}

func (s *Server) tenantsDelete(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	if t.System {
		return orgauth.Errorf(orgauth.EINVALID, "the system tenant cannot be deleted")
	}
	p := principalFrom(r.Context())
	err = s.write(w, r, p.Tenant.ID, t.ID, func(tx orgauth.Queries) error {
		return tx.DeleteTenant(r.Context(), t.ID)
	})
	if err != nil {
		return err
	}
	s.forget(r.Context(), msgTenantDeleted+" "+t.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) authTokenSettingsGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	m := t.TokenExpiryMinutes
	writeJSON(w, http.StatusOK, v1AuthTokenSettings{ExpiryTimeMinutes: &m})
	return nil
}

func (s *Server) authTokenSettingsUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1AuthTokenSettings
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ExpiryTimeMinutes == nil || *in.ExpiryTimeMinutes < 15 || *in.ExpiryTimeMinutes > 1440 {
		return orgauth.Errorf(orgauth.EINVALID, "expiryTimeMinutes must be from 15 to 1440")
	}
	return s.updateTenant(w, r, func(t *orgauth.Tenant) { t.TokenExpiryMinutes = *in.ExpiryTimeMinutes })
}

func (s *Server) loginBannerGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1LoginBannerSettings{IsEnabled: t.BannerEnabled, Title: t.BannerTitle, Message: t.BannerMessage})
	return nil
}

func (s *Server) loginBannerUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1LoginBannerSettings
	if err := decode(r, &in); err != nil {
		return err
	}
	title, err := validName("title", in.Title, false)
	if err != nil {
		return err
	}
	if len(in.Message) > 10_000 {
		return orgauth.Errorf(orgauth.EINVALID, "Message must be at most 10000 bytes")
	}
	if in.IsEnabled && strings.TrimSpace(in.Message) == "" {
		return orgauth.Errorf(orgauth.EINVALID, "Message is required when the banner is enabled")
	}
	return s.updateTenant(w, r, func(t *orgauth.Tenant) {
		t.BannerEnabled, t.BannerTitle, t.BannerMessage = in.IsEnabled, title, in.Message
	})
}

// updateTenant applies change to the tenant of the path in one audited write.
func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request, change func(*orgauth.Tenant)) error {
	id := r.PathValue("tenantUid")
	var t *orgauth.Tenant
	err := s.write(w, r, id, id, func(tx orgauth.Queries) error {
		var err error
		if t, err = tx.Tenant(r.Context(), id); err != nil {
			return err
		}
		change(t)
		t.UpdatedAt = s.cfg.Now()
		return tx.UpdateTenant(r.Context(), t)
	})
	if err != nil {
		return err
	}
	s.forgetTenant(r.Context(), t)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
