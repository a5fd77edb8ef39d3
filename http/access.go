package http

import (
	"context"
	"crypto/sha256"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/token"
)

// This file is the one place where a request's caller is identified and its access
// to an operation decided, from the access each route declares in routes.go.

// access is what an operation asks of its caller.
type access struct {
	public bool               // anyone, no credentials
	system bool               // only callers in the system tenant
	perm   orgauth.Permission // the permission needed ("" = any signed-in caller)
	self   bool               // without perm, callers may still act on themselves
	limit  limitClass         // rate limit per client address
}

type limitClass int

const (
	noLimit    limitClass = iota
	authLimit             // /v1/auth/* and admin collections
	resetLimit            // password reset and forgotten-org mails
)

// route is one operation of the API.
type route struct {
	pattern string // "METHOD /path"
	op      string // operationId in the spec, recorded in audit records
	access  access
	handler func(w http.ResponseWriter, r *http.Request) error
}

// principal is an authenticated caller.
type principal struct {
	User      *orgauth.User
	Tenant    *orgauth.Tenant
	Roles     []*orgauth.Role
	SessionID string // set when authenticated by an access token
	APIKeyID  string // set when authenticated by an API key
	Cookie    bool   // authenticated by the cookie alone
	SelfOnly  bool   // lacks the route's permission; may act on itself only
}

func (p *principal) has(perm orgauth.Permission) bool {
	for _, r := range p.Roles {
		if r.Has(perm) {
			return true
		}
	}
	return false
}

// systemAdmin reports whether the caller holds a system-scope role: only then may
// it act on other tenants.
func (p *principal) systemAdmin() bool {
	if !p.Tenant.System {
		return false
	}
	for _, r := range p.Roles {
		if r.Scope == orgauth.ScopeSystem {
			return true
		}
	}
	return false
}

// mayActOn reports whether the caller may act on the user with the given id: itself,
// or anyone in its tenant when it holds the route's permission.
func (p *principal) mayActOn(userID string) bool { return !p.SelfOnly || userID == p.User.ID }

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(keyPrincipal).(*principal)
	return p
}

func routeFrom(ctx context.Context) *route {
	rt, _ := ctx.Value(keyRoute).(*route)
	return rt
}

// handle wraps a route's handler with its rate limit, authentication and
// authorization, and turns its error into the answer.
func (s *Server) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), keyRoute, &rt)
		r = r.WithContext(ctx)
		if err := s.admit(w, r, rt); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !rt.access.public {
			p, err := s.authorize(r, rt.access)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyPrincipal, p))
		}
		if err := rt.handler(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// admit applies the route's rate limit: one bucket per client address and operation.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rt route) error {
	var l *limiter
	switch rt.access.limit {
	case authLimit:
		l = s.authLimit
	case resetLimit:
		l = s.resetLimit
	}
	if ok, wait := l.allow(limitKey(clientAddr(r)) + " " + rt.pattern); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return orgauth.Errorf(orgauth.ETOOMANY, "too many requests, retry later")
	}
	return nil
}

// authorize identifies the caller and checks the route's access. Missing or bad
// credentials: 401; a tenant path naming another tenant: 404; a missing
// permission: 403.
func (s *Server) authorize(r *http.Request, a access) (*principal, error) {
	p, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	if p.Cookie && !safeMethod(r.Method) && !s.sameOrigin(r) {
		return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "cross-site request refused: send the token in the Authorization header")
	}
	if a.system && !p.systemAdmin() {
		return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "this operation is for system administrators")
	}
	if tid := r.PathValue("tenantUid"); tid != "" && !p.systemAdmin() && tid != p.Tenant.ID {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "tenant not found")
	}
	if a.perm != "" && !p.has(a.perm) {
		if !a.self {
			return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required", a.perm)
		}
		p.SelfOnly = true
	}
	return p, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// crossSite reports whether a browser says the request comes from another site.
func (s *Server) crossSite(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site != "same-origin" && site != "none"
	}
	o := r.Header.Get("Origin")
	return o != "" && o != s.origin
}

// sameOrigin reports whether a cookie-authenticated request comes from a page of
// orgauth's own origin, as browsers tell with Sec-Fetch-Site or Origin.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	o := r.Header.Get("Origin")
	return o != "" && s.origin != "" && o == s.origin
}

var errUnauthenticated = orgauth.Errorf(orgauth.EUNAUTHORIZED, "missing or invalid credentials")

// authenticate finds the caller from the Authorization header (raw or Bearer), the
// ApiKey header, or the Authorization cookie, in that order. A credential that is
// present but bad is an error; it never falls through to the next one.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		raw := h
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			raw = strings.TrimSpace(h[7:])
		}
		return s.tokenPrincipal(r.Context(), raw)
	}
	if k := r.Header.Get("ApiKey"); k != "" {
		return s.apiKeyPrincipal(r.Context(), k)
	}
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		p, err := s.tokenPrincipal(r.Context(), c.Value)
		if err != nil {
			return nil, err
		}
		p.Cookie = true
		return p, nil
	}
	return nil, errUnauthenticated
}

// verify checks an access token, through a cache of tokens already verified.
func (s *Server) verify(raw string) (token.Claims, error) {
	if len(raw) > 8<<10 {
		return token.Claims{}, errUnauthenticated
	}
	sum := sha256.Sum256([]byte(raw))
	key := string(sum[:])
	if c, ok := s.verified.get(key); ok {
		return c, nil
	}
	c, err := s.issuer.Verify(raw)
	if err != nil && s.reloadKeys() {
		// Another instance may have made a key this one has not loaded yet.
		c, err = s.issuer.Verify(raw)
	}
	if err != nil {
		return token.Claims{}, errUnauthenticated
	}
	s.verified.put(key, c, c.ExpiresAt)
	return c, nil
}

// reloadKeys reloads the signing keys from the store, at most once a second
// whatever the traffic (a flood of forged tokens costs one read a second), and
// reports whether it did.
func (s *Server) reloadKeys() bool {
	now := time.Now().UnixNano()
	last := s.keysLoaded.Load()
	if now-last < int64(time.Second) || !s.keysLoaded.CompareAndSwap(last, now) {
		return false
	}
	if err := s.issuer.Rotate(context.Background()); err != nil {
		s.log.Warn("reloading signing keys", "err", err)
		return false
	}
	return true
}

// tokenPrincipal resolves an access token to its caller: the token must verify,
// its session must be live and its user active.
func (s *Server) tokenPrincipal(ctx context.Context, raw string) (*principal, error) {
	c, err := s.verify(raw)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	sess, err := s.session(ctx, c.TenantID, c.SessionID)
	if err != nil {
		return nil, unauthenticatedIfMissing(err)
	}
	if sess.UserID != c.UserID || !sess.Live(now, s.cfg.SessionIdle) {
		return nil, errUnauthenticated
	}
	p, err := s.userPrincipal(ctx, c.TenantID, c.UserID)
	if err != nil {
		return nil, err
	}
	p.SessionID = sess.ID
	return p, nil
}

// apiKeyPrincipal resolves an API key to its user.
func (s *Server) apiKeyPrincipal(ctx context.Context, secret string) (*principal, error) {
	hash, err := token.HashAPIKey(secret)
	if err != nil {
		return nil, errUnauthenticated
	}
	k, ok := s.apiKeys.get(string(hash))
	if !ok {
		gen := s.apiKeys.gen()
		k, err = s.store.APIKeyByHash(ctx, hash)
		if err != nil {
			if orgauth.ErrorCode(err) == orgauth.ENOTFOUND {
				return nil, errUnauthenticated
			}
			return nil, err
		}
		s.apiKeys.putAt(string(hash), k, time.Time{}, gen)
	}
	if !k.Usable(s.cfg.Now()) {
		return nil, errUnauthenticated
	}
	p, err := s.userPrincipal(ctx, k.TenantID, k.UserID)
	if err != nil {
		return nil, err
	}
	if k.CreatedBy != "" && k.CreatedBy != k.UserID {
		// A key made for another user acts with what both its owner and its
		// maker hold now: promoting the owner later gives the maker nothing.
		maker, err := s.userPrincipal(ctx, k.TenantID, k.CreatedBy)
		if err != nil {
			return nil, err
		}
		p.Roles = []*orgauth.Role{orgauth.Intersect(p.Roles, maker.Roles)}
	}
	p.APIKeyID = k.ID
	return p, nil
}

// userPrincipal loads an active user, their tenant and their roles.
func (s *Server) userPrincipal(ctx context.Context, tenantID, userID string) (*principal, error) {
	t, err := s.tenantByID(ctx, tenantID)
	if err != nil {
		return nil, unauthenticatedIfMissing(err)
	}
	// The generation is taken before the user is read: a change of the user
	// committed after that read keeps the roles computed from it out of the cache.
	gen := s.grantCache.gen()
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return nil, unauthenticatedIfMissing(err)
	}
	if !u.Active() || !t.Active {
		return nil, errUnauthenticated
	}
	roles, err := s.grants(ctx, t, u, gen)
	if err != nil {
		return nil, err
	}
	return &principal{User: u, Tenant: t, Roles: roles}, nil
}

func unauthenticatedIfMissing(err error) error {
	if orgauth.ErrorCode(err) == orgauth.ENOTFOUND {
		return errUnauthenticated
	}
	return err
}

// session returns a session through the cache.
func (s *Server) session(ctx context.Context, tenantID, id string) (*orgauth.Session, error) {
	if sess, ok := s.sessions.get(id); ok && sess.TenantID == tenantID {
		return sess, nil
	}
	gen := s.sessions.gen()
	sess, err := s.store.InTenant(tenantID).Session(ctx, id)
	if err != nil {
		return nil, err
	}
	s.sessions.putAt(id, sess, time.Time{}, gen)
	return sess, nil
}

// user returns a user through the cache.
func (s *Server) user(ctx context.Context, tenantID, id string) (*orgauth.User, error) {
	key := tenantID + "/" + id
	if u, ok := s.users.get(key); ok {
		return u, nil
	}
	gen := s.users.gen()
	u, err := s.store.InTenant(tenantID).User(ctx, id)
	if err != nil {
		return nil, err
	}
	s.users.putAt(key, u, time.Time{}, gen)
	return u, nil
}

// tenantByID returns a tenant through the cache.
func (s *Server) tenantByID(ctx context.Context, id string) (*orgauth.Tenant, error) {
	if t, ok := s.tenantIDs.get(id); ok {
		return t, nil
	}
	gen := s.tenantIDs.gen()
	t, err := s.store.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	s.tenantIDs.putAt(id, t, time.Time{}, gen)
	return t, nil
}

// tenantByName returns a tenant through the cache.
func (s *Server) tenantByName(ctx context.Context, name string) (*orgauth.Tenant, error) {
	if t, ok := s.tenants.get(name); ok {
		return t, nil
	}
	gen := s.tenants.gen()
	t, err := s.store.TenantByName(ctx, name)
	if err != nil {
		return nil, err
	}
	s.tenants.putAt(name, t, time.Time{}, gen)
	return t, nil
}

// totalTenants counts customer tenants, cached until a tenant is created or deleted.
func (s *Server) totalTenants(ctx context.Context) (int64, error) {
	if n := s.tenantN.Load(); n >= 0 {
		return n, nil
	}
	n, err := s.store.CountTenants(ctx)
	if err != nil {
		return 0, err
	}
	s.tenantN.Store(int64(n))
	return int64(n), nil
}

// page reads the limit and continue query parameters of a list operation.
func page(r *http.Request) (orgauth.Page, error) {
	q := r.URL.Query()
	p := orgauth.Page{Limit: orgauth.MaxPageSize, Continue: q.Get("continue")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, orgauth.Errorf(orgauth.EINVALID, "limit must be a whole number from 1 to %d", orgauth.MaxPageSize)
		}
		if n > 0 && n < orgauth.MaxPageSize {
			p.Limit = n
		}
	}
	if len(p.Continue) > 512 {
		return p, orgauth.Errorf(orgauth.EINVALID, "continue token is malformed")
	}
	return p, nil
}

// isNotFound reports whether err is ENOTFOUND.
func isNotFound(err error) bool {
	return err != nil && orgauth.ErrorCode(err) == orgauth.ENOTFOUND
}

// isForbidden reports whether err is EFORBIDDEN.
func isForbidden(err error) bool {
	return err != nil && orgauth.ErrorCode(err) == orgauth.EFORBIDDEN
}

// limitKey is the rate-limit identity of a client address: the address itself
// for IPv4, its /64 network for IPv6, since one host commonly holds a whole /64.
func limitKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}
