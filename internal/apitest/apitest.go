// Package apitest runs orgauth's HTTP API in-process on a real loopback listener,
// with a real SQLite file, a test clock and a mailbox, and checks every answer
// against the Palette spec. Tests of the http package and of the command use it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/bootstrap"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/mail"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/postgres"
	"github.com/orgauth/orgauth/sqlite"
	"github.com/orgauth/orgauth/token"
)

// AdminEmail and AdminPassword sign the system administrator in.
const (
	AdminEmail    = "root@example.com"
	AdminPassword = "Adm1n-Passw0rd!"
)

// store is a storage backend the environment can run on.
type store interface {
	orgauth.Store
	Migrate(ctx context.Context) error
}

// Clock is a test clock: it stands still until advanced.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at a fixed date.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Mailbox is an orgauth.Sender that keeps every message. Reading it first
// delivers whatever the outbox holds, so a test sees the mail of the requests
// it made.
type Mailbox struct {
	mu    sync.Mutex
	msgs  []*orgauth.Mail
	flush func()
}

// Send records m.
func (b *Mailbox) Send(_ context.Context, m *orgauth.Mail) error {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	return nil
}

// Messages returns the messages sent to addr, oldest first.
func (b *Mailbox) Messages(addr string) []*orgauth.Mail {
	if b.flush != nil {
		b.flush()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*orgauth.Mail
	for _, m := range b.msgs {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+[?&]token=([A-Za-z0-9_\-.%]+)`)

// LastToken returns the token of the newest link mailed to addr.
func (b *Mailbox) LastToken(t testing.TB, addr string) string {
	t.Helper()
	msgs := b.Messages(addr)
	if len(msgs) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	m := linkRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		t.Fatalf("no link in the mail to %s: %q", addr, msgs[len(msgs)-1].Text)
	}
	tok, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Options change the environment.
type Options struct {
	Dev        bool
	RootDomain string
	AuthRate   float64 // 0: no rate limit (most tests sign in often)
	AuthBurst  float64
	Hasher     *password.Config // default: cheap argon2id parameters
	// DatabaseURL selects PostgreSQL (see PostgresURL); instances given the same
	// URL share the database and tell each other of cache invalidations.
	DatabaseURL string
	Clock       *Clock // share one clock between instances; default: a new one
	Config      func(*orgauthhttp.Config)
	// Sender delivers the outbox (an SMTP sender, say); default: the Mailbox,
	// delivered to whenever the test reads it. With a Sender of its own the
	// outbox worker runs in the background as in production, polling every
	// 50 ms.
	Sender orgauth.Sender
}

// Env is one running orgauth.
type Env struct {
	T         testing.TB
	URL       string
	Clock     *Clock
	Store     orgauth.Store
	Mail      *Mailbox
	Hasher    *password.Hasher
	MasterKey []byte
	Issuer    *token.Issuer
	Logs      *bytes.Buffer // everything the server logged
	Server    *orgauthhttp.Server
	Client    *http.Client
	Outbox    *mail.Outbox
}

// New starts orgauth for the test and stops it when the test ends.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var db store
	var err error
	if o.DatabaseURL != "" {
		db, err = postgres.Open(ctx, o.DatabaseURL)
	} else {
		db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgauth.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := o.Clock
	if clock == nil {
		clock = NewClock()
	}
	key := bytes.Repeat([]byte{7}, 32)
	issuer, err := token.NewIssuer(ctx, db, token.Config{Issuer: "http://orgauth.test", Audience: "http://orgauth.test", MasterKey: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hc := password.Config{Memory: 64, Time: 1, Threads: 1}
	if o.Hasher != nil {
		hc = *o.Hasher
	}
	hasher, err := password.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrap.Run(ctx, db, hasher, AdminEmail, AdminPassword, clock.Now()); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := &Env{T: t, Clock: clock, Store: db, Mail: &Mailbox{}, Hasher: hasher, MasterKey: key, Issuer: issuer, Logs: logs}
	cfg := orgauthhttp.Config{
		PublicURL: "http://orgauth.test", RootDomain: o.RootDomain, Dev: o.Dev, Now: clock.Now,
		AuthRate: o.AuthRate, AuthBurst: o.AuthBurst,
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	pg, shared := db.(*postgres.DB)
	var bus orgauthhttp.Bus
	if shared {
		bus = pg
	}
	sender := o.Sender
	if sender == nil {
		sender = env.Mail
	}
	env.Outbox = mail.NewOutbox(db, sender, key, log, clock.Now)
	if o.Sender == nil {
		env.Mail.flush = func() {
			if _, err := env.Outbox.Deliver(ctx); err != nil {
				t.Errorf("delivering the outbox: %v", err)
			}
		}
	}
	srv := orgauthhttp.NewServer(cfg, orgauthhttp.Deps{
		Store: db, Issuer: issuer, Hasher: hasher, Outbox: env.Outbox, MasterKey: key, Log: log, Bus: bus,
	})
	env.Outbox.Expand = srv.ExpandMailRequest
	if o.Sender != nil {
		go env.Outbox.Run(ctx, 50*time.Millisecond)
	}
	if shared {
		listening := make(chan struct{})
		var once sync.Once
		go pg.Listen(ctx, srv.Invalidate, func() { srv.Flush(); once.Do(func() { close(listening) }) }, 100*time.Millisecond)
		<-listening
		go srv.ShareRateLimits(ctx, 50*time.Millisecond)
	}
	env.Server = srv
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	env.URL = ts.URL
	env.Client = ts.Client()
	return env
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Response is an answer of the server.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Code is the error code of an error answer.
func (r *Response) Code() string {
	var e struct{ Code string }
	json.Unmarshal(r.Body, &e)
	return e.Code
}

// Do sends a request and checks the answer against the spec. body is sent as JSON
// unless it is a string or []byte (sent as is); headers come in name, value pairs.
// "Authorization" with a token is the usual way to authenticate.
func (e *Env) Do(method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.Send(req)
}

// Send sends a prepared request and checks the answer against the spec.
func (e *Env) Send(req *http.Request) *Response {
	e.T.Helper()
	res, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := CheckResponse(req.Method, req.URL.Path, res.StatusCode, b); err != nil {
		e.T.Errorf("spec: %v", err)
	}
	if res.Header.Get("X-Request-Id") == "" {
		e.T.Errorf("%s %s: no X-Request-Id header", req.Method, req.URL.Path)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Must fails the test unless the answer has the given status.
func (r *Response) Must(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// Login signs in and returns the access token.
func (e *Env) Login(org, email, pw string) string {
	e.T.Helper()
	r := e.Do("POST", "/v1/auth/authenticate?setCookie=false", map[string]string{"emailId": email, "password": pw, "org": org}).Must(e.T, 200)
	var tok struct{ Authorization string }
	r.JSON(e.T, &tok)
	return tok.Authorization
}

// Admin signs the system administrator in.
func (e *Env) Admin() string { return e.Login(bootstrap.SystemOrg, AdminEmail, AdminPassword) }

// Tenant is a tenant made by NewTenant, with its activated first admin.
type Tenant struct {
	UID, Org, AdminEmail, AdminPassword, AdminToken, AdminUID string
}

// NewTenant creates a tenant as the system admin, activates its first admin from
// the invitation mail and signs them in.
func (e *Env) NewTenant(org string) *Tenant {
	e.T.Helper()
	admin := e.Admin()
	email := "admin@" + org + ".example.com"
	r := e.Do("POST", "/v1/tenants", map[string]any{
		"metadata": map[string]any{"name": org},
		"spec":     map[string]any{"orgName": org, "emailId": email, "firstName": "Ada", "lastName": "Admin"},
	}, "Authorization", admin).Must(e.T, 201)
	var uid struct{ UID string }
	r.JSON(e.T, &uid)
	pw := "Tenant-Adm1n!"
	e.Activate(email, pw)
	tok := e.Login(org, email, pw)
	var info struct{ UserUID string }
	e.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(e.T, 200).JSON(e.T, &info)
	return &Tenant{UID: uid.UID, Org: org, AdminEmail: email, AdminPassword: pw, AdminToken: tok, AdminUID: info.UserUID}
}

// Activate uses the newest activation link mailed to email to set pw.
func (e *Env) Activate(email, pw string) {
	e.T.Helper()
	tok := e.Mail.LastToken(e.T, email)
	e.Do("PATCH", "/v1/auth/password/"+url.PathEscape(tok)+"/activate", map[string]string{"password": pw}).Must(e.T, 204)
}

// NewUser creates an activated user in tenant t with the given roles and returns
// the user's uid and token.
func (e *Env) NewUser(t *Tenant, email, pw string, roles ...string) (uid, tok string) {
	e.T.Helper()
	if roles == nil {
		roles = []string{}
	}
	r := e.Do("POST", "/v1/users", map[string]any{
		"spec": map[string]any{"emailId": email, "firstName": "Test", "lastName": "User", "roles": roles},
	}, "Authorization", t.AdminToken).Must(e.T, 201)
	var id struct{ UID string }
	r.JSON(e.T, &id)
	e.Activate(email, pw)
	return id.UID, e.Login(t.Org, email, pw)
}
