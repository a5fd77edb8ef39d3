// Package http serves the Palette v1 identity API over HTTP. Every operation is
// declared in routes.go with the access it needs; handlers live in one file per
// area (auth.go, tenants.go, users.go, apikeys.go); errors become HTTP answers in
// errors.go and nowhere else.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/token"
)

// Config is what the server needs to know about its deployment.
type Config struct {
	PublicURL  string // base URL people reach orgauth at, e.g. https://auth.example.com
	RootDomain string // when set, <org>.<RootDomain> names an org
	Dev        bool   // plain-HTTP development: cookies without Secure

	SessionIdle   time.Duration // refresh fails after this long without sign-in or refresh
	SessionMax    time.Duration // absolute session lifetime
	ActivationTTL time.Duration // lifetime of an activation link
	ResetTTL      time.Duration // lifetime of a password reset link

	// Rate limits per client address, requests per second and burst. Zero rate
	// disables a limit.
	AuthRate, AuthBurst   float64 // /v1/auth/* and admin collections
	ResetRate, ResetBurst float64 // password reset and forgotten-org mail requests

	// Social logins (http/sso.go): GitHub's base URLs (default github.com) and
	// where a browser lands after signing in.
	GitHubURL, GitHubAPIURL string
	SSOPostLoginPath        string // default "/"

	Now func() time.Time // the clock; tests pass a fake one
}

func (c *Config) defaults() {
	if c.SessionIdle == 0 {
		c.SessionIdle = 240 * time.Minute
	}
	if c.SessionMax == 0 {
		c.SessionMax = 24 * time.Hour
	}
	if c.ActivationTTL == 0 {
		c.ActivationTTL = 7 * 24 * time.Hour
	}
	if c.ResetTTL == 0 {
		c.ResetTTL = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SSOPostLoginPath == "" {
		c.SSOPostLoginPath = "/"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
}

// Server is the HTTP face of orgauth.
type Server struct {
	cfg       Config
	store     orgauth.Store
	issuer    *token.Issuer
	hasher    *password.Hasher
	outbox    Outbox // nil: nobody to kick; queued mail waits for a poll
	masterKey []byte
	log       *slog.Logger
	bus       Bus
	handler   http.Handler
	origin    string // scheme://host of PublicURL, for CSRF checks

	tenants    *cache[string, *orgauth.Tenant] // by name
	tenantIDs  *cache[string, *orgauth.Tenant] // by id
	sessions   *cache[string, *orgauth.Session]
	users      *cache[string, *orgauth.User]           // tenantID/userID
	apiKeys    *cache[string, *orgauth.APIKey]         // by hash
	verified   *cache[string, token.Claims]            // by raw token
	grantCache *cache[string, grant]                   // tenantID/userID: every role the user holds
	policies   *cache[string, *orgauth.PasswordPolicy] // tenantID: the policy in force
	epochs     sync.Map                                // tenantID -> *atomic.Uint64, see authzEpoch
	tenantN    atomic.Int64                            // customer tenants, -1 when unknown
	keysLoaded atomic.Int64                            // unix nanoseconds of the last reload of signing keys
	authLimit  *limiter
	resetLimit *limiter
	instance   string    // random name of this instance in messages to the others
	sso        *ssoState // social logins (sso.go)
}

// Deps are the collaborators of the server.
type Deps struct {
	Store     orgauth.Store
	Issuer    *token.Issuer
	Hasher    *password.Hasher
	Outbox    Outbox // the mail worker, kicked when a request queued mail
	MasterKey []byte
	Log       *slog.Logger
	Bus       Bus // nil promises a single instance: no other writes the store (see settingsTTL)
}

// settingsTTL is how long the caches of tenant-wide settings (tenants, the password
// policy in force, social login choices) keep an entry. Every sign-in reads them,
// and they change rarely. With other instances (a bus), 5 seconds bounds how long
// a change whose invalidation was lost goes unseen. Alone, every change goes
// through this instance, which drops the entries it makes stale at once, so the
// entries live for 10 minutes: only to bound the memory of tenants no longer used.
// The sqlite store serves one instance: serve refuses a second on the same file.
func settingsTTL(bus Bus) time.Duration {
	if bus != nil {
		return 5 * time.Second
	}
	return 10 * time.Minute
}

// NewServer returns the HTTP handler of the whole API.
func NewServer(cfg Config, d Deps) *Server {
	cfg.defaults()
	s := &Server{
		cfg: cfg, store: d.Store, issuer: d.Issuer, hasher: d.Hasher, outbox: d.Outbox,
		masterKey: d.MasterKey, log: d.Log, bus: d.Bus, instance: orgauth.NewID(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		s.origin = u.Scheme + "://" + u.Host
	}
	now := cfg.Now
	settings := settingsTTL(d.Bus)
	s.tenants = newCache[string, *orgauth.Tenant](100_000, settings, now)
	s.tenantIDs = newCache[string, *orgauth.Tenant](100_000, settings, now)
	s.sessions = newCache[string, *orgauth.Session](200_000, 5*time.Second, now)
	s.users = newCache[string, *orgauth.User](200_000, 5*time.Second, now)
	s.apiKeys = newCache[string, *orgauth.APIKey](100_000, 5*time.Second, now)
	// Verified signatures save an Ed25519 verification (~50 µs) on hot tokens;
	// a few thousand cover them, where tens of thousands of tokens seen once (every
	// refresh makes one) would only hold memory.
	s.verified = newCache[string, token.Claims](8192, time.Hour, now)
	s.grantCache = newCache[string, grant](200_000, 5*time.Second, now)
	s.policies = newCache[string, *orgauth.PasswordPolicy](100_000, settings, now)
	s.tenantN.Store(-1)
	s.authLimit = newLimiter(cfg.AuthRate, cfg.AuthBurst, now)
	s.resetLimit = newLimiter(cfg.ResetRate, cfg.ResetBurst, now)
	s.sso = newSSOState(d.MasterKey, settings, now)

	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.handle(rt))
	}
	s.handler = s.logRequests(s.orNotFound(mux))
	return s
}

// orNotFound answers what no route matches in the error shape: 405 with Allow when
// the path exists with other methods, else 404.
func (s *Server) orNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			other := *r
			other.Method = m
			if _, pattern := mux.Handler(&other); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			s.writeError(w, r, orgauth.Errorf(orgauth.ENOTFOUND, "no such operation: %s %s", r.Method, redactPath(r.URL.Path)))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, orgauth.Errorf(orgauth.EMETHOD, "%s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")))
	})
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Sweep drops idle rate-limit state; the caller runs it periodically.
func (s *Server) Sweep() {
	s.authLimit.sweep()
	s.resetLimit.sweep()
}

// keepMail is how long sent and given-up mail stays in the outbox (without its
// content, which goes when it is sent or given up), for operators to look into
// deliveries.
const keepMail = 7 * 24 * time.Hour

// collectAfter is how long after a session or token ended CollectGarbage
// deletes it: a margin for instances whose clocks or idle limits differ (one
// still accepting what another thinks ended), and a while to look into a
// revocation.
const collectAfter = time.Hour

// CollectGarbage deletes from the store what can never be used again: sessions
// and activation and reset tokens that ended an hour ago or more, and mail sent
// or given up more than a week ago. Several instances may run it at once. The
// caller runs it periodically.
func (s *Server) CollectGarbage(ctx context.Context) (orgauth.Collected, error) {
	return s.store.GarbageCollect(ctx, orgauth.Collect{
		Now: s.cfg.Now().Add(-collectAfter), SessionIdle: s.cfg.SessionIdle, KeepMail: keepMail,
	})
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyRoute
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests gives every request an id (X-Request-Id), recovers panics as 500,
// sets the headers every answer carries and logs one line per request with any
// token in the path or query redacted.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", v, "request_id", id)
				if sw.status == 0 {
					s.writeError(sw, r, orgauth.Errorf(orgauth.EINTERNAL, "internal error"))
				}
			}
			if s.log.Enabled(r.Context(), slog.LevelInfo) {
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("method", r.Method),
					slog.String("path", redactPath(r.URL.Path)),
					slog.String("query", redactQuery(r.URL.Query())),
					slog.Int("status", sw.status),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", id),
					slog.String("client", clientAddr(r)))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// secretSegments are path segments followed by a secret.
var secretSegments = []string{"/v1/auth/refresh/", "/v1/auth/password/"}

// redactPath replaces the secret of paths that carry one.
func redactPath(p string) string {
	for _, prefix := range secretSegments {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			_, tail, _ := strings.Cut(rest, "/")
			if tail != "" {
				tail = "/" + tail
			}
			return prefix + "REDACTED" + tail
		}
	}
	if len(p) > 256 {
		return p[:256] + "…"
	}
	return p
}

// secretParams are query parameters that carry secrets.
var secretParams = map[string]bool{"token": true, "code": true, "state": true, "apiKey": true, "password": true,
	"emailId": true} // an address asking for its organizations is personal data

func redactQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	for k := range q {
		if secretParams[k] {
			q[k] = []string{"REDACTED"}
		}
	}
	e := q.Encode()
	if len(e) > 256 {
		e = e[:256] + "…"
	}
	return e
}

// clientAddr is the address rate limits and audit records are keyed by: the
// connection's remote IP. (Behind a proxy, run one orgauth per proxy-facing
// address or terminate at orgauth; forwarded headers are not trusted.)
func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
