package http_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgauth/orgauth/internal/apitest"
)

// This file holds the identity providers the social login tests sign in with,
// on loopback: a GitHub (OAuth app flow and the user and emails API) and a real
// OpenID Provider (zitadel/oidc's op package).

// ghEmail is one address of a GitHub account.
type ghEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// ghUser is an account of the fake GitHub.
type ghUser struct {
	ID     int64
	Login  string
	Name   string
	Emails []ghEmail
}

// fakeGitHub implements GitHub's authorize and token endpoints and the user and
// emails API, checking client credentials, redirect URI, PKCE and single-use codes.
type fakeGitHub struct {
	srv                 *httptest.Server
	clientID, secret    string
	mu                  sync.Mutex
	next                *ghUser // who signs in at the next authorize
	codes               map[string]ghCode
	tokens              map[string]*ghUser
	exchanges           int
	lastChallengeMethod string
}

type ghCode struct {
	user      *ghUser
	challenge string
	redirect  string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{clientID: "gh-client", secret: "gh-secret-value", codes: map[string]ghCode{}, tokens: map[string]*ghUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.token)
	mux.HandleFunc("GET /api/user", g.api(func(u *ghUser) any { return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name} }))
	mux.HandleFunc("GET /api/user/emails", g.api(func(u *ghUser) any {
		if u.Emails == nil {
			return []ghEmail{}
		}
		return u.Emails
	}))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) signInAs(u *ghUser) {
	g.mu.Lock()
	g.next = u
	g.mu.Unlock()
}

func (g *fakeGitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.clientID || q.Get("state") == "" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorize request", 400)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastChallengeMethod = q.Get("code_challenge_method")
	code := fmt.Sprintf("code-%d", len(g.codes)+1)
	g.codes[code] = ghCode{user: g.next, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (g *fakeGitHub) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	answer := func(v any) { json.NewEncoder(w).Encode(v) }
	if r.Form.Get("client_id") != g.clientID || r.Form.Get("client_secret") != g.secret {
		answer(map[string]string{"error": "incorrect_client_credentials"})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.exchanges++
	c, ok := g.codes[r.Form.Get("code")]
	delete(g.codes, r.Form.Get("code"))
	if !ok || c.user == nil {
		answer(map[string]string{"error": "bad_verification_code"})
		return
	}
	sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		answer(map[string]string{"error": "bad_verification_code", "error_description": "PKCE verification failed"})
		return
	}
	if r.Form.Get("redirect_uri") != "" && r.Form.Get("redirect_uri") != c.redirect {
		answer(map[string]string{"error": "redirect_uri_mismatch"})
		return
	}
	tok := fmt.Sprintf("gho_%d_%s", c.user.ID, r.Form.Get("code"))
	g.tokens[tok] = c.user
	answer(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
}

func (g *fakeGitHub) api(body func(*ghUser) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		u := g.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		g.mu.Unlock()
		if u == nil {
			http.Error(w, `{"message":"Bad credentials"}`, 401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body(u))
	}
}

// opUsers is the user store of the test OpenID Provider.
type opUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (s *opUsers) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

func (s *opUsers) GetUserByUsername(name string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s *opUsers) ExampleClientID() string { return "service" }

// opClient is a web client that asks for the email and profile claims in the ID
// token, as Google and Microsoft put them there.
type opClient struct{ *storage.Client }

func (opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// opStorage is the example storage of zitadel/oidc with opClient as its client.
type opStorage struct {
	*storage.Storage
	client op.Client
	id     string
}

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if id == s.id {
		return s.client, nil
	}
	return s.Storage.GetClientByClientID(ctx, id)
}

// testOP is a running OpenID Provider.
type testOP struct {
	Issuer           string
	ClientID, Secret string
	users            *opUsers
	mu               sync.Mutex
	next             string // username who signs in at the next authorize
}

// newTestOP starts an OpenID Provider on loopback whose one client may redirect to
// the callbacks given.
func newTestOP(t *testing.T, callbacks ...string) *testOP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &testOP{Issuer: "http://" + ln.Addr().String(), ClientID: "orgauth-" + strings.ReplaceAll(ln.Addr().String(), ":", "-"), Secret: "op-client-secret",
		users: &opUsers{users: map[string]*storage.User{}}}
	client := storage.WebClient(o.ClientID, o.Secret, callbacks...)
	st := &opStorage{Storage: storage.NewStorageWithClients(o.users, map[string]*storage.Client{o.ClientID: client}), client: opClient{client}, id: o.ClientID}
	var key [32]byte
	copy(key[:], "test op crypto key, 32 bytes!!!!")
	provider, err := op.NewProvider(&op.Config{CryptoKey: key, CodeMethodS256: true}, st, op.StaticIssuer(o.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	// The login UI: signs in whoever the test chose, then back to the provider.
	mux.HandleFunc("/login/username", func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		o.mu.Lock()
		name := o.next
		o.mu.Unlock()
		u := o.users.GetUserByUsername(name)
		if u == nil {
			http.Error(w, "no such user", 400)
			return
		}
		if err := st.CheckUsernamePassword(u.Username, u.Password, id); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		http.Redirect(w, r, o.Issuer+"/authorize/callback?id="+url.QueryEscape(id), http.StatusFound)
	})
	mux.Handle("/", provider)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return o
}

// addUser adds an account to the provider.
func (o *testOP) addUser(id, email string, verified bool) {
	o.users.mu.Lock()
	o.users.users[id] = &storage.User{ID: id, Username: id, Password: "pw-" + id, FirstName: "Op", LastName: "User", Email: email, EmailVerified: verified}
	o.users.mu.Unlock()
}

func (o *testOP) signInAs(id string) {
	o.mu.Lock()
	o.next = id
	o.mu.Unlock()
}

// browser follows a social sign-in like a browser would, keeping cookies per
// host by hand (the binding cookie is __Host-, Secure, and the test server is
// plain http), never following redirects on its own.
type browser struct {
	t      *testing.T
	env    *apitest.Env
	client *http.Client
	sso    string // the binding cookie's value
}

func newBrowser(t *testing.T, env *apitest.Env) *browser {
	return &browser{t: t, env: env, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// orgauthURL turns a URL of orgauth's public URL into one of the test server.
func (b *browser) orgauthURL(u string) string {
	return strings.Replace(u, "http://orgauth.test", b.env.URL, 1)
}

// get sends a GET and checks the answer against the spec (redirects carry no
// body the spec describes).
func (b *browser) get(u string, headers ...string) *apitest.Response {
	b.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if b.sso != "" && strings.HasPrefix(u, b.env.URL) {
		req.AddCookie(&http.Cookie{Name: "__Host-orgauth_sso", Value: b.sso})
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if strings.HasPrefix(u, b.env.URL) && (res.StatusCode < 300 || res.StatusCode >= 400) {
		path := strings.TrimPrefix(u, b.env.URL)
		path, _, _ = strings.Cut(path, "?")
		if err := apitest.CheckResponse("GET", path, res.StatusCode, body); err != nil {
			b.t.Errorf("spec: %v", err)
		}
	}
	for _, c := range res.Cookies() {
		if c.Name == "__Host-orgauth_sso" && strings.HasPrefix(u, b.env.URL) {
			if c.MaxAge < 0 {
				b.sso = ""
			} else {
				b.sso = c.Value
			}
		}
	}
	return &apitest.Response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// start opens a catalogue redirectUri and returns the provider's authorization URL.
func (b *browser) start(redirectURI string) string {
	b.t.Helper()
	r := b.get(b.orgauthURL(redirectURI))
	if r.Status != http.StatusFound {
		b.t.Fatalf("start: status %d: %s", r.Status, r.Body)
	}
	return r.Header.Get("Location")
}

// toProvider follows the provider's redirects until it sends the browser back to
// orgauth, and returns that callback URL (on the test server).
func (b *browser) toProvider(authURL string) string {
	b.t.Helper()
	u := authURL
	for range 10 {
		if strings.HasPrefix(u, "http://orgauth.test") {
			return b.orgauthURL(u)
		}
		r := b.get(u)
		loc := r.Header.Get("Location")
		if r.Status/100 != 3 || loc == "" {
			b.t.Fatalf("provider at %s: status %d: %s", u, r.Status, r.Body)
		}
		next, err := url.Parse(u)
		if err != nil {
			b.t.Fatal(err)
		}
		ref, err := next.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		u = ref.String()
	}
	b.t.Fatal("too many redirects at the provider")
	return ""
}

// signIn runs a whole sign-in from a redirectUri and returns the callback's answer.
func (b *browser) signIn(redirectURI string, headers ...string) *apitest.Response {
	b.t.Helper()
	return b.get(b.toProvider(b.start(redirectURI)), headers...)
}
