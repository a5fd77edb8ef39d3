package http

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/connector/github"
	"github.com/orgauth/orgauth/connector/oidc"
	"github.com/orgauth/orgauth/token"
)

// This file holds the configuration of social logins: the operator's apps
// (GET/PUT /v1/system/config/sso and its validations) and each tenant's choice
// among them, with the checks of their fields.

// ssoConfigGet answers the system's social login apps, secrets masked.
func (s *Server) ssoConfigGet(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.store.SSOApps(r.Context())
	if err != nil {
		return err
	}
	spec := &v1SystemSsoAuthSpec{OidcAuthSpecs: map[string]*v1SystemOidcClientSpec{}}
	for _, a := range apps {
		masked := ""
		if len(a.SealedSecret) > 0 {
			masked = ssoMask
		}
		if a.Kind == orgauth.SSOKindGitHub {
			spec.Github = &v1SystemGithubSsoSpec{ClientID: a.ClientID, ClientSecretKey: masked, IsEnabled: a.Enabled, LogoURL: a.LogoURL}
			continue
		}
		o := &v1SystemOidcClientSpec{
			CallbackURL: s.ssoCallbackURL(a.Name), ClientID: a.ClientID, ClientSecret: masked,
			IsEnabled: a.Enabled, IssuerURL: a.IssuerURL, LogoURL: a.LogoURL, Scopes: a.Scopes,
		}
		if a.Claims != (orgauth.SSOClaims{}) {
			o.RequiredClaims = &v1SystemOidcClaims{Email: a.Claims.Email, FirstName: a.Claims.FirstName, LastName: a.Claims.LastName, SpectroTeam: a.Claims.Team}
		}
		if o.Scopes == nil {
			o.Scopes = []string{}
		}
		spec.OidcAuthSpecs[a.Name] = o
	}
	writeJSON(w, http.StatusOK, v1SystemSsoSpec{AuthSpec: spec})
	return nil
}

// ssoConfigUpdate replaces the system's social login apps.
func (s *Server) ssoConfigUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1SystemSsoSpec
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AcsURLRoot != "" || in.AcsURLScheme != "" || in.AudienceURL != "" || in.EntityID != "" {
		return orgauth.Errorf(orgauth.EINVALID, "acsUrlRoot, acsUrlScheme, audienceUrl and entityId are not supported: SAML is configured per tenant")
	}
	if in.APIVersion != "" && in.APIVersion != "v1" {
		return orgauth.Errorf(orgauth.EINVALID, "apiVersion must be v1")
	}
	ctx := r.Context()
	stored, err := s.store.SSOApps(ctx)
	if err != nil {
		return err
	}
	old := map[string]*orgauth.SSOApp{}
	for _, a := range stored {
		old[a.Name] = a
	}
	now := s.cfg.Now()
	var apps []*orgauth.SSOApp
	if in.AuthSpec != nil {
		if gh := in.AuthSpec.Github; gh != nil {
			a, err := s.githubApp(gh, old["github"])
			if err != nil {
				return err
			}
			apps = append(apps, a)
		}
		if len(in.AuthSpec.OidcAuthSpecs) > maxOIDCApps {
			return orgauth.Errorf(orgauth.EINVALID, "at most %d OIDC providers", maxOIDCApps)
		}
		for name, spec := range in.AuthSpec.OidcAuthSpecs {
			if spec == nil {
				return orgauth.Errorf(orgauth.EINVALID, "oidcAuthSpecs.%s must be an object", truncate(name, 32))
			}
			a, err := s.oidcApp(name, spec, old[name])
			if err != nil {
				return err
			}
			apps = append(apps, a)
		}
	}
	for _, a := range apps {
		a.UpdatedAt = now
	}
	p := principalFrom(ctx)
	if err := s.write(w, r, p.Tenant.ID, "sso", func(tx orgauth.Queries) error { return tx.SetSSOApps(ctx, apps) }); err != nil {
		return err
	}
	s.forget(ctx, msgSSOApps)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// githubApp checks the GitHub part of a configuration.
func (s *Server) githubApp(in *v1SystemGithubSsoSpec, old *orgauth.SSOApp) (*orgauth.SSOApp, error) {
	a := &orgauth.SSOApp{Name: "github", Kind: orgauth.SSOKindGitHub, Enabled: in.IsEnabled}
	var err error
	if a.ClientID, err = validClientID("github.clientId", in.ClientID, in.IsEnabled); err != nil {
		return nil, err
	}
	if a.LogoURL, err = validLogoURL("github.logoUrl", in.LogoURL); err != nil {
		return nil, err
	}
	if a.SealedSecret, err = s.sealSecret("github.clientSecretKey", a.Name, in.ClientSecretKey, old, in.IsEnabled); err != nil {
		return nil, err
	}
	return a, nil
}

// oidcApp checks one named OIDC provider of a configuration.
func (s *Server) oidcApp(name string, in *v1SystemOidcClientSpec, old *orgauth.SSOApp) (*orgauth.SSOApp, error) {
	if err := validAppName(name); err != nil {
		return nil, err
	}
	field := "oidcAuthSpecs." + name
	a, err := s.checkOIDCSpec(field+".", name, in)
	if err != nil {
		return nil, err
	}
	if old != nil && old.Kind != orgauth.SSOKindOIDC {
		old = nil
	}
	if a.SealedSecret, err = s.sealSecret(field+".clientSecret", name, in.ClientSecret, old, in.IsEnabled); err != nil {
		return nil, err
	}
	return a, nil
}

// checkOIDCSpec checks the fields of an OIDC client but its secret; prefix
// starts the field names in messages.
func (s *Server) checkOIDCSpec(prefix, name string, in *v1SystemOidcClientSpec) (*orgauth.SSOApp, error) {
	a := &orgauth.SSOApp{Name: name, Kind: orgauth.SSOKindOIDC, Enabled: in.IsEnabled}
	var err error
	if a.ClientID, err = validClientID(prefix+"clientId", in.ClientID, in.IsEnabled); err != nil {
		return nil, err
	}
	if a.IssuerURL, err = s.validIssuer(prefix+"issuerUrl", in.IssuerURL, in.IsEnabled); err != nil {
		return nil, err
	}
	if a.LogoURL, err = validLogoURL(prefix+"logoUrl", in.LogoURL); err != nil {
		return nil, err
	}
	if name != "" && in.CallbackURL != "" && in.CallbackURL != s.ssoCallbackURL(name) {
		return nil, orgauth.Errorf(orgauth.EINVALID, "%scallbackUrl is set by orgauth: %s", prefix, s.ssoCallbackURL(name))
	}
	if a.Scopes, err = validScopes(prefix+"scopes", in.Scopes); err != nil {
		return nil, err
	}
	if c := in.RequiredClaims; c != nil {
		a.Claims = orgauth.SSOClaims{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Team: c.SpectroTeam}
		for _, v := range []string{c.Email, c.FirstName, c.LastName, c.SpectroTeam} {
			if !validToken(v, 64, false) {
				return nil, orgauth.Errorf(orgauth.EINVALID, "%srequiredClaims: claim names are at most 64 characters of letters, digits and _ . : -", prefix)
			}
		}
	}
	return a, nil
}

// sealSecret seals a new client secret, or keeps the stored one when in is the mask.
func (s *Server) sealSecret(field, name, in string, old *orgauth.SSOApp, required bool) ([]byte, error) {
	switch {
	case in == ssoMask:
		if old == nil || len(old.SealedSecret) == 0 {
			return nil, orgauth.Errorf(orgauth.EINVALID, "%s is the mask of a stored secret, but none is stored", field)
		}
		return old.SealedSecret, nil
	case in == "":
		if required {
			return nil, orgauth.Errorf(orgauth.EINVALID, "%s is required", field)
		}
		return nil, nil
	case len(in) > 1024 || strings.ContainsFunc(in, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		return nil, orgauth.Errorf(orgauth.EINVALID, "%s must be at most 1024 printable characters", field)
	}
	return token.Seal(s.masterKey, []byte(in), secretAD(name))
}

// openSecret returns the secret to use for a validation: in, or the stored one
// when in is the mask.
func (s *Server) openSecret(ctx context.Context, field, name, in string) (string, error) {
	if in != ssoMask {
		return in, nil
	}
	apps, err := s.store.SSOApps(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		if a.Name == name && len(a.SealedSecret) > 0 {
			b, err := token.Open(s.masterKey, a.SealedSecret, secretAD(name))
			return string(b), err
		}
	}
	return "", orgauth.Errorf(orgauth.EINVALID, "%s is the mask of a stored secret, but none is stored", field)
}

// ssoGithubValidate checks a GitHub configuration against GitHub before it is saved.
func (s *Server) ssoGithubValidate(w http.ResponseWriter, r *http.Request) error {
	var in v1SystemGithubSsoSpec
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.githubApp(&v1SystemGithubSsoSpec{ClientID: in.ClientID, IsEnabled: true, LogoURL: in.LogoURL, ClientSecretKey: "x"}, nil)
	if err != nil {
		return err
	}
	if in.ClientSecretKey == "" {
		return orgauth.Errorf(orgauth.EINVALID, "clientSecretKey is required")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	secret, err := s.openSecret(ctx, "clientSecretKey", "github", in.ClientSecretKey)
	if err != nil {
		return err
	}
	c := github.New(github.Config{ClientID: a.ClientID, ClientSecret: secret, RedirectURL: s.ssoCallbackURL("github"),
		WebURL: s.cfg.GitHubURL, APIURL: s.cfg.GitHubAPIURL})
	if err := c.Validate(ctx); err != nil {
		if orgauth.ErrorCode(err) == orgauth.EINTERNAL {
			return orgauth.Errorf(orgauth.EINVALID, "GitHub could not be asked")
		}
		return err
	}
	return s.validated(w, r)
}

// ssoOIDCValidate checks an OIDC provider's discovery before it is saved: it is
// reachable, names the configured issuer and supports the code flow.
func (s *Server) ssoOIDCValidate(w http.ResponseWriter, r *http.Request) error {
	var in v1SystemOidcClientSpec
	if err := decode(r, &in); err != nil {
		return err
	}
	in.IsEnabled = true
	a, err := s.checkOIDCSpec("", "", &in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if _, err := oidc.New(ctx, s.oidcConfig("validate", a, "")); err != nil {
		return orgauth.Errorf(orgauth.EINVALID, "%s", truncate(err.Error(), 300))
	}
	return s.validated(w, r)
}

// validated answers a successful validation, audited.
func (s *Server) validated(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := s.write(w, r, p.Tenant.ID, "sso", func(orgauth.Queries) error { return nil }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) tenantSSOGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	l, err := s.store.InTenant(t.ID).SSOLogins(r.Context())
	if err != nil {
		return err
	}
	out := v1TenantSsoAuthProvidersEntity{IsEnabled: l.Enabled, SsoLogins: l.Logins}
	if out.SsoLogins == nil {
		out.SsoLogins = []string{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) tenantSSOUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1TenantSsoAuthProvidersEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	apps, err := s.store.SSOApps(ctx)
	if err != nil {
		return err
	}
	if len(in.SsoLogins) > maxOIDCApps+1 {
		return orgauth.Errorf(orgauth.EINVALID, "ssoLogins has more entries than there are social logins")
	}
	logins := []string{}
	for _, name := range in.SsoLogins {
		i := slices.IndexFunc(apps, func(a *orgauth.SSOApp) bool { return a.Name == name })
		if i < 0 || !apps[i].Enabled {
			return orgauth.Errorf(orgauth.EINVALID, "ssoLogins: %q is not an enabled social login of this system", truncate(name, 64))
		}
		if slices.Contains(logins, name) {
			return orgauth.Errorf(orgauth.EINVALID, "ssoLogins: %q is listed twice", name)
		}
		logins = append(logins, name)
	}
	l := &orgauth.TenantSSOLogins{Enabled: in.IsEnabled, Logins: logins, UpdatedAt: s.cfg.Now()}
	if err := s.write(w, r, t.ID, t.ID, func(tx orgauth.Queries) error { return tx.InTenant(t.ID).SetSSOLogins(ctx, l) }); err != nil {
		return err
	}
	s.forget(ctx, msgSSOTenant+" "+t.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validAppName checks the name of an OIDC provider: 1-32 of [a-z0-9-], not github.
func validAppName(name string) error {
	bad := orgauth.Errorf(orgauth.EINVALID, "oidcAuthSpecs: %q: names are 1 to 32 characters of a-z, 0-9 and '-', starting with a letter or digit", truncate(name, 40))
	if name == "" || len(name) > 32 || name[0] == '-' {
		return bad
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return bad
		}
	}
	if name == "github" {
		return orgauth.Errorf(orgauth.EINVALID, "oidcAuthSpecs: github is the name of the GitHub login; name the OIDC provider otherwise")
	}
	return nil
}

func validClientID(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", orgauth.Errorf(orgauth.EINVALID, "%s is required", field)
	}
	if len(s) > 256 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return "", orgauth.Errorf(orgauth.EINVALID, "%s must be at most 256 printable characters", field)
	}
	return s, nil
}

// validIssuer checks an issuer URL: https (plain http only for a loopback host
// or in development), no query or fragment.
func (s *Server) validIssuer(field, raw string, required bool) (string, error) {
	if raw == "" && !required {
		return "", nil
	}
	bad := orgauth.Errorf(orgauth.EINVALID, "%s must be an https URL without query or fragment", field)
	if len(raw) > 2048 {
		return "", bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#") {
		return "", bad
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && (s.cfg.Dev || loopbackHost(u.Hostname()))) {
		return "", bad
	}
	return raw, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validLogoURL checks a logo: an https URL or a path of orgauth.
func validLogoURL(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := safeRedirectPath(s); err == nil {
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > 2048 || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", orgauth.Errorf(orgauth.EINVALID, "%s must be an https URL or a path of orgauth", field)
	}
	return s, nil
}

// validScopes checks OAuth scopes (RFC 6749 scope-tokens), defaulting to
// openid, email and profile, and always asking for openid.
func validScopes(field string, in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{"openid", "email", "profile"}, nil
	}
	if len(in) > 20 {
		return nil, orgauth.Errorf(orgauth.EINVALID, "%s may have at most 20 scopes", field)
	}
	out := []string{}
	if !slices.Contains(in, "openid") {
		out = append(out, "openid")
	}
	for _, sc := range in {
		if !validToken(sc, 64, true) {
			return nil, orgauth.Errorf(orgauth.EINVALID, "%s: %q is not a scope", field, truncate(sc, 64))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// validToken checks a scope (scope is set) or a claim name of at most n bytes.
func validToken(s string, n int, scope bool) bool {
	if len(s) > n || (scope && s == "") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if scope {
			if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return false
			}
		} else if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}
