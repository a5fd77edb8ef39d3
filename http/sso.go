package http

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/connector/github"
	"github.com/orgauth/orgauth/connector/oidc"
	"github.com/orgauth/orgauth/token"
)

// This file holds the social logins: the in-memory view of the operator's apps
// (GitHub, named OIDC providers) and of each tenant's choice among them, their
// connectors, and the catalogue login pages read. Their configuration is in
// sso_config.go, the sign-in itself in sso_login.go.

// ssoMask stands for a stored client secret in answers; a PUT that sends it back
// keeps the stored secret.
const ssoMask = "*****"

// maxOIDCApps bounds the named OIDC providers of a system.
const maxOIDCApps = 20

// connector is a social login provider (connector/github, connector/oidc).
type connector interface {
	// AuthURL is the provider's authorization URL for one sign-in.
	AuthURL(state, nonce, verifier string) string
	// Identify redeems the code of the callback and says who signed in.
	Identify(ctx context.Context, code, nonce, verifier string) (orgauth.SSOIdentity, error)
}

// ssoState is the server's in-memory view of the social logins.
type ssoState struct {
	apps    *cache[string, *ssoCatalogue]            // the one key ""
	tenants *cache[string, *orgauth.TenantSSOLogins] // by tenant id
	pkceKey []byte                                   // derives PKCE verifiers from states
	nonceKy []byte                                   // derives nonces from states

	mu    sync.Mutex
	conns map[string]ssoConn // by app name
}

// ssoConn is a connector built for one version of an app's configuration.
type ssoConn struct {
	version string
	conn    connector
}

func newSSOState(masterKey []byte, ttl time.Duration, now func() time.Time) *ssoState {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, masterKey)
		m.Write([]byte("orgauth sso " + purpose))
		return m.Sum(nil)
	}
	return &ssoState{
		apps:    newCache[string, *ssoCatalogue](1, ttl, now),
		tenants: newCache[string, *orgauth.TenantSSOLogins](100_000, ttl, now),
		pkceKey: derive("pkce"), nonceKy: derive("nonce"),
		conns: map[string]ssoConn{},
	}
}

// ssoCatalogue is the system's social login apps, secrets opened.
type ssoCatalogue struct {
	apps   []*ssoApp // by name
	byName map[string]*ssoApp
}

type ssoApp struct {
	orgauth.SSOApp
	secret      string
	displayName string
	logo        string
}

// Messages of http/invalidate.go for social logins.
const (
	msgSSOApps   = "sso apps"   // the system's apps changed
	msgSSOTenant = "sso-tenant" // tenantID: the tenant's choice changed
)

// invalidateSSO applies an invalidation message to the social login caches.
func (s *Server) invalidateSSO(f []string) {
	switch {
	case len(f) == 2 && f[0]+" "+f[1] == msgSSOApps:
		s.sso.apps.clear()
	case len(f) == 2 && (f[0] == msgSSOTenant || f[0] == msgTenantDeleted):
		s.sso.tenants.del(f[1])
	}
}

// flushSSO drops every cached social login state.
func (s *Server) flushSSO() {
	s.sso.apps.clear()
	s.sso.tenants.clear()
}

// secretAD binds a sealed client secret to its app.
func secretAD(name string) []byte { return []byte("sso-app:" + name) }

// ssoCatalogue returns the apps, through the cache.
func (s *Server) ssoCatalogue(ctx context.Context) (*ssoCatalogue, error) {
	if c, ok := s.sso.apps.get(""); ok {
		return c, nil
	}
	gen := s.sso.apps.gen()
	list, err := s.store.SSOApps(ctx)
	if err != nil {
		return nil, err
	}
	c := &ssoCatalogue{byName: make(map[string]*ssoApp, len(list))}
	for _, a := range list {
		app := &ssoApp{SSOApp: *a, displayName: ssoDisplayName(a.Name), logo: a.LogoURL}
		if len(a.SealedSecret) > 0 {
			secret, err := token.Open(s.masterKey, a.SealedSecret, secretAD(a.Name))
			if err != nil {
				return nil, err
			}
			app.secret = string(secret)
		}
		if app.logo == "" {
			app.logo = "/assets/sso/oidc.svg"
			if _, err := ssoLogos.Open("assets/sso/" + a.Name + ".svg"); err == nil {
				app.logo = "/assets/sso/" + a.Name + ".svg"
			}
		}
		c.apps = append(c.apps, app)
		c.byName[a.Name] = app
	}
	s.sso.apps.putAt("", c, time.Time{}, gen)
	return c, nil
}

// enabledApp returns the enabled app of that name, or ENOTFOUND.
func (s *Server) enabledApp(ctx context.Context, name string) (*ssoApp, error) {
	c, err := s.ssoCatalogue(ctx)
	if err != nil {
		return nil, err
	}
	if a := c.byName[name]; a != nil && a.Enabled {
		return a, nil
	}
	return nil, orgauth.Errorf(orgauth.ENOTFOUND, "no social login named %q", truncate(name, 64))
}

// tenantSSOLogins returns a tenant's choice, through the cache.
func (s *Server) tenantSSOLogins(ctx context.Context, tenantID string) (*orgauth.TenantSSOLogins, error) {
	if l, ok := s.sso.tenants.get(tenantID); ok {
		return l, nil
	}
	gen := s.sso.tenants.gen()
	l, err := s.store.InTenant(tenantID).SSOLogins(ctx)
	if err != nil {
		return nil, err
	}
	s.sso.tenants.putAt(tenantID, l, time.Time{}, gen)
	return l, nil
}

// orgAllows reports whether tenant t offers the (enabled) app.
func (s *Server) orgAllows(ctx context.Context, t *orgauth.Tenant, app string) (bool, error) {
	if !t.Active {
		return false, nil
	}
	l, err := s.tenantSSOLogins(ctx, t.ID)
	if err != nil {
		return false, err
	}
	return l.Enabled && slices.Contains(l.Logins, app), nil
}

// ssoItems lists the enabled apps as login buttons; with t, only those t offers,
// each starting a sign-in for t.
func (s *Server) ssoItems(ctx context.Context, t *orgauth.Tenant) ([]v1SsoLogin, error) {
	c, err := s.ssoCatalogue(ctx)
	if err != nil {
		return nil, err
	}
	var chosen *orgauth.TenantSSOLogins
	query := ""
	if t != nil {
		if !t.Active {
			return []v1SsoLogin{}, nil
		}
		if chosen, err = s.tenantSSOLogins(ctx, t.ID); err != nil {
			return nil, err
		}
		if !chosen.Enabled {
			return []v1SsoLogin{}, nil
		}
		query = "?org=" + url.QueryEscape(t.Name)
	}
	out := []v1SsoLogin{}
	for _, a := range c.apps {
		if !a.Enabled || (chosen != nil && !slices.Contains(chosen.Logins, a.Name)) {
			continue
		}
		out = append(out, v1SsoLogin{
			Name: a.Name, DisplayName: a.displayName, Logo: a.logo,
			RedirectURI: s.cfg.PublicURL + "/v1/auth/sso/" + url.PathEscape(a.Name) + "/start" + query,
		})
	}
	return out, nil
}

// ssoDisplayName is the button label of an app.
func ssoDisplayName(name string) string {
	switch name {
	case "github":
		return "GitHub"
	case "google":
		return "Google"
	case "microsoft":
		return "Microsoft"
	case "gitlab":
		return "GitLab"
	}
	parts := strings.Split(name, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// ssoCallbackURL is orgauth's callback for an app, to register at the provider.
func (s *Server) ssoCallbackURL(name string) string {
	return s.cfg.PublicURL + "/v1/auth/sso/" + url.PathEscape(name) + "/callback"
}

// ssoConnector returns the connector of an app, built once per version of its
// configuration (an OIDC provider's discovery is read then).
func (s *Server) ssoConnector(ctx context.Context, a *ssoApp) (connector, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%q\x00%+v\x00", a.UpdatedAt.Format(time.RFC3339Nano), a.ClientID, a.IssuerURL, a.Scopes, a.Claims)
	h.Write(a.SealedSecret) // sealed afresh (random nonce) whenever the secret is set
	version := string(h.Sum(nil))
	s.sso.mu.Lock()
	c, ok := s.sso.conns[a.Name]
	s.sso.mu.Unlock()
	if ok && c.version == version {
		return c.conn, nil
	}
	conn, err := s.newConnector(ctx, a)
	if err != nil {
		return nil, err
	}
	s.sso.mu.Lock()
	s.sso.conns[a.Name] = ssoConn{version: version, conn: conn}
	s.sso.mu.Unlock()
	return conn, nil
}

func (s *Server) newConnector(ctx context.Context, a *ssoApp) (connector, error) {
	if a.Kind == orgauth.SSOKindGitHub {
		return github.New(github.Config{
			ClientID: a.ClientID, ClientSecret: a.secret, RedirectURL: s.ssoCallbackURL(a.Name),
			WebURL: s.cfg.GitHubURL, APIURL: s.cfg.GitHubAPIURL,
		}), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := oidc.New(ctx, s.oidcConfig(a.Name, &a.SSOApp, a.secret))
	if err != nil {
		s.log.WarnContext(ctx, "oidc provider unusable", "app", a.Name, "err", err)
		return nil, orgauth.Errorf(orgauth.EUNAVAILABLE, "the identity provider of %s cannot be used right now", a.displayName)
	}
	return c, nil
}

func (s *Server) oidcConfig(name string, a *orgauth.SSOApp, secret string) oidc.Config {
	return oidc.Config{
		Issuer: a.IssuerURL, ClientID: a.ClientID, ClientSecret: secret,
		RedirectURL: s.ssoCallbackURL(name), Scopes: a.Scopes,
		EmailClaim: a.Claims.Email, FirstClaim: a.Claims.FirstName, LastClaim: a.Claims.LastName,
	}
}

// ssoVerifier and ssoNonce derive the PKCE verifier and the nonce of a sign-in
// from its state with keys only orgauth has: nothing secret is stored with the
// flow, and a state seen by the browser or the provider reveals neither.
func (s *Server) ssoVerifier(state string) string { return deriveFrom(s.sso.pkceKey, state) }
func (s *Server) ssoNonce(state string) string    { return deriveFrom(s.sso.nonceKy, state) }

func deriveFrom(key []byte, state string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ssoProviders lists every enabled social login of the system.
func (s *Server) ssoProviders(w http.ResponseWriter, r *http.Request) error {
	items, err := s.ssoItems(r.Context(), nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

// ssoLoginsList lists the social logins of an org (org query), or the enabled
// system-wide ones without it.
func (s *Server) ssoLoginsList(w http.ResponseWriter, r *http.Request) error {
	var t *orgauth.Tenant
	if org := r.URL.Query().Get("org"); org != "" {
		var err error
		if t, err = s.resolveOrg(r, org); err != nil {
			return err
		}
	}
	items, err := s.ssoItems(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

// identityProviders is the catalogue of IdP kinds a tenant picks from when it
// configures its own SSO.
var identityProviders = []v1IdentityProvider{
	{ID: "okta", Name: "Okta"},
	{ID: "entra-id", Name: "Microsoft Entra ID"},
	{ID: "keycloak", Name: "Keycloak"},
	{ID: "onelogin", Name: "OneLogin"},
	{ID: "ping", Name: "Ping Identity"},
	{ID: "google", Name: "Google Workspace"},
	{ID: "adfs", Name: "Microsoft ADFS"},
	{ID: "auth0", Name: "Auth0"},
	{ID: "zitadel", Name: "ZITADEL"},
	{ID: "jumpcloud", Name: "JumpCloud"},
	{ID: "oidc", Name: "Generic OIDC"},
	{ID: "saml", Name: "Generic SAML"},
}

func (s *Server) ssoIdps(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, identityProviders)
	return nil
}

//go:embed assets/sso/*.svg
var ssoLogos embed.FS

// ssoLogo serves the icons of the social logins.
func (s *Server) ssoLogo(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if path.Base(name) != name || !strings.HasSuffix(name, ".svg") {
		return orgauth.Errorf(orgauth.ENOTFOUND, "no such icon")
	}
	b, err := ssoLogos.ReadFile("assets/sso/" + name)
	if err != nil {
		return orgauth.Errorf(orgauth.ENOTFOUND, "no such icon")
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "public, max-age=86400")
	_, err = w.Write(b)
	return err
}
