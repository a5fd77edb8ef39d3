package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/orgauth/orgauth"
)

// This file holds the social sign-in itself: the start endpoint the catalogue's
// redirectUri points at, and the callback the provider sends the browser back to.

// ssoFlowTTL is how long a started sign-in may take.
const ssoFlowTTL = 10 * time.Minute

// ssoCookie names the cookie that binds a sign-in to the browser that started it.
// Outside development it has the __Host- prefix: Secure, path /, no domain, so a
// sibling subdomain cannot plant one.
func (s *Server) ssoCookie() string {
	if s.cfg.Dev {
		return "orgauth_sso"
	}
	return "__Host-orgauth_sso"
}

// randomString returns 256 random bits, base64url.
func randomString() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sha(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// ssoStart starts a social sign-in: it records the flow (state, browser binding,
// org, app, landing path), sets the binding cookie and sends the browser to the
// provider. Beyond the spec: the catalogue's redirectUri points here, so listing
// the logins stays a read and every click gets a fresh state.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) error {
	ctx, name, q := r.Context(), r.PathValue("ssoApp"), r.URL.Query()
	app, err := s.enabledApp(ctx, name)
	if err != nil {
		return err
	}
	t, err := s.resolveOrg(r, q.Get("org"))
	if err != nil {
		return err
	}
	if t != nil {
		ok, err := s.orgAllows(ctx, t, name)
		if err != nil {
			return err
		}
		if !ok {
			return orgauth.Errorf(orgauth.ENOTFOUND, "this organization does not offer sign-in with %s", app.displayName)
		}
	}
	landing := s.cfg.SSOPostLoginPath
	if v, ok := q["redirect"]; ok {
		if landing, err = safeRedirectPath(strings.Join(v, "")); err != nil || len(v) != 1 {
			return orgauth.Errorf(orgauth.EINVALID, "redirect must be a path of this site, like /home")
		}
	}
	conn, err := s.ssoConnector(ctx, app)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	state, browser := randomString(), randomString()
	flow := &orgauth.SSOFlow{
		ID: hex.EncodeToString(sha(state)), App: name, BrowserHash: sha(browser),
		RedirectPath: landing, CreatedAt: now, ExpiresAt: now.Add(ssoFlowTTL),
	}
	if t != nil {
		flow.TenantID = t.ID
	}
	if err := s.store.CreateSSOFlow(ctx, flow); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.ssoCookie(), Value: browser, Path: "/", MaxAge: int(ssoFlowTTL / time.Second),
		HttpOnly: true, Secure: !s.cfg.Dev, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, conn.AuthURL(state, s.ssoNonce(state), s.ssoVerifier(state)), http.StatusFound)
	return nil
}

// errSSOAccount is the answer when a verified identity has no usable account:
// none with that email in the org, or a disabled one.
var errSSOAccount = orgauth.Errorf(orgauth.ECREDENTIALS, "this sign-in does not match an active account of the organization")

// ssoCallback finishes a social sign-in: the state must name a flow this
// browser started for this app (it is used up whatever follows), the code is
// redeemed with the flow's PKCE verifier, the provider must vouch for the email,
// and the account with that email in the flow's org signs in.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) error {
	ctx, name, q := r.Context(), r.PathValue("ssoApp"), r.URL.Query()
	now := s.cfg.Now()
	state := q.Get("state")
	var flow *orgauth.SSOFlow
	if state != "" && len(state) <= 256 {
		f, err := s.store.TakeSSOFlow(ctx, hex.EncodeToString(sha(state)), now)
		if err != nil && !isNotFound(err) {
			return err
		}
		flow = f
	}
	clearCookie := &http.Cookie{Name: s.ssoCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: !s.cfg.Dev, SameSite: http.SameSiteLaxMode}
	if flow != nil {
		http.SetCookie(w, clearCookie)
	}
	if e := q.Get("error"); e != "" {
		msg := printable(e, 64)
		if d := printable(q.Get("error_description"), 200); d != "" {
			msg += ": " + d
		}
		return orgauth.Errorf(orgauth.ECREDENTIALS, "the provider did not sign you in (%s)", msg)
	}
	switch {
	case state == "":
		return orgauth.Errorf(orgauth.EINVALID, "state is missing: start the sign-in again")
	case flow == nil:
		return orgauth.Errorf(orgauth.EINVALID, "this sign-in is unknown, already used or expired: start it again")
	case flow.App != name:
		return orgauth.Errorf(orgauth.EINVALID, "this answer reached the callback of another provider than the sign-in was started with")
	}
	c, err := r.Cookie(s.ssoCookie())
	if err != nil || subtle.ConstantTimeCompare(sha(c.Value), flow.BrowserHash) != 1 {
		return orgauth.Errorf(orgauth.EINVALID, "this sign-in was started in another browser: start it again here")
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return orgauth.Errorf(orgauth.EINVALID, "code is missing")
	}
	app, err := s.enabledApp(ctx, name)
	if err != nil {
		return err
	}
	conn, err := s.ssoConnector(ctx, app)
	if err != nil {
		return err
	}
	id, err := conn.Identify(ctx, code, s.ssoNonce(state), s.ssoVerifier(state))
	if err != nil {
		s.log.WarnContext(ctx, "social sign-in refused", "app", name, "err", err, "request_id", requestID(ctx))
		return orgauth.Errorf(orgauth.ECREDENTIALS, "%s could not confirm who signed in", app.displayName)
	}
	if id.Subject == "" || len(id.Subject) > 255 {
		return orgauth.Errorf(orgauth.ECREDENTIALS, "%s could not confirm who signed in", app.displayName)
	}
	if id.Email == "" || !id.EmailVerified {
		return orgauth.Errorf(orgauth.ECREDENTIALS, "%s did not vouch for a verified email address", app.displayName)
	}
	t, u, link, err := s.ssoAccount(ctx, flow, name, id)
	if err != nil {
		return err
	}
	var sess *orgauth.Session
	var rec *orgauth.AuditRecord
	err = s.store.Update(ctx, func(tx orgauth.Queries) error {
		if !u.Activated {
			// An invited user who proves the address with a provider is activated.
			act := *u
			act.Activated, act.UpdatedAt = true, now
			if err := tx.InTenant(t.ID).UpdateUser(ctx, &act); err != nil {
				return err
			}
		}
		if link {
			err := tx.InTenant(t.ID).CreateSSOLink(ctx, &orgauth.SSOLink{App: name, Subject: id.Subject, UserID: u.ID, CreatedAt: now})
			if orgauth.ErrorCode(err) == orgauth.ECONFLICT {
				return orgauth.Errorf(orgauth.ECREDENTIALS, "this account signs in with another %s account", app.displayName)
			}
			if err != nil {
				return err
			}
		}
		// A social sign-in is no password attempt: it clears the failure count
		// and lock the password attempts left.
		if err := tx.InTenant(t.ID).LoginSucceeded(ctx, u.ID, now); err != nil {
			return err
		}
		var err error
		sess, rec, err = s.openSession(ctx, r, tx, t, u)
		return err
	})
	if err != nil {
		return err
	}
	tok, err := s.signedIn(w, t, u, sess, rec)
	if err != nil {
		return err
	}
	if !acceptsHTML(r) {
		writeJSON(w, http.StatusOK, v1UserToken{Authorization: tok.raw})
		return nil
	}
	// The browser came back from the provider (a cross-site navigation): the state
	// bound to this browser is what protects against login CSRF here.
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: tok.raw, Path: "/",
		Expires: tok.expires, HttpOnly: true, Secure: !s.cfg.Dev, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, s.cfg.PublicURL+flow.RedirectPath, http.StatusSeeOther)
	return nil
}

// ssoAccount finds the account that signs in, in the flow's org or, for a flow
// started without one, in the one org that offers the app and has an account
// with the email. Within the org the provider account's link decides (users
// are keyed by app and subject); without a link, the account with the verified
// email signs in and link reports that the link is to be recorded.
func (s *Server) ssoAccount(ctx context.Context, flow *orgauth.SSOFlow, app string, id orgauth.SSOIdentity) (t *orgauth.Tenant, u *orgauth.User, link bool, err error) {
	usable := func(t *orgauth.Tenant, u *orgauth.User) (bool, error) {
		if u.Disabled {
			return false, nil
		}
		return s.orgAllows(ctx, t, app)
	}
	if flow.TenantID != "" {
		if t, err = s.tenantByID(ctx, flow.TenantID); err != nil {
			return nil, nil, false, orNotFound(err, errSSOAccount)
		}
	} else if t, err = s.ssoTenantByEmail(ctx, app, id.Email, usable); err != nil {
		return nil, nil, false, err
	}
	tq := s.store.InTenant(t.ID)
	l, err := tq.SSOLink(ctx, app, id.Subject)
	switch {
	case err == nil:
		u, err = tq.User(ctx, l.UserID)
	case isNotFound(err):
		link = true
		u, err = tq.UserByEmail(ctx, id.Email)
	}
	if err != nil {
		return nil, nil, false, orNotFound(err, errSSOAccount)
	}
	if ok, err := usable(t, u); err != nil || !ok {
		return nil, nil, false, orErr(err, errSSOAccount)
	}
	return t, u, link, nil
}

// ssoTenantByEmail finds the one org that offers the app and has a usable
// account with the email.
func (s *Server) ssoTenantByEmail(ctx context.Context, app, email string, usable func(*orgauth.Tenant, *orgauth.User) (bool, error)) (*orgauth.Tenant, error) {
	users, err := s.store.UsersByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	var found *orgauth.Tenant
	for _, u := range users {
		t, err := s.tenantByID(ctx, u.TenantID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ok, err := usable(t, u)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if found != nil {
			return nil, orgauth.Errorf(orgauth.EINVALID, "this email has accounts in several organizations: start the sign-in from your organization's login page")
		}
		found = t
	}
	if found == nil {
		return nil, errSSOAccount
	}
	return found, nil
}

// orNotFound returns otherwise for ENOTFOUND, else err.
func orNotFound(err, otherwise error) error {
	if isNotFound(err) {
		return otherwise
	}
	return err
}

func orErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// acceptsHTML reports whether the client is a browser navigating (Accept names
// text/html), rather than an API client.
func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// ValidRedirectPath reports whether p may be where a browser lands after a
// sign-in: a path of this site only (see safeRedirectPath).
func ValidRedirectPath(p string) error {
	_, err := safeRedirectPath(p)
	return err
}

// safeRedirectPath accepts only a path of this site: it starts with one "/", has
// no backslash, no control character, no scheme or host however encoded.
func safeRedirectPath(p string) (string, error) {
	bad := orgauth.Errorf(orgauth.EINVALID, "not a path of this site")
	if p == "" || len(p) > 1024 || p[0] != '/' {
		return "", bad
	}
	dec := p
	for range 3 { // undo layers of percent-encoding an attacker may stack
		d, err := url.PathUnescape(dec)
		if err != nil {
			return "", bad
		}
		if d == dec {
			break
		}
		dec = d
	}
	for _, v := range []string{p, dec} {
		if strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\") ||
			strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return "", bad
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", bad
	}
	return p, nil
}

// printable keeps the printable ASCII of s, at most n bytes: provider error
// texts are shown, never trusted.
func printable(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String()
}
