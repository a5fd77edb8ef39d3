package http_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/orgauth/orgauth"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/internal/apitest"
	"github.com/orgauth/orgauth/token"
)

// ssoEnv is orgauth with a fake GitHub and a real OpenID Provider ("google").
type ssoEnv struct {
	*apitest.Env
	gh    *fakeGitHub
	op    *testOP
	admin string // system admin token
}

func newSSOEnv(t *testing.T, opts ...apitest.Options) *ssoEnv {
	gh := newFakeGitHub(t)
	op := newTestOP(t, "http://orgauth.test/v1/auth/sso/google/callback")
	var o apitest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Config = func(c *orgauthhttp.Config) { c.GitHubURL, c.GitHubAPIURL = gh.srv.URL, gh.srv.URL+"/api" }
	env := apitest.New(t, o)
	return &ssoEnv{Env: env, gh: gh, op: op, admin: env.Admin()}
}

// configure stores a system configuration with GitHub and google enabled.
func (e *ssoEnv) configure(t *testing.T) {
	e.put(t, e.config(true, true)).Must(t, 204)
}

func (e *ssoEnv) config(github, google bool) map[string]any {
	return map[string]any{"authSpec": map[string]any{
		"github": map[string]any{"clientId": e.gh.clientID, "clientSecretKey": e.gh.secret, "isEnabled": github},
		"oidcAuthSpecs": map[string]any{
			"google": map[string]any{"issuerUrl": e.op.Issuer, "clientId": e.op.ClientID, "clientSecret": e.op.Secret, "isEnabled": google},
		},
	}}
}

func (e *ssoEnv) put(t *testing.T, body any) *apitest.Response {
	return e.Do("PUT", "/v1/system/config/sso", body, "Authorization", e.admin)
}

// allow lets tenant ten offer the given logins.
func (e *ssoEnv) allow(t *testing.T, ten *apitest.Tenant, enabled bool, names ...string) {
	if names == nil {
		names = []string{}
	}
	e.Do("POST", "/v1/tenants/"+ten.UID+"/sso/auth/providers", map[string]any{"isEnabled": enabled, "ssoLogins": names},
		"Authorization", ten.AdminToken).Must(t, 204)
}

// logins reads the catalogue of an org ("" for none).
func (e *ssoEnv) logins(t *testing.T, org string) []ssoItem {
	path := "/v1/auth/sso/logins"
	if org != "" {
		path += "?org=" + org
	}
	var items []ssoItem
	e.Do("GET", path, nil).Must(t, 200).JSON(t, &items)
	return items
}

type ssoItem struct{ Name, DisplayName, Logo, RedirectURI string }

func names(items []ssoItem) []string {
	var out []string
	for _, i := range items {
		out = append(out, i.Name)
	}
	return out
}

func item(t *testing.T, items []ssoItem, name string) ssoItem {
	t.Helper()
	for _, i := range items {
		if i.Name == name {
			return i
		}
	}
	t.Fatalf("no %s in %+v", name, items)
	return ssoItem{}
}

func TestSSOSystemConfig(t *testing.T) {
	e := newSSOEnv(t)
	// Nothing configured yet.
	var got struct {
		AuthSpec struct {
			Github *struct {
				ClientID, ClientSecretKey, LogoURL string
				IsEnabled                          bool
			}
			OidcAuthSpecs map[string]struct {
				CallbackURL, ClientID, ClientSecret, IssuerURL, LogoURL string
				IsEnabled                                               bool
				Scopes                                                  []string
			}
		}
	}
	e.Do("GET", "/v1/system/config/sso", nil, "Authorization", e.admin).Must(t, 200).JSON(t, &got)
	if got.AuthSpec.Github != nil || len(got.AuthSpec.OidcAuthSpecs) != 0 {
		t.Fatalf("fresh config: %+v", got)
	}
	r := e.put(t, e.config(true, true)).Must(t, 204)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid on the update")
	}
	r = e.Do("GET", "/v1/system/config/sso", nil, "Authorization", e.admin).Must(t, 200)
	r.JSON(t, &got)
	if strings.Contains(string(r.Body), e.gh.secret) || strings.Contains(string(r.Body), e.op.Secret) {
		t.Fatalf("a secret is readable: %s", r.Body)
	}
	gh, g := got.AuthSpec.Github, got.AuthSpec.OidcAuthSpecs["google"]
	if gh == nil || gh.ClientID != e.gh.clientID || gh.ClientSecretKey != "*****" || !gh.IsEnabled {
		t.Fatalf("github read back: %+v", gh)
	}
	if g.ClientSecret != "*****" || g.IssuerURL != e.op.Issuer || g.CallbackURL != "http://orgauth.test/v1/auth/sso/google/callback" ||
		!slices.Equal(g.Scopes, []string{"openid", "email", "profile"}) {
		t.Fatalf("google read back: %+v", g)
	}
	// Secrets are sealed at rest: not in the database file.
	if found, files := secFilesContain(t, e.gh.secret); found || files == 0 {
		t.Fatalf("secret in plain text on disk: %v (%d database files)", found, files)
	}
	apps, err := e.Store.SSOApps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sealed := apps[0].SealedSecret
	if plain, err := token.Open(e.MasterKey, sealed, []byte("sso-app:github")); err != nil || string(plain) != e.gh.secret {
		t.Fatalf("sealed secret does not open to the secret: %v", err)
	}

	// A PUT that sends the mask keeps the stored secret: sign-in still works.
	cfg := e.config(true, true)
	cfg["authSpec"].(map[string]any)["github"].(map[string]any)["clientSecretKey"] = "*****"
	cfg["authSpec"].(map[string]any)["oidcAuthSpecs"].(map[string]any)["google"].(map[string]any)["clientSecret"] = "*****"
	e.put(t, cfg).Must(t, 204)
	apps, _ = e.Store.SSOApps(t.Context())
	if plain, err := token.Open(e.MasterKey, apps[0].SealedSecret, []byte("sso-app:github")); err != nil || string(plain) != e.gh.secret {
		t.Fatalf("the mask changed the stored secret: %v %q", err, plain)
	}
	ten := e.NewTenant("acme")
	e.allow(t, ten, true, "github")
	e.gh.signInAs(&ghUser{ID: 7, Login: "ada", Emails: []ghEmail{{Email: ten.AdminEmail, Primary: true, Verified: true}}})
	newBrowser(t, e.Env).signIn(item(t, e.logins(t, "acme"), "github").RedirectURI).Must(t, 200)

	// Bad configurations: a clear 400, nothing changed.
	bad := []map[string]any{
		{"authSpec": map[string]any{"github": map[string]any{"isEnabled": true, "clientSecretKey": "x"}}},
		{"authSpec": map[string]any{"github": map[string]any{"isEnabled": true, "clientId": "a"}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"google": map[string]any{"isEnabled": true, "clientId": "a", "clientSecret": "s", "issuerUrl": "http://evil.example.com"}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"google": map[string]any{"isEnabled": true, "clientId": "a", "clientSecret": "s", "issuerUrl": "https://x.example.com/?a=b"}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"Bad Name": map[string]any{"isEnabled": false}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"github": map[string]any{"isEnabled": false}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"new": map[string]any{"isEnabled": true, "clientId": "a", "clientSecret": "*****", "issuerUrl": "https://x.example.com"}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"google": map[string]any{"isEnabled": true, "clientId": "a", "clientSecret": "s", "issuerUrl": "https://x.example.com", "scopes": []string{"openid", "bad\"scope"}}}}},
		{"authSpec": map[string]any{"oidcAuthSpecs": map[string]any{"google": map[string]any{"isEnabled": true, "clientId": "a", "clientSecret": "s", "issuerUrl": "https://x.example.com", "callbackUrl": "https://evil.example.com/cb"}}}},
		{"authSpec": map[string]any{"github": map[string]any{"isEnabled": false, "logoUrl": "javascript:alert(1)"}}},
		{"entityId": "urn:x"},
		{"authSpec": map[string]any{"github": map[string]any{"isEnabled": true, "clientId": "a", "clientSecretKey": "s", "unknown": 1}}},
	}
	for i, b := range bad {
		r := e.put(t, b)
		if r.Status != 400 {
			t.Errorf("bad config %d: status %d: %s", i, r.Status, r.Body)
		}
	}
	if items := e.logins(t, ""); !slices.Equal(names(items), []string{"github", "google"}) {
		t.Fatalf("a refused update changed the config: %v", names(items))
	}
	// Only system administrators.
	e.Do("GET", "/v1/system/config/sso", nil, "Authorization", ten.AdminToken).Must(t, 403)
	e.Do("PUT", "/v1/system/config/sso", e.config(false, false), "Authorization", ten.AdminToken).Must(t, 403)
	e.Do("GET", "/v1/system/config/sso", nil).Must(t, 401)
	if strings.Contains(e.Logs.String(), e.gh.secret) || strings.Contains(e.Logs.String(), e.op.Secret) {
		t.Fatal("a client secret is in the log")
	}
}

func TestSSOValidate(t *testing.T) {
	e := newSSOEnv(t)
	gh := func(id, secret string) *apitest.Response {
		return e.Do("PUT", "/v1/system/config/sso/github/validate", map[string]any{"clientId": id, "clientSecretKey": secret, "isEnabled": true}, "Authorization", e.admin)
	}
	if r := gh(e.gh.clientID, e.gh.secret).Must(t, 204); r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid")
	}
	r := gh(e.gh.clientID, "wrong-secret").Must(t, 400)
	if !strings.Contains(string(r.Body), "does not accept") {
		t.Errorf("wrong secret: %s", r.Body)
	}
	gh("", e.gh.secret).Must(t, 400)
	gh(e.gh.clientID, "*****").Must(t, 400) // nothing stored yet
	e.configure(t)
	gh(e.gh.clientID, "*****").Must(t, 204) // the stored secret

	oidc := func(issuer string) *apitest.Response {
		return e.Do("PUT", "/v1/system/config/sso/oidc/validate", map[string]any{"issuerUrl": issuer, "clientId": "c", "isEnabled": true}, "Authorization", e.admin)
	}
	oidc(e.op.Issuer).Must(t, 204)
	r = oidc(e.op.Issuer+"/").Must(t, 400) // the discovery names the issuer without the slash
	if !strings.Contains(string(r.Body), "names the issuer") {
		t.Errorf("issuer mismatch: %s", r.Body)
	}
	oidc("http://127.0.0.1:1").Must(t, 400) // unreachable
	oidc("ftp://x").Must(t, 400)
	bad := newBadOP(t)
	bad.noCodeFlow = true
	r = oidc(bad.issuer).Must(t, 400)
	if !strings.Contains(string(r.Body), "code flow") {
		t.Errorf("no code flow: %s", r.Body)
	}
	bad.noCodeFlow, bad.otherIssuer = false, true // security 23: discovery names another issuer
	r = oidc(bad.issuer).Must(t, 400)
	if !strings.Contains(string(r.Body), "accounts.evil.example") {
		t.Errorf("other issuer: %s", r.Body)
	}
	bad.otherIssuer = false
	oidc(bad.issuer).Must(t, 204)
	e.Do("PUT", "/v1/system/config/sso/oidc/validate", map[string]any{"issuerUrl": e.op.Issuer}, "Authorization", e.NewTenant("acme").AdminToken).Must(t, 403)
}

func TestSSOTenantChoice(t *testing.T) {
	e := newSSOEnv(t)
	e.put(t, e.config(true, false)).Must(t, 204)
	a, b := e.NewTenant("acme"), e.NewTenant("globex")
	var got struct {
		IsEnabled bool
		SsoLogins []string
	}
	e.Do("GET", "/v1/tenants/"+a.UID+"/sso/auth/providers", nil, "Authorization", a.AdminToken).Must(t, 200).JSON(t, &got)
	if got.IsEnabled || len(got.SsoLogins) != 0 {
		t.Fatalf("never chosen: %+v", got)
	}
	e.allow(t, a, true, "github")
	e.Do("GET", "/v1/tenants/"+a.UID+"/sso/auth/providers", nil, "Authorization", a.AdminToken).Must(t, 200).JSON(t, &got)
	if !got.IsEnabled || !slices.Equal(got.SsoLogins, []string{"github"}) {
		t.Fatalf("read back: %+v", got)
	}
	post := func(tok, uid string, body any) *apitest.Response {
		return e.Do("POST", "/v1/tenants/"+uid+"/sso/auth/providers", body, "Authorization", tok)
	}
	post(a.AdminToken, a.UID, map[string]any{"isEnabled": true, "ssoLogins": []string{"gitlab"}}).Must(t, 400)           // unknown
	post(a.AdminToken, a.UID, map[string]any{"isEnabled": true, "ssoLogins": []string{"google"}}).Must(t, 400)           // disabled
	post(a.AdminToken, a.UID, map[string]any{"isEnabled": true, "ssoLogins": []string{"github", "github"}}).Must(t, 400) // twice
	post(a.AdminToken, b.UID, map[string]any{"isEnabled": true, "ssoLogins": []string{"github"}}).Must(t, 404)           // another tenant
	_, viewer := e.NewUser(a, "viewer@acme.example.com", "V1ewer-pass!", orgauth.RoleTenantViewer)
	e.Do("GET", "/v1/tenants/"+a.UID+"/sso/auth/providers", nil, "Authorization", viewer).Must(t, 200)
	post(viewer, a.UID, map[string]any{"isEnabled": false}).Must(t, 403)
	// The system administrator may set any tenant's choice.
	post(e.admin, b.UID, map[string]any{"isEnabled": true, "ssoLogins": []string{"github"}}).Must(t, 204)
	if n := names(e.logins(t, "globex")); !slices.Equal(n, []string{"github"}) {
		t.Fatalf("globex: %v", n)
	}
}

func TestSSOCatalogue(t *testing.T) {
	e := newSSOEnv(t)
	var idps []struct{ ID, Name string }
	e.Do("GET", "/v1/auth/sso/idps", nil).Must(t, 200).JSON(t, &idps)
	if len(idps) < 10 || idps[0].ID != "okta" {
		t.Fatalf("idps: %+v", idps)
	}
	if items := e.logins(t, ""); len(items) != 0 {
		t.Fatalf("nothing configured: %+v", items)
	}
	e.configure(t)
	ten := e.NewTenant("acme")
	e.NewTenant("globex")

	var providers []ssoItem
	e.Do("GET", "/v1/auth/sso/providers", nil).Must(t, 200).JSON(t, &providers)
	if !slices.Equal(names(providers), []string{"github", "google"}) {
		t.Fatalf("providers: %+v", providers)
	}
	gh := item(t, providers, "github")
	if gh.DisplayName != "GitHub" || gh.Logo != "/assets/sso/github.svg" || gh.RedirectURI != "http://orgauth.test/v1/auth/sso/github/start" {
		t.Fatalf("github item: %+v", gh)
	}
	if !slices.Equal(names(e.logins(t, "")), []string{"github", "google"}) {
		t.Fatal("system-wide logins differ from the providers")
	}
	// An org offers nothing until it chooses; an unknown org is 404.
	if items := e.logins(t, "acme"); len(items) != 0 {
		t.Fatalf("acme before choosing: %+v", items)
	}
	e.Do("GET", "/v1/auth/sso/logins?org=nope", nil).Must(t, 404)
	e.allow(t, ten, true, "google", "github")
	items := e.logins(t, "acme")
	if !slices.Equal(names(items), []string{"github", "google"}) { // the system's order, stable
		t.Fatalf("acme: %v", names(items))
	}
	if u := item(t, items, "google").RedirectURI; u != "http://orgauth.test/v1/auth/sso/google/start?org=acme" {
		t.Fatalf("google redirectUri: %s", u)
	}
	// The same items in /v1/auth/org and /v1/auth/orgs.
	var org struct{ SsoLogins []ssoItem }
	e.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 200).JSON(t, &org)
	if !slices.Equal(org.SsoLogins, items) {
		t.Fatalf("auth/org ssoLogins: %+v", org.SsoLogins)
	}
	var orgs struct {
		Organizations []struct{ SsoLogins []ssoItem }
	}
	e.Do("GET", "/v1/auth/orgs", nil, "Authorization", ten.AdminToken).Must(t, 200).JSON(t, &orgs)
	if len(orgs.Organizations) != 1 || !slices.Equal(orgs.Organizations[0].SsoLogins, items) {
		t.Fatalf("auth/orgs: %+v", orgs)
	}
	// Disabled: [] at once; a system change is visible to the next request.
	e.allow(t, ten, false, "github")
	if items := e.logins(t, "acme"); len(items) != 0 {
		t.Fatalf("disabled org: %+v", items)
	}
	e.allow(t, ten, true, "github", "google")
	e.put(t, e.config(false, true)).Must(t, 204)
	if n := names(e.logins(t, "acme")); !slices.Equal(n, []string{"google"}) {
		t.Fatalf("after disabling github: %v", n)
	}
	// Icons are served by orgauth.
	res, err := e.Client.Get(e.URL + "/assets/sso/github.svg")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("logo: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	e.Do("GET", "/assets/sso/..%2Fsso.go", nil).Must(t, 404)
	e.Do("GET", "/assets/sso/nope.svg", nil).Must(t, 404)
}

func TestSSOGitHubSignIn(t *testing.T) {
	e := newSSOEnv(t)
	e.configure(t)
	ten := e.NewTenant("acme")
	e.allow(t, ten, true, "github")
	start := item(t, e.logins(t, "acme"), "github").RedirectURI

	// A verified primary email of an account in the org: signed in.
	e.gh.signInAs(&ghUser{ID: 42, Login: "ada", Name: "Ada Admin", Emails: []ghEmail{
		{Email: "ada@elsewhere.example", Verified: true},
		{Email: strings.ToUpper(ten.AdminEmail), Primary: true, Verified: true},
	}})
	b := newBrowser(t, e.Env)
	auth := b.start(start)
	if u, _ := url.Parse(auth); u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("state") == "" ||
		u.Query().Get("redirect_uri") != "http://orgauth.test/v1/auth/sso/github/callback" {
		t.Fatalf("authorization URL: %s", auth)
	}
	r := b.get(b.toProvider(auth)).Must(t, 200)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid on the sign-in")
	}
	var tok struct{ Authorization string }
	r.JSON(t, &tok)
	var info struct{ UserUID, OrgName string }
	e.Do("GET", "/v1/users/info", nil, "Authorization", tok.Authorization).Must(t, 200).JSON(t, &info)
	if info.UserUID != ten.AdminUID || info.OrgName != "acme" {
		t.Fatalf("signed in as %+v", info)
	}
	// Same token and session as password sign-in: refresh works.
	e.Do("GET", "/v1/auth/refresh/"+tok.Authorization+"?setCookie=false", nil).Must(t, 200)

	// A browser gets the cookie and lands on the requested same-origin path.
	b = newBrowser(t, e.Env)
	r = b.get(b.toProvider(b.start(start+"&redirect=/projects%3Fx=1")), "Accept", "text/html,application/xhtml+xml")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "http://orgauth.test/projects?x=1" {
		t.Fatalf("browser: %d %s", r.Status, r.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "Authorization" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("auth cookie: %+v", cookie)
	}
	e.Do("GET", "/v1/users/info", nil, "Cookie", "Authorization="+cookie.Value).Must(t, 200)

	// Unverified, missing, unknown, disabled: 401, no token, no session.
	uid, _ := e.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	fails := map[string]*ghUser{
		"unverified": {ID: 43, Login: "mallory", Emails: []ghEmail{{Email: ten.AdminEmail, Primary: true, Verified: false}}},
		"no emails":  {ID: 44, Login: "ghost"},
		"unknown":    {ID: 45, Login: "stranger", Emails: []ghEmail{{Email: "stranger@example.com", Primary: true, Verified: true}}},
	}
	for name, u := range fails {
		e.gh.signInAs(u)
		r := newBrowser(t, e.Env).signIn(start)
		if r.Status != 401 || strings.Contains(string(r.Body), "Authorization\"") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
		if c := r.Header.Get("Set-Cookie"); strings.Contains(c, "Authorization=") {
			t.Errorf("%s: cookie set: %s", name, c)
		}
	}
	e.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}}, "Authorization", ten.AdminToken).Must(t, 204)
	e.gh.signInAs(&ghUser{ID: 46, Login: "bob", Emails: []ghEmail{{Email: "bob@acme.example.com", Primary: true, Verified: true}}})
	newBrowser(t, e.Env).signIn(start).Must(t, 401)

	// The provider's error: a clear error, the flow used up.
	b = newBrowser(t, e.Env)
	auth = b.start(start)
	state := mustQuery(t, auth, "state")
	r = b.get(e.URL+"/v1/auth/sso/github/callback?error=access_denied&error_description=The+user+said+no%3Cscript%3E&state="+state).Must(t, 401)
	if !strings.Contains(string(r.Body), "access_denied: The user said no") {
		t.Errorf("provider error: %s", r.Body)
	}
	b.get(e.URL+"/v1/auth/sso/github/callback?code=x&state="+state).Must(t, 400)
	// Unknown app.
	b.get(e.URL+"/v1/auth/sso/gitlab/start?org=acme").Must(t, 404)
	newBrowser(t, e.Env).get(e.URL+"/v1/auth/sso/google/start?org=acme").Must(t, 404) // not offered by acme
	// Logs never show the code or state.
	if strings.Contains(e.Logs.String(), state) {
		t.Error("state in the log")
	}
}

func mustQuery(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

func TestSSOOIDCSignIn(t *testing.T) {
	e := newSSOEnv(t)
	e.configure(t)
	ten := e.NewTenant("acme")
	e.allow(t, ten, true, "google")
	start := item(t, e.logins(t, "acme"), "google").RedirectURI
	e.op.addUser("u1", ten.AdminEmail, true)
	e.op.signInAs("u1")
	b := newBrowser(t, e.Env)
	auth := b.start(start)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if mustQuery(t, auth, p) == "" {
			t.Fatalf("authorization request without %s: %s", p, auth)
		}
	}
	r := b.get(b.toProvider(auth)).Must(t, 200)
	var tok struct{ Authorization string }
	r.JSON(t, &tok)
	var info struct{ UserUID string }
	e.Do("GET", "/v1/users/info", nil, "Authorization", tok.Authorization).Must(t, 200).JSON(t, &info)
	if info.UserUID != ten.AdminUID {
		t.Fatalf("signed in as %s", info.UserUID)
	}
	// Security 25: an IdP account asserting the admin's email unverified gets nothing.
	e.op.addUser("u2", ten.AdminEmail, false)
	e.op.signInAs("u2")
	r = newBrowser(t, e.Env).signIn(start).Must(t, 401)
	if !strings.Contains(string(r.Body), "verified email") {
		t.Errorf("unverified: %s", r.Body)
	}
	// Without an org: the only account with that email among orgs offering google.
	e.op.signInAs("u1")
	newBrowser(t, e.Env).signIn(item(t, e.logins(t, ""), "google").RedirectURI).Must(t, 200)
}

// A changed secret takes effect at the next sign-in, even within the same
// millisecond as the previous change.
func TestSSOSecretChangeTakesEffect(t *testing.T) {
	e := newSSOEnv(t)
	e.configure(t)
	ten := e.NewTenant("acme")
	e.allow(t, ten, true, "github")
	start := item(t, e.logins(t, "acme"), "github").RedirectURI
	e.gh.signInAs(&ghUser{ID: 5, Login: "ada", Emails: []ghEmail{{Email: ten.AdminEmail, Primary: true, Verified: true}}})
	newBrowser(t, e.Env).signIn(start).Must(t, 200)
	cfg := e.config(true, true)
	cfg["authSpec"].(map[string]any)["github"].(map[string]any)["clientSecretKey"] = "a-wrong-secret"
	e.put(t, cfg).Must(t, 204)
	newBrowser(t, e.Env).signIn(start).Must(t, 401) // GitHub refuses the wrong secret
	e.put(t, e.config(true, true)).Must(t, 204)
	newBrowser(t, e.Env).signIn(start).Must(t, 200)
}
