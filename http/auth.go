package http

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/token"
)

// cookieName is the cookie that carries the access token for browsers.
const cookieName = "Authorization"

// Brute-force protection: consecutive failures before a lock, and its length.
const (
	maxFailures = 5
	lockFor     = 15 * time.Minute
)

// errCredentials is the one answer to every failed sign-in: unknown email, wrong
// password, locked, disabled or not yet activated account alike.
var errCredentials = orgauth.Errorf(orgauth.ECREDENTIALS, "invalid email or password")

// authenticateHandler signs a user in with email and password.
func (s *Server) authenticateHandler(w http.ResponseWriter, r *http.Request) error {
	setCookie, err := boolParam(r, "setCookie", true)
	if err != nil {
		return err
	}
	var in v1AuthLogin
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.EmailID) == "" || in.Password == "" {
		return orgauth.Errorf(orgauth.EINVALID, "emailId and password are required")
	}
	t, err := s.resolveOrg(r, in.Org)
	if err != nil && !isNotFound(err) {
		return err
	}
	if t == nil && err == nil {
		return orgauth.Errorf(orgauth.EINVALID, "org is required: this deployment has several organizations")
	}
	// The attempt (counted, or for the right password admitted and the count
	// cleared), the session and the audit record commit together: one write
	// transaction per sign-in.
	ctx := r.Context()
	var pol *orgauth.PasswordPolicy
	if t != nil {
		if pol, err = s.passwordPolicy(ctx, t.ID); err != nil {
			return err
		}
	}
	var sess *orgauth.Session
	var rec *orgauth.AuditRecord
	u, err := s.checkPassword(ctx, t, in.EmailID, in.Password, func(tx orgauth.Queries, u *orgauth.User) error {
		// A right but expired password opens no session, and the rollback
		// leaves the user's failure count as it was.
		if err := s.checkExpiry(pol, u); err != nil {
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
	return s.answerToken(w, r, tok, setCookie)
}

// openSession records, in tx, a successful sign-in of u (password or social)
// whose success the caller has recorded on the user: a new session is created
// and the audit record written.
func (s *Server) openSession(ctx context.Context, r *http.Request, tx orgauth.Queries, t *orgauth.Tenant, u *orgauth.User) (*orgauth.Session, *orgauth.AuditRecord, error) {
	now := s.cfg.Now()
	tq := tx.InTenant(t.ID)
	sess := &orgauth.Session{
		ID: orgauth.NewID(), TenantID: t.ID, UserID: u.ID,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.SessionMax),
	}
	if err := tq.CreateSession(ctx, sess); err != nil {
		return nil, nil, err
	}
	rec := s.auditRecord(ctx, r, t.ID, u.ID)
	return sess, rec, tx.AddAudit(ctx, rec)
}

// signedIn finishes a sign-in whose session committed: it names the audit record,
// refreshes the caches and signs the access token.
func (s *Server) signedIn(w http.ResponseWriter, t *orgauth.Tenant, u *orgauth.User, sess *orgauth.Session, rec *orgauth.AuditRecord) (signed, error) {
	w.Header()["AuditUid"] = []string{rec.ID}
	s.users.del(t.ID + "/" + u.ID)
	s.sessions.put(sess.ID, sess, time.Time{})
	return s.sign(t, u.ID, sess)
}

// checkPassword finds the user of email in tenant t and checks the password. Every
// failure costs one password hash and gives the same error, so neither the answer
// nor its timing tells whether the account exists. The attempt goes to the store
// after the hash is computed but before its result is used: only an attempt the
// store admits (atomically, one at a time: counted, or for the right password
// admitted unless locked) can succeed, so concurrent guesses cannot get past the
// lockout, and an attempt refused for load (ErrBusy) is no failure. When the
// attempt succeeds, then (if not nil) runs in the same transaction.
func (s *Server) checkPassword(ctx context.Context, t *orgauth.Tenant, email, password string, then func(tx orgauth.Queries, u *orgauth.User) error) (*orgauth.User, error) {
	fail := func() (*orgauth.User, error) {
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return nil, err
		}
		return nil, errCredentials
	}
	if t == nil || !t.Active || len(password) > orgauth.MaxPasswordBytes {
		return fail()
	}
	u, err := s.store.InTenant(t.ID).UserByEmail(ctx, email)
	if isNotFound(err) {
		return fail()
	}
	if err != nil {
		return nil, err
	}
	if u.PasswordHash == "" {
		return fail()
	}
	match, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	var ok bool
	err = s.store.Update(ctx, func(tx orgauth.Queries) error {
		tq := tx.InTenant(t.ID)
		var err error
		if !match || !u.Active() || then == nil {
			ok, err = tq.ReserveLoginAttempt(ctx, u.ID, maxFailures, lockFor, s.cfg.Now())
			return err // a refused attempt stays counted
		}
		// The right password of an active user: admitted unless the account is
		// locked, and the failure count cleared, in one statement.
		if ok, err = tq.PasswordLoginSucceeded(ctx, u.ID, s.cfg.Now()); err != nil || !ok {
			return err
		}
		return then(tx, u)
	})
	if err != nil {
		return nil, err
	}
	if !ok || !match || !u.Active() {
		return nil, errCredentials
	}
	return u, nil
}

// signed is an access token and when it expires.
type signed struct {
	raw     string
	expires time.Time
}

// sign issues an access token for a session: the tenant's token lifetime, never
// beyond the session's end.
func (s *Server) sign(t *orgauth.Tenant, userID string, sess *orgauth.Session) (signed, error) {
	now := s.cfg.Now()
	minutes := t.TokenExpiryMinutes
	if minutes <= 0 {
		minutes = 15
	}
	exp := now.Add(time.Duration(minutes) * time.Minute)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	raw, err := s.issuer.Sign(token.Claims{
		UserID: userID, TenantID: t.ID, OrgName: t.Name, SessionID: sess.ID,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp,
	})
	return signed{raw: raw, expires: exp}, err
}

// answerToken answers with the token and, when asked, sets the cookie.
//
// A cross-site request never gets the cookie: otherwise a page elsewhere could sign
// a visitor's browser into the page owner's account (login CSRF).
func (s *Server) answerToken(w http.ResponseWriter, r *http.Request, tok signed, setCookie bool) error {
	if setCookie && !s.crossSite(r) {
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: tok.raw, Path: "/",
			Expires: tok.expires, HttpOnly: true, Secure: !s.cfg.Dev, SameSite: http.SameSiteLaxMode,
		})
	}
	writeJSON(w, http.StatusOK, v1UserToken{Authorization: tok.raw})
	return nil
}

// refresh issues a new token for the session of a still valid token.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	setCookie, err := boolParam(r, "setCookie", true)
	if err != nil {
		return err
	}
	c, err := s.verify(r.PathValue("token"))
	if err != nil {
		return err
	}
	ctx, now := r.Context(), s.cfg.Now()
	tq := s.store.InTenant(c.TenantID)
	sess, err := tq.Session(ctx, c.SessionID)
	if err != nil {
		return unauthenticatedIfMissing(err)
	}
	if sess.UserID != c.UserID || !sess.Live(now, s.cfg.SessionIdle) {
		return errUnauthenticated
	}
	p, err := s.userPrincipal(ctx, c.TenantID, c.UserID)
	if err != nil {
		return err
	}
	gen := s.sessions.gen()
	if err := tq.TouchSession(ctx, sess.ID, now); err != nil {
		return unauthenticatedIfMissing(err)
	}
	touched := *sess
	touched.LastUsedAt = now
	s.sessions.putAt(sess.ID, &touched, time.Time{}, gen)
	tok, err := s.sign(p.Tenant, p.User.ID, &touched)
	if err != nil {
		return err
	}
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		// The browser holds another sign-in: refreshing this token must not replace it.
		if other, err := s.verify(c.Value); err != nil || other.SessionID != sess.ID {
			setCookie = false
		}
	}
	return s.answerToken(w, r, tok, setCookie)
}

// revokeTokens ends the sessions of the given tokens, or the caller's own session
// when none is given. Tokens that no longer verify are already dead and skipped;
// ending another user's session takes user.update in the same tenant.
func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	var in v1AuthTokenRevoke
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if len(in.Tokens) > 100 {
		return orgauth.Errorf(orgauth.EINVALID, "at most 100 tokens at once")
	}
	var sessions []string
	for _, raw := range in.Tokens {
		c, err := s.verify(raw)
		if err != nil || c.TenantID != p.Tenant.ID {
			continue
		}
		if c.UserID != p.User.ID && !p.has(orgauth.PermUserUpdate) {
			return orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required to revoke another user's tokens", orgauth.PermUserUpdate)
		}
		sessions = append(sessions, c.SessionID)
	}
	if len(in.Tokens) == 0 {
		if p.SessionID == "" {
			return orgauth.Errorf(orgauth.EINVALID, "tokens is required when signed in with an API key")
		}
		sessions = append(sessions, p.SessionID)
	}
	now := s.cfg.Now()
	err := s.write(w, r, p.Tenant.ID, p.User.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		for _, id := range sessions {
			if err := tq.RevokeSession(r.Context(), id, now); err != nil && !isNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.forgetSessions(r.Context(), sessions...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resolveOrg finds the organization of a request, as behavior.md orders it: the
// explicit name, else the host under the root domain, else the only tenant. It
// returns (nil, nil) when the request is ambiguous and ENOTFOUND for an unknown org.
func (s *Server) resolveOrg(r *http.Request, explicit string) (*orgauth.Tenant, error) {
	ctx := r.Context()
	name := strings.ToLower(strings.TrimSpace(explicit))
	if name == "" && s.cfg.RootDomain != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if sub, ok := strings.CutSuffix(strings.ToLower(host), "."+s.cfg.RootDomain); ok && !strings.Contains(sub, ".") {
			name = sub
		}
	}
	if name != "" {
		if validOrgName(name) != nil {
			return nil, orgauth.Errorf(orgauth.ENOTFOUND, "organization not found")
		}
		t, err := s.tenantByName(ctx, name)
		if isNotFound(err) {
			return nil, orgauth.Errorf(orgauth.ENOTFOUND, "organization not found")
		}
		return t, err
	}
	n, err := s.totalTenants(ctx)
	if err != nil || n != 1 {
		return nil, err
	}
	ts, _, err := s.store.ListTenants(ctx, orgauth.Page{Limit: 1})
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return s.tenantByName(ctx, ts[0].Name)
}

// loginURL is where the people of org t sign in.
func (s *Server) loginURL(t *orgauth.Tenant) string {
	if s.cfg.RootDomain != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Scheme != "" {
			return u.Scheme + "://" + t.Name + "." + s.cfg.RootDomain + "/login"
		}
	}
	return s.cfg.PublicURL + "/login?org=" + url.QueryEscape(t.Name)
}

// authOrg tells a login page how an organization signs in.
func (s *Server) authOrg(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("orgName")
	if name == "" {
		name = q.Get("org")
	}
	t, err := s.resolveOrg(r, name)
	if err != nil {
		return err
	}
	n, err := s.totalTenants(r.Context())
	if err != nil {
		return err
	}
	resp := v1LoginResponse{
		AppEnv: "self-hosted", RootDomain: s.cfg.RootDomain, TotalTenants: n,
		SsoLogins: []v1SsoLogin{}, AuthType: "password",
	}
	if t != nil {
		resp.OrgName = t.Name
		resp.AuthType = t.AuthType
		resp.RedirectURL = s.loginURL(t)
	}
	if resp.SsoLogins, err = s.ssoItems(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// authOrgs lists the organizations where the caller's email has an active account.
func (s *Server) authOrgs(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	users, err := s.store.UsersByEmail(r.Context(), p.User.Email)
	if err != nil {
		return err
	}
	out := v1Organizations{Organizations: []v1Organization{}}
	for _, u := range users {
		if !u.Active() {
			continue
		}
		t, err := s.tenantByID(r.Context(), u.TenantID)
		if err != nil || !t.Active || (t.System && t.ID != p.Tenant.ID) {
			continue
		}
		logins, err := s.ssoItems(r.Context(), t)
		if err != nil {
			return err
		}
		out.Organizations = append(out.Organizations, v1Organization{
			Name: t.Name, AuthType: t.AuthType, RedirectURL: s.loginURL(t), SsoLogins: logins,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// userInfo says who the caller is.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, v1UserInfo{UserUID: p.User.ID, TenantUID: p.Tenant.ID, OrgName: p.Tenant.Name})
	return nil
}

// errBadLink is the one answer to an activation or reset token that does not work.
var errBadLink = orgauth.Errorf(orgauth.ENOTFOUND, "the link is invalid or has expired")

// useToken checks a mailed token of purpose and returns its record. Unknown,
// forged, used, superseded and expired tokens all get errBadLink.
func (s *Server) useToken(ctx context.Context, purpose, raw string) (*orgauth.UserToken, error) {
	id, hash, err := token.ParseUserToken(s.masterKey, purpose, raw)
	if err != nil {
		return nil, errBadLink
	}
	ut, err := s.store.UserToken(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return nil, errBadLink
		}
		return nil, err
	}
	if ut.Purpose != purpose || subtle.ConstantTimeCompare(ut.Hash, hash) != 1 ||
		!ut.UsedAt.IsZero() || !s.cfg.Now().Before(ut.ExpiresAt) {
		return nil, errBadLink
	}
	return ut, nil
}

// boolParam reads an optional boolean query parameter.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, orgauth.Errorf(orgauth.EINVALID, "%s must be true or false", name)
	}
	return b, nil
}
