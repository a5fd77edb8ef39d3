package http_test

// Black-box tests of the security requirements in docs/security.md, over real
// HTTP through apitest. Each test is named after the item it shows.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/internal/apitest"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/token"
)

// --- helpers -------------------------------------------------------------------

func secB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// secJWT splits a JWT into its decoded header and payload.
func secJWT(t testing.TB, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWT segment %q: %v", s, err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("JWT segment %s: %v", b, err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// secClaim returns a string claim of a token.
func secClaim(t testing.TB, tok, name string) string {
	t.Helper()
	_, p := secJWT(t, tok)
	s, _ := p[name].(string)
	if s == "" {
		t.Fatalf("token has no %s claim: %v", name, p)
	}
	return s
}

// secForge builds a JWT from header and payload; sign signs the signing input
// (nil: empty signature).
func secForge(t testing.TB, header, payload map[string]any, sign func(in []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	in := secB64(h) + "." + secB64(p)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	}
	return in + "." + secB64(sig)
}

func secClone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// secErr returns code and message of an error answer, checking the shape.
func secErr(t testing.TB, r *apitest.Response) (code, message string) {
	t.Helper()
	var e struct{ Code, Message, Ref string }
	r.JSON(t, &e)
	if e.Code == "" || e.Message == "" || e.Ref == "" {
		t.Fatalf("not the error shape: %s", r.Body)
	}
	return e.Code, e.Message
}

// secCookie is the header pair that sends tok as the Authorization cookie.
func secCookie(tok string) []string { return []string{"Cookie", "Authorization=" + tok} }

// secLoginRaw signs in and returns the whole answer.
func secLoginRaw(env *apitest.Env, org, email, pw string, query string) *apitest.Response {
	env.T.Helper()
	return env.Do("POST", "/v1/auth/authenticate"+query, map[string]string{"emailId": email, "password": pw, "org": org})
}

// secAlive fails unless tok authenticates.
func secAlive(t testing.TB, env *apitest.Env, tok string) {
	t.Helper()
	env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200)
}

// secDead fails unless tok is refused for access and for refresh.
func secDead(t testing.TB, env *apitest.Env, tok string) {
	t.Helper()
	r := env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 401)
	if r.Code() != orgauth.EUNAUTHORIZED {
		t.Fatalf("code %q, want %s", r.Code(), orgauth.EUNAUTHORIZED)
	}
	env.Do("GET", "/v1/auth/refresh/"+tok+"?setCookie=false", nil).Must(t, 401)
}

// secRefresh refreshes tok and returns the new token.
func secRefresh(t testing.TB, env *apitest.Env, tok string) string {
	t.Helper()
	var out struct{ Authorization string }
	env.Do("GET", "/v1/auth/refresh/"+tok+"?setCookie=false", nil).Must(t, 200).JSON(t, &out)
	if out.Authorization == "" {
		t.Fatal("refresh returned no token")
	}
	return out.Authorization
}

// secSetTokenExpiry sets the tenant's access token lifetime.
func secSetTokenExpiry(t testing.TB, env *apitest.Env, ten *apitest.Tenant, minutes int) {
	t.Helper()
	env.Do("PUT", "/v1/tenants/"+ten.UID+"/authTokenSettings", map[string]any{"expiryTimeMinutes": minutes},
		"Authorization", ten.AdminToken).Must(t, 204)
}

// secUser reads a user straight from the store.
func secUser(t testing.TB, env *apitest.Env, tid, uid string) *orgauth.User {
	t.Helper()
	u, err := env.Store.InTenant(tid).User(context.Background(), uid)
	if err != nil {
		t.Fatalf("user %s: %v", uid, err)
	}
	return u
}

// secNewAPIKey creates an API key with tok's credentials.
func secNewAPIKey(t testing.TB, env *apitest.Env, name string, spec map[string]any, creds ...string) (uid, secret string) {
	t.Helper()
	if spec == nil {
		spec = map[string]any{}
	}
	var k struct{ APIKey, UID string }
	env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": name}, "spec": spec}, creds...).Must(t, 201).JSON(t, &k)
	if k.APIKey == "" || k.UID == "" {
		t.Fatalf("no key in the answer: %+v", k)
	}
	return k.UID, k.APIKey
}

// secFilesContain reports whether any file under the temporary directories of
// top, a top-level test (where apitest keeps the SQLite database and its WAL),
// holds s, and how many database files it scanned.
func secFilesContain(top *testing.T, s string) (bool, int) {
	top.Helper()
	root := filepath.Dir(top.TempDir())
	found, files := false, 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasPrefix(info.Name(), "orgauth.db") {
			files++
		}
		if bytes.Contains(b, []byte(s)) {
			found = true
		}
		return nil
	})
	if err != nil {
		top.Fatal(err)
	}
	return found, files
}

// --- 1. Forged tokens ------------------------------------------------------------

func TestSec01_ForgedTokens(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	bobUID, _ := env.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	real := ten.AdminToken

	// The server's published key.
	var jwks struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}
	env.Do("GET", "/.well-known/jwks.json", nil).Must(t, 200).JSON(t, &jwks)
	if len(jwks.Keys) == 0 {
		t.Fatal("JWKS has no keys")
	}
	serverKey := jwks.Keys[0]
	serverPub, err := base64.RawURLEncoding.DecodeString(serverKey.X)
	if err != nil || len(serverPub) != ed25519.PublicKeySize {
		t.Fatalf("JWKS x = %q: %v", serverKey.X, err)
	}
	jwksJSON := env.Do("GET", "/.well-known/jwks.json", nil).Body

	header, payload := secJWT(t, real)
	if header["alg"] != "EdDSA" || header["kid"] != serverKey.Kid {
		t.Fatalf("real token header = %v, want EdDSA with kid %s", header, serverKey.Kid)
	}
	realSig := real[strings.LastIndexByte(real, '.')+1:]

	// Attacker keys.
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPub := edPriv.Public().(ed25519.PublicKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hs := func(key []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, key); m.Write(in); return m.Sum(nil) }
	}
	ed := func(in []byte) []byte { return ed25519.Sign(edPriv, in) }
	rs := func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	es := func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, h[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "JWT"}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	kid := serverKey.Kid
	edJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": secB64(edPub), "kid": kid}
	rsaJWK := map[string]any{"kty": "RSA", "n": secB64(rsaKey.N.Bytes()), "e": secB64(big.NewInt(int64(rsaKey.E)).Bytes()), "kid": kid}

	forged := map[string]string{
		"alg none":                  secForge(t, hdr("alg", "none", "kid", kid), payload, nil),
		"alg None":                  secForge(t, hdr("alg", "None", "kid", kid), payload, nil),
		"alg NONE with real sig":    secForge(t, hdr("alg", "NONE", "kid", kid), payload, nil) + realSig,
		"alg none no kid":           secForge(t, hdr("alg", "none"), payload, nil),
		"HS256 with raw public key": secForge(t, hdr("alg", "HS256", "kid", kid), payload, hs(serverPub)),
		"HS256 with JWKS x":         secForge(t, hdr("alg", "HS256", "kid", kid), payload, hs([]byte(serverKey.X))),
		"HS256 with JWKS document":  secForge(t, hdr("alg", "HS256", "kid", kid), payload, hs(jwksJSON)),
		"HS512 with raw public key": secForge(t, hdr("alg", "HS512", "kid", kid), payload, hs(serverPub)),
		"RS256 attacker key":        secForge(t, hdr("alg", "RS256", "kid", kid), payload, rs),
		"RS256 embedded jwk":        secForge(t, hdr("alg", "RS256", "kid", kid, "jwk", rsaJWK), payload, rs),
		"ES256 attacker key":        secForge(t, hdr("alg", "ES256", "kid", kid), payload, es),
		"EdDSA attacker, real kid":  secForge(t, hdr("alg", "EdDSA", "kid", kid), payload, ed),
		"EdDSA embedded jwk":        secForge(t, hdr("alg", "EdDSA", "kid", kid, "jwk", edJWK), payload, ed),
		"EdDSA jwk without kid":     secForge(t, hdr("alg", "EdDSA", "jwk", edJWK), payload, ed),
		"EdDSA jku":                 secForge(t, hdr("alg", "EdDSA", "kid", kid, "jku", "https://evil.example/jwks.json"), payload, ed),
		"EdDSA x5u":                 secForge(t, hdr("alg", "EdDSA", "kid", kid, "x5u", "https://evil.example/cert.pem"), payload, ed),
		"EdDSA x5c":                 secForge(t, hdr("alg", "EdDSA", "kid", kid, "x5c", []string{base64.StdEncoding.EncodeToString([]byte("not a cert"))}), payload, ed),
		"EdDSA unknown kid":         secForge(t, hdr("alg", "EdDSA", "kid", "attacker-key-1"), payload, ed),
		"EdDSA no kid":              secForge(t, hdr("alg", "EdDSA"), payload, ed),
		"kid path traversal":        secForge(t, hdr("alg", "EdDSA", "kid", "../../../../../../etc/passwd"), payload, ed),
		"kid file URL":              secForge(t, hdr("alg", "EdDSA", "kid", "file:///dev/null"), payload, ed),
		"kid SQL":                   secForge(t, hdr("alg", "EdDSA", "kid", "' OR '1'='1' --"), payload, ed),
		"kid SQL union":             secForge(t, hdr("alg", "EdDSA", "kid", kid+"' UNION SELECT public_key FROM signing_keys --"), payload, ed),
		"kid 10 KB":                 secForge(t, hdr("alg", "EdDSA", "kid", strings.Repeat("k", 10<<10)), payload, ed),
		"kid 65 bytes":              secForge(t, hdr("alg", "EdDSA", "kid", strings.Repeat("k", 65)), payload, ed),
		"kid number":                secForge(t, hdr("alg", "EdDSA", "kid", 1), payload, ed),
		"kid null":                  secForge(t, hdr("alg", "EdDSA", "kid", nil), payload, ed),
		"kid object":                secForge(t, hdr("alg", "EdDSA", "kid", map[string]any{"id": kid}), payload, ed),
		"kid NUL byte":              secForge(t, hdr("alg", "EdDSA", "kid", kid+"\x00"), payload, ed),
		"crit header":               secForge(t, hdr("alg", "EdDSA", "kid", kid, "crit", []string{"exp"}), payload, ed),
		"no signature":              real[:strings.LastIndexByte(real, '.')+1],
		"two segments":              real[:strings.LastIndexByte(real, '.')],
		"four segments":             real + "." + realSig,
		"garbage":                   "a.b.c",
		"not a JWT":                 "hello",
		"real token truncated":      real[:len(real)-2],
		"real token with a space":   real + " x",
		"signature of another":      real[:strings.LastIndexByte(real, '.')+1] + secB64(make([]byte, 64)),
	}
	// The real payload changed, the real signature kept.
	tamper := func(name string, change func(p map[string]any)) {
		p := secClone(payload)
		change(p)
		h, _ := json.Marshal(header)
		b, _ := json.Marshal(p)
		forged[name] = secB64(h) + "." + secB64(b) + "." + realSig
	}
	sysInfo := struct{ UserUID, TenantUID string }{}
	env.Do("GET", "/v1/users/info", nil, "Authorization", env.Admin()).Must(t, 200).JSON(t, &sysInfo)
	tamper("tampered sub", func(p map[string]any) { p["sub"] = bobUID })
	tamper("tampered sub to system admin", func(p map[string]any) { p["sub"] = sysInfo.UserUID })
	tamper("tampered tid", func(p map[string]any) { p["tid"] = sysInfo.TenantUID })
	tamper("tampered exp", func(p map[string]any) { p["exp"] = json.Number("4102444800") })
	tamper("tampered typ", func(p map[string]any) { p["typ"] = "refresh" })

	type probe struct {
		method, path string
		body         any
		ok           int
	}
	probes := []probe{
		{"GET", "/v1/users/info", nil, 200},
		{"GET", "/v1/users", nil, 200},
		{"GET", "/v1/users/" + bobUID, nil, 200},
		{"GET", "/v1/auth/orgs", nil, 200},
		{"POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{}}, 201},
		{"PUT", "/v1/tenants/" + ten.UID + "/loginBanner", map[string]any{"isEnabled": false, "title": "t", "Message": "m"}, 204},
	}
	modes := []struct {
		name string
		with func(tok string) []string
	}{
		{"header", func(tok string) []string { return []string{"Authorization", tok} }},
		{"bearer", func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }},
		// Same-origin, so only the token can be the reason for a refusal.
		{"cookie", func(tok string) []string { return append(secCookie(tok), "Sec-Fetch-Site", "same-origin") }},
	}

	// The real token works everywhere: the refusals below are the forgery's.
	for _, m := range modes {
		for _, p := range probes {
			env.Do(p.method, p.path, p.body, m.with(real)...).Must(t, p.ok)
		}
	}
	for name, tok := range forged {
		for _, m := range modes {
			for _, p := range probes {
				r := env.Do(p.method, p.path, p.body, m.with(tok)...)
				if r.Status != 401 || r.Code() != orgauth.EUNAUTHORIZED {
					t.Errorf("%s as %s: %s %s = %d %s, want 401 Unauthorized", name, m.name, p.method, p.path, r.Status, r.Body)
				}
			}
		}
		if r := env.Do("GET", "/v1/auth/refresh/"+url.PathEscape(tok)+"?setCookie=false", nil); r.Status != 401 {
			t.Errorf("%s: refresh = %d %s, want 401", name, r.Status, r.Body)
		}
	}
	if t.Failed() {
		return
	}
	// No forgery changed the banner written by the controls.
	var banner struct{ Title string }
	env.Do("GET", "/v1/tenants/"+ten.UID+"/loginBanner", nil, "Authorization", real).Must(t, 200).JSON(t, &banner)
	if banner.Title != "t" {
		t.Fatalf("banner title = %q", banner.Title)
	}
}

// --- 2. exp, nbf, iss, aud ------------------------------------------------------

// secMemKeys is a KeyStore of its own, for an issuer that is not the server's.
type secMemKeys struct {
	mu   sync.Mutex
	keys []*orgauth.SigningKey
}

func (m *secMemKeys) SigningKeys(_ context.Context, now time.Time) ([]*orgauth.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*orgauth.SigningKey
	for _, k := range m.keys {
		if now.Before(k.ExpiresAt) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *secMemKeys) CreateSigningKey(_ context.Context, k *orgauth.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
	return nil
}

func TestSec02_TokenTimesIssuerAudience(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	tok := ten.AdminToken
	base := token.Claims{
		UserID: secClaim(t, tok, "sub"), TenantID: secClaim(t, tok, "tid"),
		OrgName: "acme", SessionID: secClaim(t, tok, "sid"),
	}
	ctx := context.Background()
	issuer := func(ks token.KeyStore, iss, aud string) *token.Issuer {
		i, err := token.NewIssuer(ctx, ks, token.Config{Issuer: iss, Audience: aud, MasterKey: env.MasterKey, Now: env.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	sign := func(i *token.Issuer, c token.Claims) string {
		s, err := i.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := env.Clock.Now()
	with := func(iat, nbf, exp time.Duration) token.Claims {
		c := base
		c.IssuedAt, c.ExpiresAt = now.Add(iat), now.Add(exp)
		if nbf != 0 {
			c.NotBefore = now.Add(nbf)
		}
		return c
	}
	const pub = "http://orgauth.test"

	// Controls: the server's issuer, and another issuer on the same keys with the
	// same iss and aud, make tokens that work for the live session.
	secAlive(t, env, sign(env.Issuer, with(0, 0, 10*time.Minute)))
	secAlive(t, env, sign(issuer(env.Store, pub, pub), with(0, 0, 10*time.Minute)))

	cases := map[string]string{
		"expired 2 minutes ago":       sign(env.Issuer, with(-20*time.Minute, 0, -2*time.Minute)),
		"expired 61 seconds ago":      sign(env.Issuer, with(-10*time.Minute, 0, -61*time.Second)),
		"not valid for 5 minutes":     sign(env.Issuer, with(0, 5*time.Minute, 15*time.Minute)),
		"not valid for 2 minutes":     sign(env.Issuer, with(0, 2*time.Minute, 15*time.Minute)),
		"issued in 5 minutes":         sign(env.Issuer, with(5*time.Minute, 0, 20*time.Minute)),
		"other iss, same keys":        sign(issuer(env.Store, "https://evil.example", pub), with(0, 0, 10*time.Minute)),
		"other aud, same keys":        sign(issuer(env.Store, pub, "https://other.example"), with(0, 0, 10*time.Minute)),
		"same iss and aud, other key": sign(issuer(&secMemKeys{}, pub, pub), with(0, 0, 10*time.Minute)),
		"other iss and aud and key":   sign(issuer(&secMemKeys{}, "https://evil.example", "https://evil.example"), with(0, 0, 10*time.Minute)),
	}
	for name, tok := range cases {
		for _, h := range [][]string{{"Authorization", tok}, secCookie(tok)} {
			if r := env.Do("GET", "/v1/users/info", nil, h...); r.Status != 401 {
				t.Errorf("%s (%s): %d %s, want 401", name, h[0], r.Status, r.Body)
			}
		}
		if r := env.Do("GET", "/v1/auth/refresh/"+tok+"?setCookie=false", nil); r.Status != 401 {
			t.Errorf("%s: refresh %d, want 401", name, r.Status)
		}
	}

	// The login token itself: past its expiry plus the minute of leeway it is dead,
	// while its session is alive (a fresh login of the same user still works).
	secAlive(t, env, tok)
	env.Clock.Advance(15*time.Minute + 61*time.Second)
	secDead(t, env, tok)
	secAlive(t, env, env.Login("acme", ten.AdminEmail, ten.AdminPassword))
}

// --- 3. Token kinds -------------------------------------------------------------

func TestSec03_ActivationTokenIsNotAnAccessToken(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "bob@acme.example.com", "firstName": "Bob"}},
		"Authorization", ten.AdminToken).Must(t, 201)
	act := env.Mail.LastToken(t, "bob@acme.example.com")
	for _, h := range [][]string{
		{"Authorization", act}, {"Authorization", "Bearer " + act}, secCookie(act), {"ApiKey", act},
	} {
		r := env.Do("GET", "/v1/users/info", nil, h...)
		if r.Status != 401 {
			t.Errorf("activation token as %s: %d %s, want 401", h[0], r.Status, r.Body)
		}
	}
	env.Do("GET", "/v1/auth/refresh/"+url.PathEscape(act), nil).Must(t, 401)
	// And an access token is not an activation token.
	env.Do("PATCH", "/v1/auth/password/"+ten.AdminToken+"/activate", map[string]string{"password": "B0b-password!"}).Must(t, 404)
	// The activation token still works for what it is.
	env.Activate("bob@acme.example.com", "B0b-password!")
}

// TestSec03_18_CrossTenantObjects: tenant A's admin reaches none of tenant B's
// users, API keys or settings, and changes nothing there.
func TestSec03_18_CrossTenantObjects(t *testing.T) {
	env := apitest.New(t)
	a := env.NewTenant("tenant-a")
	b := env.NewTenant("tenant-b")
	bobUID, bobTok := env.NewUser(b, "bob@b.example.com", "B0b-password!")
	keyUID, keySecret := secNewAPIKey(t, env, "bob-key", nil, "Authorization", bobTok)
	_, aKey := secNewAPIKey(t, env, "a-admin-key", nil, "Authorization", a.AdminToken)
	env.Do("PUT", "/v1/tenants/"+b.UID+"/loginBanner", map[string]any{"isEnabled": true, "title": "B", "Message": "Tenant B"},
		"Authorization", b.AdminToken).Must(t, 204)

	type req struct {
		method, path string
		body         any
	}
	reqs := []req{
		{"GET", "/v1/users/" + bobUID, nil},
		{"PUT", "/v1/users/" + bobUID, map[string]any{"spec": map[string]any{"firstName": "Pwned", "roles": []string{"tenant-admin"}}}},
		{"PATCH", "/v1/users/" + bobUID, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}}},
		{"PATCH", "/v1/users/" + bobUID, []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "Pwned"}}},
		{"PATCH", "/v1/users/" + bobUID + "/status/loginMode", map[string]any{"loginMode": "dev"}},
		{"PATCH", "/v1/users/" + bobUID + "/password/change", map[string]any{"newPassword": "Pwn3d-password!"}},
		{"DELETE", "/v1/users/" + bobUID, nil},
		{"GET", "/v1/apiKeys/" + keyUID, nil},
		{"PUT", "/v1/apiKeys/" + keyUID, map[string]any{"metadata": map[string]any{"name": "pwned"}}},
		{"PATCH", "/v1/apiKeys/" + keyUID, map[string]any{"isActive": false}},
		{"PUT", "/v1/apiKeys/" + keyUID + "/state", map[string]any{"isActive": false}},
		{"DELETE", "/v1/apiKeys/" + keyUID, nil},
		{"POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "for-bob"}, "spec": map[string]any{"userUid": bobUID}}},
		{"GET", "/v1/tenants/" + b.UID, nil},
		{"GET", "/v1/tenants/" + b.UID + "/loginBanner", nil},
		{"PUT", "/v1/tenants/" + b.UID + "/loginBanner", map[string]any{"isEnabled": true, "title": "Pwned", "Message": "pwned"}},
		{"GET", "/v1/tenants/" + b.UID + "/authTokenSettings", nil},
		{"PUT", "/v1/tenants/" + b.UID + "/authTokenSettings", map[string]any{"expiryTimeMinutes": 1440}},
	}
	for _, creds := range [][]string{{"Authorization", a.AdminToken}, {"ApiKey", aKey}} {
		for _, q := range reqs {
			r := env.Do(q.method, q.path, q.body, creds...)
			if r.Status != 404 || r.Code() != orgauth.ENOTFOUND {
				t.Errorf("A (%s): %s %s = %d %s, want 404 NotFound", creds[0], q.method, q.path, r.Status, r.Body)
			}
		}
		// Revoking B's token from A is a no-op.
		env.Do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{bobTok}}, creds...).Must(t, 204)
	}

	// As B: nothing changed.
	var bob struct {
		Spec   struct{ FirstName string }
		Status struct{ IsActive bool }
	}
	env.Do("GET", "/v1/users/"+bobUID, nil, "Authorization", b.AdminToken).Must(t, 200).JSON(t, &bob)
	if bob.Spec.FirstName != "Test" || !bob.Status.IsActive {
		t.Errorf("bob changed: %+v", bob)
	}
	u := secUser(t, env, b.UID, bobUID)
	if len(u.Roles) != 0 || u.LoginMode != "devops" {
		t.Errorf("bob's roles or login mode changed: %v %q", u.Roles, u.LoginMode)
	}
	secAlive(t, env, bobTok)
	env.Login("tenant-b", "bob@b.example.com", "B0b-password!")
	var key struct {
		Metadata struct{ Name string }
		Status   struct{ IsActive bool }
	}
	env.Do("GET", "/v1/apiKeys/"+keyUID, nil, "Authorization", b.AdminToken).Must(t, 200).JSON(t, &key)
	if key.Metadata.Name != "bob-key" || !key.Status.IsActive {
		t.Errorf("bob's key changed: %+v", key)
	}
	env.Do("GET", "/v1/users/info", nil, "ApiKey", keySecret).Must(t, 200)
	keys, err := env.Store.InTenant(b.UID).ListAPIKeys(context.Background(), bobUID)
	if err != nil || len(keys) != 1 {
		t.Errorf("bob has %d keys (%v), want 1", len(keys), err)
	}
	var banner struct{ Title, Message string }
	env.Do("GET", "/v1/tenants/"+b.UID+"/loginBanner", nil, "Authorization", b.AdminToken).Must(t, 200).JSON(t, &banner)
	if banner.Title != "B" || banner.Message != "Tenant B" {
		t.Errorf("banner changed: %+v", banner)
	}
	var ts struct{ ExpiryTimeMinutes int }
	env.Do("GET", "/v1/tenants/"+b.UID+"/authTokenSettings", nil, "Authorization", b.AdminToken).Must(t, 200).JSON(t, &ts)
	if ts.ExpiryTimeMinutes != 15 {
		t.Errorf("token settings changed: %+v", ts)
	}
}

// --- 4. Oversized credentials -----------------------------------------------------

func TestSec04_OversizedCredentials(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	big16 := ten.AdminToken + strings.Repeat("A", 16<<10)

	// A 16 KB token is our 401 in the error shape (env.Do checks the shape).
	for _, h := range [][]string{
		{"Authorization", big16}, {"Authorization", "Bearer " + big16}, secCookie(big16), {"ApiKey", "oak_" + strings.Repeat("A", 16<<10)},
	} {
		r := env.Do("GET", "/v1/users/info", nil, h...).Must(t, 401)
		if r.Code() != orgauth.EUNAUTHORIZED {
			t.Errorf("%s: code %q", h[0], r.Code())
		}
	}
	env.Do("GET", "/v1/auth/refresh/"+strings.Repeat("A", 16<<10), nil).Must(t, 401)

	// A 1 MB header: Go's server refuses it before orgauth sees it (431).
	client := &http.Client{Timeout: 30 * time.Second}
	huge := strings.Repeat("A", 1<<20)
	send := func(name, value string) int {
		t.Helper()
		req, err := http.NewRequest("GET", env.URL+"/v1/users/info", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(name, value)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("1 MB %s header: %v", name, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for _, name := range []string{"Authorization", "ApiKey", "Cookie"} {
		v := huge
		if name == "Cookie" {
			v = "Authorization=" + huge
		}
		if st := send(name, v); st < 400 || st > 499 {
			t.Errorf("1 MB %s header: status %d, want 4xx", name, st)
		}
	}

	// Memory stays flat over 50 oversized requests of each kind.
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for range 50 {
		if st := send("Authorization", huge); st < 400 || st > 499 {
			t.Fatalf("1 MB header: status %d", st)
		}
		if st := send("Authorization", big16); st != 401 {
			t.Fatalf("16 KB token: status %d", st)
		}
	}
	after := heap()
	if after > before && after-before > 64<<20 {
		t.Errorf("heap grew by %d MB over 100 oversized requests", (after-before)>>20)
	}
	secAlive(t, env, ten.AdminToken)
}

// --- 5. Cookies --------------------------------------------------------------------

func secAuthCookie(t testing.TB, r *apitest.Response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "Authorization" {
			return c
		}
	}
	return nil
}

func TestSec05_CookieAttributes(t *testing.T) {
	check := func(t *testing.T, env *apitest.Env, r *apitest.Response, secure bool) string {
		t.Helper()
		var body struct{ Authorization string }
		r.JSON(t, &body)
		c := secAuthCookie(t, r)
		if c == nil {
			t.Fatalf("no Authorization cookie in %v", r.Header.Values("Set-Cookie"))
		}
		raw := r.Header.Get("Set-Cookie")
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
			t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, Path=/, Secure=%v", raw, secure)
		}
		if c.Value != body.Authorization {
			t.Errorf("cookie value differs from the token in the body")
		}
		if c.Domain != "" {
			t.Errorf("cookie has a Domain: %q", raw)
		}
		if c.Expires.IsZero() || c.Expires.After(env.Clock.Now().Add(25*time.Hour)) {
			t.Errorf("cookie expiry %v", c.Expires)
		}
		return body.Authorization
	}
	for _, dev := range []bool{false, true} {
		t.Run(fmt.Sprintf("dev=%v", dev), func(t *testing.T) {
			env := apitest.New(t, apitest.Options{Dev: dev})
			ten := env.NewTenant("acme")
			r := secLoginRaw(env, "acme", ten.AdminEmail, ten.AdminPassword, "").Must(t, 200)
			tok := check(t, env, r, !dev)
			r = secLoginRaw(env, "acme", ten.AdminEmail, ten.AdminPassword, "?setCookie=true").Must(t, 200)
			check(t, env, r, !dev)
			r = env.Do("GET", "/v1/auth/refresh/"+tok, nil).Must(t, 200)
			check(t, env, r, !dev)
			// setCookie=false: no cookie.
			r = secLoginRaw(env, "acme", ten.AdminEmail, ten.AdminPassword, "?setCookie=false").Must(t, 200)
			if secAuthCookie(t, r) != nil {
				t.Errorf("setCookie=false set a cookie")
			}
			r = env.Do("GET", "/v1/auth/refresh/"+tok+"?setCookie=false", nil).Must(t, 200)
			if secAuthCookie(t, r) != nil {
				t.Errorf("refresh with setCookie=false set a cookie")
			}
			// A failed sign-in sets no cookie.
			r = secLoginRaw(env, "acme", ten.AdminEmail, "Wr0ng-password!", "").Must(t, 401)
			if secAuthCookie(t, r) != nil {
				t.Errorf("failed sign-in set a cookie")
			}
		})
	}
}

// --- 6. New session per login ------------------------------------------------------

func TestSec06_NewSessionPerLogin(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	login := func(extra ...string) string {
		t.Helper()
		r := env.Do("POST", "/v1/auth/authenticate?setCookie=false",
			map[string]string{"emailId": ten.AdminEmail, "password": ten.AdminPassword, "org": "acme"}, extra...).Must(t, 200)
		var out struct{ Authorization string }
		r.JSON(t, &out)
		return out.Authorization
	}
	t1, t2 := login(), login()
	s1, s2 := secClaim(t, t1, "sid"), secClaim(t, t2, "sid")
	if s1 == s2 {
		t.Fatalf("two logins share session %s", s1)
	}
	if secClaim(t, t1, "jti") == secClaim(t, t2, "jti") {
		t.Fatalf("two logins share a jti")
	}
	// What the client brings is never reused: its cookie, its token, a session id of
	// its choosing.
	seen := map[string]bool{s1: true, s2: true}
	for _, extra := range [][]string{
		secCookie(t1),
		{"Authorization", t1},
		{"Cookie", "sid=" + s1 + "; session=" + s1 + "; Authorization=" + t1},
		{"X-Session-Id", s1},
	} {
		sid := secClaim(t, login(extra...), "sid")
		if seen[sid] {
			t.Errorf("login with %s reused session %s", extra[0], sid)
		}
		seen[sid] = true
	}
	// The sessions are separate on the server: ending one leaves the other.
	env.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", t1).Must(t, 204)
	secDead(t, env, t1)
	secAlive(t, env, t2)
	// A refresh keeps the session and changes the jti.
	t3 := secRefresh(t, env, t2)
	if secClaim(t, t3, "sid") != s2 || secClaim(t, t3, "jti") == secClaim(t, t2, "jti") {
		t.Errorf("refresh: sid %s jti %s, want sid %s and a new jti", secClaim(t, t3, "sid"), secClaim(t, t3, "jti"), s2)
	}
}

// --- 7. Ending sessions ------------------------------------------------------------

func TestSec07_SessionsEnd(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	n := 0
	// twoSessions makes a fresh user signed in twice.
	twoSessions := func(t *testing.T) (uid, email, a, b string) {
		t.Helper()
		n++
		email = fmt.Sprintf("user%d@acme.example.com", n)
		uid, a = env.NewUser(ten, email, pw)
		b = env.Login("acme", email, pw)
		secAlive(t, env, a)
		secAlive(t, env, b)
		return uid, email, a, b
	}

	t.Run("logout", func(t *testing.T) {
		_, _, a, b := twoSessions(t)
		env.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", a).Must(t, 204)
		secDead(t, env, a)
		// Logout ends the caller's session only.
		secAlive(t, env, b)
		env.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", b).Must(t, 204)
		secDead(t, env, b)
	})
	t.Run("logout by cookie", func(t *testing.T) {
		_, _, a, b := twoSessions(t)
		env.Do("POST", "/v1/users/auth/tokens/revoke", nil, append(secCookie(a), "Sec-Fetch-Site", "same-origin")...).Must(t, 204)
		secDead(t, env, a)
		secAlive(t, env, b)
	})
	t.Run("password change by self", func(t *testing.T) {
		uid, email, a, b := twoSessions(t)
		env.Do("PATCH", "/v1/users/"+uid+"/password/change", map[string]any{"currentPassword": pw, "newPassword": "N3w-password!"},
			"Authorization", a).Must(t, 204)
		secAlive(t, env, a)
		secDead(t, env, b)
		env.Login("acme", email, "N3w-password!")
		env.Do("POST", "/v1/auth/authenticate", map[string]string{"emailId": email, "password": pw, "org": "acme"}).Must(t, 401)
	})
	t.Run("password change by email", func(t *testing.T) {
		_, email, a, b := twoSessions(t)
		env.Do("PATCH", "/v1/users/password/change?org=acme", map[string]any{"emailId": email, "currentPassword": pw, "newPassword": "N3w-password!"}).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		env.Login("acme", email, "N3w-password!")
	})
	t.Run("password set by admin", func(t *testing.T) {
		uid, _, a, b := twoSessions(t)
		env.Do("PATCH", "/v1/users/"+uid+"/password/change", map[string]any{"newPassword": "N3w-password!"},
			"Authorization", ten.AdminToken).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		secAlive(t, env, ten.AdminToken)
	})
	t.Run("disable", func(t *testing.T) {
		uid, email, a, b := twoSessions(t)
		env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
			"Authorization", ten.AdminToken).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		env.Do("POST", "/v1/auth/authenticate", map[string]string{"emailId": email, "password": pw, "org": "acme"}).Must(t, 401)
		// Enabling the user again does not bring the ended sessions back.
		env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": true}},
			"Authorization", ten.AdminToken).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		env.Login("acme", email, pw)
	})
	t.Run("delete", func(t *testing.T) {
		uid, email, a, b := twoSessions(t)
		env.Do("DELETE", "/v1/users/"+uid, nil, "Authorization", ten.AdminToken).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		env.Do("POST", "/v1/auth/authenticate", map[string]string{"emailId": email, "password": pw, "org": "acme"}).Must(t, 401)
	})
	t.Run("tenant deleted", func(t *testing.T) {
		gone := env.NewTenant("gone")
		uid, tok := env.NewUser(gone, "user@gone.example.com", pw)
		other := env.Login("gone", "user@gone.example.com", pw)
		_, key := secNewAPIKey(t, env, "k", nil, "Authorization", tok)
		env.Do("DELETE", "/v1/tenants/"+gone.UID, nil, "Authorization", env.Admin()).Must(t, 204)
		for _, tk := range []string{tok, other, gone.AdminToken} {
			secDead(t, env, tk)
		}
		env.Do("GET", "/v1/users/info", nil, "ApiKey", key).Must(t, 401)
		if _, err := env.Store.InTenant(gone.UID).User(context.Background(), uid); err == nil {
			t.Error("the user outlived its tenant")
		}
		secAlive(t, env, ten.AdminToken)
	})
	t.Run("revoke tokens by self", func(t *testing.T) {
		_, _, a, b := twoSessions(t)
		c := env.Login("acme", fmt.Sprintf("user%d@acme.example.com", n), pw)
		env.Do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{a, b}}, "Authorization", c).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		secAlive(t, env, c)
	})
	t.Run("revoke tokens by admin", func(t *testing.T) {
		_, _, a, b := twoSessions(t)
		env.Do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{a, b}}, "Authorization", ten.AdminToken).Must(t, 204)
		secDead(t, env, a)
		secDead(t, env, b)
		secAlive(t, env, ten.AdminToken)
	})
	t.Run("revoke another user's tokens without permission", func(t *testing.T) {
		_, _, a, _ := twoSessions(t)
		_, _, other, _ := twoSessions(t)
		env.Do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{a}}, "Authorization", other).Must(t, 403)
		secAlive(t, env, a)
	})
}

// --- 8. Idle and absolute session lifetimes ---------------------------------------

func TestSec08_SessionLifetimes(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		env := apitest.New(t)
		ten := env.NewTenant("acme")
		// Tokens live a day, so only the session's idle timeout (240m) can end them.
		secSetTokenExpiry(t, env, ten, 1440)
		tok := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		for range 3 {
			env.Clock.Advance(200 * time.Minute)
			tok = secRefresh(t, env, tok)
		}
		secAlive(t, env, tok)
		env.Clock.Advance(241 * time.Minute)
		var exp json.Number
		_, p := secJWT(t, tok)
		exp, _ = p["exp"].(json.Number)
		if e, _ := exp.Int64(); !env.Clock.Now().Before(time.Unix(e, 0)) {
			t.Fatalf("the token itself expired (exp %v); the test needs it valid", exp)
		}
		secDead(t, env, tok)
		secAlive(t, env, env.Login("acme", ten.AdminEmail, ten.AdminPassword))
	})
	t.Run("absolute", func(t *testing.T) {
		env := apitest.New(t, apitest.Options{Config: func(c *orgauthhttp.Config) {
			c.SessionMax = 3 * time.Hour
			c.SessionIdle = time.Hour
		}})
		ten := env.NewTenant("acme")
		secSetTokenExpiry(t, env, ten, 1440)
		start := env.Clock.Now()
		tok := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		for range 5 { // up to 2h30
			env.Clock.Advance(30 * time.Minute)
			tok = secRefresh(t, env, tok)
			_, p := secJWT(t, tok)
			exp, _ := p["exp"].(json.Number).Int64()
			if time.Unix(exp, 0).After(start.Add(3 * time.Hour)) {
				t.Fatalf("token expires at %v, after the session ends at %v", time.Unix(exp, 0), start.Add(3*time.Hour))
			}
		}
		secAlive(t, env, tok)
		// 3h after sign-in the session is over, though it was used 30 minutes ago
		// and the token is inside its minute of leeway.
		env.Clock.Advance(30 * time.Minute)
		secDead(t, env, tok)
	})
	t.Run("idle also ends access", func(t *testing.T) {
		env := apitest.New(t, apitest.Options{Config: func(c *orgauthhttp.Config) { c.SessionIdle = 30 * time.Minute }})
		ten := env.NewTenant("acme")
		secSetTokenExpiry(t, env, ten, 120)
		tok := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		env.Clock.Advance(29 * time.Minute)
		secAlive(t, env, tok)
		env.Clock.Advance(2 * time.Minute)
		secDead(t, env, tok)
	})
}

// --- 9. Cross-site requests with the cookie ------------------------------------

func TestSec09_CookieCSRF(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	tok := ten.AdminToken
	body := func(name string) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": name}, "spec": map[string]any{}}
	}
	count := func() int {
		keys, err := env.Store.InTenant(ten.UID).ListAPIKeys(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	refused := [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Origin", "http://orgauth.test.evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "none"},
		{"Sec-Fetch-Site", "cross-site", "Origin", "http://orgauth.test"},
		{"Referer", "http://orgauth.test/"},
		{}, // neither Origin nor Sec-Fetch-Site
	}
	for _, h := range refused {
		r := env.Do("POST", "/v1/apiKeys", body("csrf"), append(secCookie(tok), h...)...)
		if r.Status != 403 || r.Code() != orgauth.EFORBIDDEN {
			t.Errorf("cookie POST with %v: %d %s, want 403", h, r.Status, r.Body)
		}
		// Other unsafe methods too.
		r = env.Do("PUT", "/v1/tenants/"+ten.UID+"/loginBanner", map[string]any{"isEnabled": true, "title": "x", "Message": "csrf"}, append(secCookie(tok), h...)...)
		if r.Status != 403 {
			t.Errorf("cookie PUT with %v: %d, want 403", h, r.Status)
		}
		r = env.Do("POST", "/v1/users/auth/tokens/revoke", nil, append(secCookie(tok), h...)...)
		if r.Status != 403 {
			t.Errorf("cookie logout with %v: %d, want 403", h, r.Status)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("%d keys created by refused requests", n)
	}
	secAlive(t, env, tok)
	// Same origin, as browsers tell it.
	env.Do("POST", "/v1/apiKeys", body("same-origin"), append(secCookie(tok), "Sec-Fetch-Site", "same-origin")...).Must(t, 201)
	env.Do("POST", "/v1/apiKeys", body("origin"), append(secCookie(tok), "Origin", "http://orgauth.test")...).Must(t, 201)
	// Safe methods with the cookie work from anywhere.
	env.Do("GET", "/v1/users/info", nil, append(secCookie(tok), "Sec-Fetch-Site", "cross-site")...).Must(t, 200)
	env.Do("GET", "/v1/apiKeys", nil, secCookie(tok)...).Must(t, 200)
	// The header token is no ambient credential: cross-site is fine.
	env.Do("POST", "/v1/apiKeys", body("header"), "Authorization", tok, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").Must(t, 201)
	if n := count(); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
}

// --- 10. Same answer for every failed sign-in --------------------------------------

func TestSec10_UniformSignInFailures(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	env.NewUser(ten, "bob@acme.example.com", pw)
	env.NewUser(ten, "carol@acme.example.com", pw)
	daveUID, _ := env.NewUser(ten, "dave@acme.example.com", pw)
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "erin@acme.example.com", "firstName": "Erin"}},
		"Authorization", ten.AdminToken).Must(t, 201)
	for range 5 {
		secLoginRaw(env, "acme", "carol@acme.example.com", "Wr0ng-password!", "?setCookie=false").Must(t, 401)
	}
	env.Do("PATCH", "/v1/users/"+daveUID, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", ten.AdminToken).Must(t, 204)

	cases := []struct{ name, org, email, pw string }{
		{"unknown email", "acme", "nobody@acme.example.com", pw},
		{"wrong password", "acme", "bob@acme.example.com", "Wr0ng-password!"},
		{"email in other case, wrong password", "acme", "BOB@acme.example.com", "Wr0ng-password!"},
		{"locked account", "acme", "carol@acme.example.com", pw},
		{"disabled account", "acme", "dave@acme.example.com", pw},
		{"not yet activated", "acme", "erin@acme.example.com", pw},
		{"not yet activated, empty-hash guess", "acme", "erin@acme.example.com", "x"},
		{"unknown org", "no-such-org", "bob@acme.example.com", pw},
		{"malformed org", "Not An Org!", "bob@acme.example.com", pw},
		{"email of another org", "system", "bob@acme.example.com", pw},
		{"too long password", "acme", "bob@acme.example.com", strings.Repeat("P", 5000)},
	}
	var wantCode, wantMsg string
	for i, c := range cases {
		r := secLoginRaw(env, c.org, c.email, c.pw, "")
		if r.Status != 401 {
			t.Errorf("%s: status %d %s, want 401", c.name, r.Status, r.Body)
			continue
		}
		code, msg := secErr(t, r)
		if i == 0 {
			wantCode, wantMsg = code, msg
		} else if code != wantCode || msg != wantMsg {
			t.Errorf("%s: %s %q, want %s %q as for an unknown email", c.name, code, msg, wantCode, wantMsg)
		}
		if secAuthCookie(t, r) != nil {
			t.Errorf("%s: a cookie was set", c.name)
		}
	}
	if wantCode != orgauth.ECREDENTIALS {
		t.Errorf("code %q, want %s", wantCode, orgauth.ECREDENTIALS)
	}
	env.Login("acme", "bob@acme.example.com", pw)
}

// TestSec10_EveryFailurePathHashes shows that each kind of failed sign-in waits
// for a password hash: with every hashing slot taken, each of them answers 429
// (busy) rather than 401 at once. A path that skipped the hash could never
// answer 429 (rate limits are off).
func TestSec10_EveryFailurePathHashes(t *testing.T) {
	env := apitest.New(t, apitest.Options{Hasher: &password.Config{Memory: 32 * 1024, Time: 2, Threads: 1, MaxInFlight: 1, MaxWait: time.Millisecond}})
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	env.NewUser(ten, "bob@acme.example.com", pw)
	daveUID, _ := env.NewUser(ten, "dave@acme.example.com", pw)
	env.NewUser(ten, "carol@acme.example.com", pw)
	for range 5 {
		secLoginRaw(env, "acme", "carol@acme.example.com", "Wr0ng-password!", "?setCookie=false").Must(t, 401)
	}
	env.Do("PATCH", "/v1/users/"+daveUID, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", ten.AdminToken).Must(t, 204)
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "erin@acme.example.com", "firstName": "Erin"}},
		"Authorization", ten.AdminToken).Must(t, 201)

	// Keep the one hashing slot busy.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				env.Hasher.Hash(context.Background(), "Busy-hash-1")
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(20 * time.Millisecond)

	cases := []struct{ name, org, email, pw string }{
		{"unknown email", "acme", "nobody@acme.example.com", pw},
		{"wrong password", "acme", "bob@acme.example.com", "Wr0ng-password!"},
		{"locked account", "acme", "carol@acme.example.com", pw},
		{"disabled account", "acme", "dave@acme.example.com", pw},
		{"not yet activated", "acme", "erin@acme.example.com", pw},
		{"unknown org", "no-such-org", "bob@acme.example.com", pw},
	}
	for _, c := range cases {
		busy := false
		for range 20 {
			r := secLoginRaw(env, c.org, c.email, c.pw, "?setCookie=false")
			if r.Status != 401 && r.Status != 429 {
				t.Fatalf("%s: status %d %s", c.name, r.Status, r.Body)
			}
			if r.Status == 429 {
				busy = true
				break
			}
		}
		if !busy {
			t.Errorf("%s: never waited for a hash (always 401 while hashing was saturated)", c.name)
		}
	}
}

// --- 11. Lockout -------------------------------------------------------------------

func TestSec11_Lockout(t *testing.T) {
	env := apitest.New(t, apitest.Options{AuthRate: 0})
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	uid, _ := env.NewUser(ten, "bob@acme.example.com", pw)

	// Four failures and a success: the count starts again.
	for range 4 {
		secLoginRaw(env, "acme", "bob@acme.example.com", "Wr0ng-password!", "?setCookie=false").Must(t, 401)
	}
	env.Login("acme", "bob@acme.example.com", pw)
	if u := secUser(t, env, ten.UID, uid); u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		t.Fatalf("after a success: failed %d, locked until %v", u.FailedLogins, u.LockedUntil)
	}

	wrong := secLoginRaw(env, "acme", "bob@acme.example.com", "Wr0ng-password!", "?setCookie=false").Must(t, 401)
	wantCode, wantMsg := secErr(t, wrong)
	// 50 concurrent wrong guesses (49 more, one was just made).
	var wg sync.WaitGroup
	statuses := make([]int, 49)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := secLoginRaw(env, "acme", "bob@acme.example.com", fmt.Sprintf("Guess-%02d!", i), "?setCookie=false")
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 401 {
			t.Errorf("guess %d: status %d", i, st)
		}
	}
	// Every evaluated guess is counted before its hash is checked, so the counter
	// says how many were evaluated: no more than the limit.
	u := secUser(t, env, ten.UID, uid)
	if u.FailedLogins > 5 {
		t.Errorf("%d guesses were evaluated, want at most 5", u.FailedLogins)
	}
	if want := env.Clock.Now().Add(15 * time.Minute); !u.LockedUntil.Equal(want) {
		t.Errorf("locked until %v, want %v", u.LockedUntil, want)
	}

	rightFails := func(when string) {
		t.Helper()
		r := secLoginRaw(env, "acme", "bob@acme.example.com", pw, "?setCookie=false")
		if r.Status != 401 {
			t.Fatalf("%s: right password gave %d, want 401", when, r.Status)
		}
		if code, msg := secErr(t, r); code != wantCode || msg != wantMsg {
			t.Errorf("%s: locked answer %s %q differs from a wrong password's %s %q", when, code, msg, wantCode, wantMsg)
		}
	}
	rightFails("at once")
	env.Clock.Advance(14 * time.Minute)
	rightFails("after 14 minutes")
	// Failures during the lock do not extend it.
	if u := secUser(t, env, ten.UID, uid); u.FailedLogins > 5 {
		t.Errorf("failed logins %d during the lock", u.FailedLogins)
	}
	env.Clock.Advance(2 * time.Minute)
	env.Login("acme", "bob@acme.example.com", pw)
	if u := secUser(t, env, ten.UID, uid); u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		t.Errorf("after the lock: failed %d, locked until %v", u.FailedLogins, u.LockedUntil)
	}
}

// TestSec11_LockoutByPasswordChange: the current password checked by the
// self-service password change counts toward the same lock.
func TestSec11_LockoutByPasswordChange(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	env.NewUser(ten, "bob@acme.example.com", pw)
	for range 5 {
		env.Do("PATCH", "/v1/users/password/change?org=acme", map[string]any{
			"emailId": "bob@acme.example.com", "currentPassword": "Wr0ng-password!", "newPassword": "N3w-password!",
		}).Must(t, 401)
	}
	env.Do("PATCH", "/v1/users/password/change?org=acme", map[string]any{
		"emailId": "bob@acme.example.com", "currentPassword": pw, "newPassword": "N3w-password!",
	}).Must(t, 401)
	secLoginRaw(env, "acme", "bob@acme.example.com", pw, "?setCookie=false").Must(t, 401)
	env.Clock.Advance(16 * time.Minute)
	tok := env.Login("acme", "bob@acme.example.com", pw)

	// A new password the policy refuses is no failed sign-in: with the right
	// current password, any number of them do not lock the account.
	u, err := env.Store.InTenant(ten.UID).UserByEmail(context.Background(), "bob@acme.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		env.Do("PATCH", "/v1/users/"+u.ID+"/password/change", map[string]any{"currentPassword": pw, "newPassword": "weak"},
			"Authorization", tok).Must(t, 400)
		env.Do("PATCH", "/v1/users/password/change?org=acme", map[string]any{
			"emailId": "bob@acme.example.com", "currentPassword": pw, "newPassword": "weak",
		}).Must(t, 400)
	}
	env.Login("acme", "bob@acme.example.com", pw)
}

// --- 13. Activation tokens ---------------------------------------------------------

func TestSec13_ActivationTokens(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	ctx := context.Background()
	top := t
	create := func(email string) string {
		t.Helper()
		var id struct{ UID string }
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword) // the clock moves
		env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": email, "firstName": "New"}},
			"Authorization", admin).Must(t, 201).JSON(t, &id)
		return id.UID
	}
	activate := func(tok, pw string) *apitest.Response {
		return env.Do("PATCH", "/v1/auth/password/"+url.PathEscape(tok)+"/activate", map[string]string{"password": pw})
	}

	t.Run("single use", func(t *testing.T) {
		create("reuse@acme.example.com")
		tok := env.Mail.LastToken(t, "reuse@acme.example.com")
		activate(tok, "Us3r-password!").Must(t, 204)
		r := activate(tok, "Oth3r-password!").Must(t, 404)
		if r.Code() != orgauth.ENOTFOUND {
			t.Errorf("code %q", r.Code())
		}
		env.Login("acme", "reuse@acme.example.com", "Us3r-password!")
		secLoginRaw(env, "acme", "reuse@acme.example.com", "Oth3r-password!", "").Must(t, 401)
	})

	t.Run("superseded by a newer token", func(t *testing.T) {
		uid := create("newer@acme.example.com")
		old := env.Mail.LastToken(t, "newer@acme.example.com")
		// No API resends an invitation yet; make the newer token as the server does.
		id, secret, hash := token.NewUserToken(env.MasterKey, orgauth.PurposeActivation)
		now := env.Clock.Now()
		err := env.Store.InTenant(ten.UID).CreateUserToken(ctx, &orgauth.UserToken{
			ID: id, TenantID: ten.UID, UserID: uid, Purpose: orgauth.PurposeActivation,
			Hash: hash, CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		activate(old, "Us3r-password!").Must(t, 404)
		activate(secret, "Us3r-password!").Must(t, 204)
		env.Login("acme", "newer@acme.example.com", "Us3r-password!")
	})

	t.Run("other purpose", func(t *testing.T) {
		uid := create("purpose@acme.example.com")
		id, secret, hash := token.NewUserToken(env.MasterKey, orgauth.PurposeReset)
		now := env.Clock.Now()
		err := env.Store.InTenant(ten.UID).CreateUserToken(ctx, &orgauth.UserToken{
			ID: id, TenantID: ten.UID, UserID: uid, Purpose: orgauth.PurposeReset,
			Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		activate(secret, "Us3r-password!").Must(t, 404)
		// The same id with an activation MAC is no token the server made either.
		activate(token.UserTokenSecret(env.MasterKey, orgauth.PurposeActivation, id), "Us3r-password!").Must(t, 404)
	})

	t.Run("forged and malformed", func(t *testing.T) {
		create("forged@acme.example.com")
		tok := env.Mail.LastToken(t, "forged@acme.example.com")
		id, mac, _ := strings.Cut(tok, ".")
		for _, bad := range []string{
			id + "." + secB64(make([]byte, 16)),
			id,
			id + ".",
			"." + mac,
			tok + "x",
			strings.ToUpper(tok),
			strings.Repeat("A", 4000),
			"../../etc/passwd",
		} {
			if r := activate(bad, "Us3r-password!"); r.Status != 404 {
				t.Errorf("token %.40q: %d %s, want 404", bad, r.Status, r.Body)
			}
		}
		activate(tok, "Us3r-password!").Must(t, 204)
	})

	t.Run("user disabled or deleted", func(t *testing.T) {
		uid := create("off@acme.example.com")
		tok := env.Mail.LastToken(t, "off@acme.example.com")
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
			"Authorization", admin).Must(t, 204)
		activate(tok, "Us3r-password!").Must(t, 404)
		uid = create("gone@acme.example.com")
		tok = env.Mail.LastToken(t, "gone@acme.example.com")
		env.Do("DELETE", "/v1/users/"+uid, nil, "Authorization", admin).Must(t, 204)
		activate(tok, "Us3r-password!").Must(t, 404)
	})

	t.Run("expiry", func(t *testing.T) {
		create("late@acme.example.com")
		tok := env.Mail.LastToken(t, "late@acme.example.com")
		env.Clock.Advance(7*24*time.Hour + time.Second)
		activate(tok, "Us3r-password!").Must(t, 404)
		secLoginRaw(env, "acme", "late@acme.example.com", "Us3r-password!", "").Must(t, 401)
	})

	t.Run("links from the public URL only", func(t *testing.T) {
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword) // the clock moved
		var id struct{ UID string }
		env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "host@acme.example.com", "firstName": "Host"}},
			"Authorization", admin, "Host", "evil.example", "X-Forwarded-Host", "evil.example",
			"X-Forwarded-Proto", "https", "Forwarded", "host=evil.example;proto=https", "X-Original-Host", "evil.example").Must(t, 201).JSON(t, &id)
		msgs := env.Mail.Messages("host@acme.example.com")
		if len(msgs) != 1 {
			t.Fatalf("%d mails", len(msgs))
		}
		if strings.Contains(msgs[0].Text, "evil") || strings.Contains(msgs[0].HTML, "evil") {
			t.Errorf("mail mentions the request's host:\n%s", msgs[0].Text)
		}
		if !strings.Contains(msgs[0].Text, "http://orgauth.test/activate?token=") {
			t.Errorf("mail has no link from the public URL:\n%s", msgs[0].Text)
		}
		var u struct {
			Status struct{ ActivationLink string }
		}
		env.Do("GET", "/v1/users/"+id.UID, nil, "Authorization", admin, "Host", "evil.example", "X-Forwarded-Host", "evil.example").Must(t, 200).JSON(t, &u)
		if !strings.HasPrefix(u.Status.ActivationLink, "http://orgauth.test/activate?token=") {
			t.Errorf("activationLink = %q", u.Status.ActivationLink)
		}
		tok := env.Mail.LastToken(t, "host@acme.example.com")
		if !strings.HasSuffix(u.Status.ActivationLink, url.QueryEscape(tok)) {
			t.Errorf("activationLink %q does not carry the mailed token", u.Status.ActivationLink)
		}
	})

	t.Run("128 bits, stored hashed, not logged", func(t *testing.T) {
		create("bits@acme.example.com")
		tok := env.Mail.LastToken(t, "bits@acme.example.com")
		id, mac, ok := strings.Cut(tok, ".")
		if !ok {
			t.Fatalf("token %q has no id part", tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw)*8 < 128 {
			t.Fatalf("token id %q: %d bits (%v), want at least 128", id, len(raw)*8, err)
		}
		create("bits2@acme.example.com")
		if tok2 := env.Mail.LastToken(t, "bits2@acme.example.com"); tok2 == tok {
			t.Fatal("two invitations carry the same token")
		}
		found, files := secFilesContain(top, tok)
		if files == 0 {
			t.Fatal("found no database file to scan")
		}
		if found {
			t.Errorf("the activation token is stored in plain text")
		}
		if found, _ := secFilesContain(top, mac); found {
			t.Errorf("the secret part of the activation token is stored")
		}
		activate(tok, "Us3r-password!").Must(t, 204)
		if strings.Contains(env.Logs.String(), mac) {
			t.Errorf("the activation token is in the logs")
		}
	})
}

// --- 15. No default credentials -------------------------------------------------

func TestSec15_NoDefaultCredentials(t *testing.T) {
	env := apitest.New(t)
	env.NewTenant("acme")
	env.Admin()
	for _, email := range []string{apitest.AdminEmail, "admin@localhost", "admin", "root", "admin@example.com", "root@localhost"} {
		for _, pw := range []string{"admin", "password", "Password1!", "changeme", "root", "orgauth", "admin123", "Admin123!", "1234567"} {
			for _, org := range []string{"system", ""} {
				r := env.Do("POST", "/v1/auth/authenticate?setCookie=false", map[string]string{"emailId": email, "password": pw, "org": org})
				if r.Status == 200 {
					t.Errorf("signed in as %s / %s (org %q)", email, pw, org)
				}
				if r.Status >= 500 {
					t.Errorf("%s / %s: %d", email, pw, r.Status)
				}
			}
		}
	}
	// The only way in is the password given at bootstrap (once the lock the
	// guesses above caused has ended).
	env.Clock.Advance(16 * time.Minute)
	env.Admin()
}

// --- 16. API keys ----------------------------------------------------------------

func TestSec16_APIKeys(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	uid, tok := env.NewUser(ten, "bob@acme.example.com", pw)
	use := func(secret string) int {
		t.Helper()
		return env.Do("GET", "/v1/users/info", nil, "ApiKey", secret).Status
	}

	keyUID, secret := secNewAPIKey(t, env, "ci", nil, "Authorization", tok)
	body, ok := strings.CutPrefix(secret, "oak_")
	if !ok {
		t.Fatalf("key %q lacks the oak_ prefix", secret)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) != 32 {
		t.Fatalf("key body %q: %d bytes (%v), want 32", body, len(raw), err)
	}
	_, secret2 := secNewAPIKey(t, env, "ci2", nil, "Authorization", tok)
	if secret2 == secret {
		t.Fatal("two keys are the same")
	}

	// Shown once: no later answer carries it, and the store has only its hash.
	for _, r := range []*apitest.Response{
		env.Do("GET", "/v1/apiKeys/"+keyUID, nil, "Authorization", tok).Must(t, 200),
		env.Do("GET", "/v1/apiKeys", nil, "Authorization", tok).Must(t, 200),
		env.Do("GET", "/v1/apiKeys", nil, "Authorization", ten.AdminToken).Must(t, 200),
		env.Do("GET", "/v1/apiKeys/"+keyUID, nil, "ApiKey", secret).Must(t, 200),
	} {
		if bytes.Contains(r.Body, []byte(body)) {
			t.Errorf("an answer carries the key: %s", r.Body)
		}
	}
	if found, files := secFilesContain(t, body); files == 0 || found {
		t.Errorf("key in the database files: %v (%d files scanned)", found, files)
	}

	// It works, as its user in its tenant.
	var info struct{ UserUID, TenantUID string }
	env.Do("GET", "/v1/users/info", nil, "ApiKey", secret).Must(t, 200).JSON(t, &info)
	if info.UserUID != uid || info.TenantUID != ten.UID {
		t.Fatalf("key acts as %+v", info)
	}
	// Keys that look like keys but are not.
	last := "A" // another canonical last character than the key's own
	if strings.HasSuffix(secret, "A") {
		last = "E"
	}
	for _, bad := range []string{
		secret[:len(secret)-1] + last, "oak_" + secB64(make([]byte, 32)), strings.TrimPrefix(secret, "oak_"),
		"OAK_" + body, secret + "=", "Bearer " + secret,
	} {
		if st := use(bad); st != 401 {
			t.Errorf("key %q: %d, want 401", bad, st)
		}
	}

	t.Run("deactivated with PATCH", func(t *testing.T) {
		env.Do("PATCH", "/v1/apiKeys/"+keyUID, map[string]any{"isActive": false}, "Authorization", tok).Must(t, 204)
		if st := use(secret); st != 401 {
			t.Fatalf("deactivated key: %d", st)
		}
		env.Do("PATCH", "/v1/apiKeys/"+keyUID, map[string]any{"isActive": true}, "Authorization", tok).Must(t, 204)
		if st := use(secret); st != 200 {
			t.Fatalf("re-activated key: %d", st)
		}
	})
	t.Run("deactivated with PUT state", func(t *testing.T) {
		env.Do("PUT", "/v1/apiKeys/"+keyUID+"/state", map[string]any{"isActive": false}, "Authorization", ten.AdminToken).Must(t, 204)
		if st := use(secret); st != 401 {
			t.Fatalf("deactivated key: %d", st)
		}
		var k struct{ Status struct{ IsActive bool } }
		env.Do("GET", "/v1/apiKeys/"+keyUID, nil, "Authorization", tok).Must(t, 200).JSON(t, &k)
		if k.Status.IsActive {
			t.Error("deactivated key reads as active")
		}
		env.Do("PUT", "/v1/apiKeys/"+keyUID+"/state", map[string]any{"isActive": true}, "Authorization", ten.AdminToken).Must(t, 204)
		if st := use(secret); st != 200 {
			t.Fatalf("re-activated key: %d", st)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		delUID, delSecret := secNewAPIKey(t, env, "gone", nil, "Authorization", tok)
		if st := use(delSecret); st != 200 {
			t.Fatalf("new key: %d", st)
		}
		env.Do("DELETE", "/v1/apiKeys/"+delUID, nil, "Authorization", tok).Must(t, 204)
		if st := use(delSecret); st != 401 {
			t.Fatalf("deleted key: %d", st)
		}
	})
	t.Run("expired", func(t *testing.T) {
		exp := env.Clock.Now().Add(time.Hour)
		expUID, expSecret := secNewAPIKey(t, env, "short", map[string]any{"expiry": exp.Format(time.RFC3339)}, "Authorization", tok)
		if st := use(expSecret); st != 200 {
			t.Fatalf("new key: %d", st)
		}
		env.Clock.Advance(time.Hour + time.Second)
		if st := use(expSecret); st != 401 {
			t.Fatalf("expired key: %d", st)
		}
		// An expired key stays dead.
		env.Do("PATCH", "/v1/apiKeys/"+expUID, map[string]any{"isActive": true}, "ApiKey", secret).Must(t, 400)
		env.Do("PUT", "/v1/apiKeys/"+expUID, map[string]any{"spec": map[string]any{"expiry": env.Clock.Now().Add(time.Hour).Format(time.RFC3339)}}, "ApiKey", secret).Must(t, 400)
		if st := use(expSecret); st != 401 {
			t.Fatalf("expired key after re-activation attempts: %d", st)
		}
	})
	t.Run("user disabled", func(t *testing.T) {
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}}, "Authorization", admin).Must(t, 204)
		if st := use(secret); st != 401 {
			t.Fatalf("key of a disabled user: %d", st)
		}
		env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": true}}, "Authorization", admin).Must(t, 204)
	})
	t.Run("user deleted", func(t *testing.T) {
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		if st := use(secret); st != 200 {
			t.Fatalf("key before the delete: %d", st)
		}
		env.Do("DELETE", "/v1/users/"+uid, nil, "Authorization", admin).Must(t, 204)
		if st := use(secret); st != 401 {
			t.Fatalf("key of a deleted user: %d", st)
		}
		if st := use(secret2); st != 401 {
			t.Fatalf("second key of a deleted user: %d", st)
		}
		// A new user with the same email does not inherit the keys.
		fresh := *ten
		fresh.AdminToken = admin
		env.NewUser(&fresh, "bob@acme.example.com", pw)
		if st := use(secret); st != 401 {
			t.Fatalf("key after the email was reused: %d", st)
		}
	})
}

// --- 17. Permissions -----------------------------------------------------------------

func TestSec17_Permissions(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	viewerUID, viewer := env.NewUser(ten, "viewer@acme.example.com", pw, orgauth.RoleTenantViewer)
	plainUID, plain := env.NewUser(ten, "plain@acme.example.com", pw)
	otherUID, other := env.NewUser(ten, "other@acme.example.com", pw)
	otherKeyUID, _ := secNewAPIKey(t, env, "other-key", nil, "Authorization", other)
	banner := map[string]any{"isEnabled": true, "title": "t", "Message": "m"}
	newUser := map[string]any{"spec": map[string]any{"emailId": "new@acme.example.com", "firstName": "New"}}
	newTenant := map[string]any{"spec": map[string]any{"orgName": "evil-org", "emailId": "e@evil.example", "firstName": "E", "lastName": "Vil"}}
	patchName := []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "Changed"}}

	type check struct {
		method, path string
		body         any
		want         int
	}
	run := func(t *testing.T, tok string, checks []check) {
		t.Helper()
		for _, c := range checks {
			r := env.Do(c.method, c.path, c.body, "Authorization", tok)
			if r.Status != c.want {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.want)
			}
		}
	}

	t.Run("tenant viewer", func(t *testing.T) {
		run(t, viewer, []check{
			{"GET", "/v1/users", nil, 200},
			{"GET", "/v1/users/" + otherUID, nil, 200},
			{"GET", "/v1/users/" + viewerUID, nil, 200},
			{"GET", "/v1/users/meta", nil, 200},
			{"POST", "/v1/users/summary", map[string]any{}, 200},
			{"GET", "/v1/tenants/" + ten.UID, nil, 200},
			{"GET", "/v1/tenants/" + ten.UID + "/loginBanner", nil, 200},
			{"GET", "/v1/tenants/" + ten.UID + "/authTokenSettings", nil, 200},
			{"GET", "/v1/apiKeys", nil, 200},
			{"GET", "/v1/apiKeys/" + otherKeyUID, nil, 200},
			{"POST", "/v1/users", newUser, 403},
			{"DELETE", "/v1/users/" + otherUID, nil, 403},
			{"PATCH", "/v1/users/" + otherUID, patchName, 403},
			{"PUT", "/v1/users/" + otherUID, map[string]any{"spec": map[string]any{"firstName": "Changed"}}, 403},
			{"PATCH", "/v1/users/" + otherUID + "/status/loginMode", map[string]any{"loginMode": "dev"}, 403},
			{"PATCH", "/v1/users/" + otherUID + "/password/change", map[string]any{"newPassword": "Pwn3d-password!"}, 403},
			{"PUT", "/v1/tenants/" + ten.UID + "/loginBanner", banner, 403},
			{"PUT", "/v1/tenants/" + ten.UID + "/authTokenSettings", map[string]any{"expiryTimeMinutes": 60}, 403},
			{"POST", "/v1/tenants", newTenant, 403},
			{"GET", "/v1/tenants", nil, 403},
			{"DELETE", "/v1/tenants/" + ten.UID, nil, 403},
			{"POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"userUid": otherUID}}, 403},
		})
		// Others' keys: visible to a viewer, not changeable.
		for _, c := range []check{
			{"PUT", "/v1/apiKeys/" + otherKeyUID, map[string]any{"metadata": map[string]any{"name": "pwned"}}, 0},
			{"PATCH", "/v1/apiKeys/" + otherKeyUID, map[string]any{"isActive": false}, 0},
			{"PUT", "/v1/apiKeys/" + otherKeyUID + "/state", map[string]any{"isActive": false}, 0},
			{"DELETE", "/v1/apiKeys/" + otherKeyUID, nil, 0},
		} {
			r := env.Do(c.method, c.path, c.body, "Authorization", viewer)
			if r.Status != 403 && r.Status != 404 {
				t.Errorf("viewer %s %s: %d, want 403 or 404", c.method, c.path, r.Status)
			}
		}
		// Self-service still works.
		secNewAPIKey(t, env, "viewer-key", nil, "Authorization", viewer)
		env.Do("PATCH", "/v1/users/"+viewerUID, patchName, "Authorization", viewer).Must(t, 204)
	})

	t.Run("no roles", func(t *testing.T) {
		run(t, plain, []check{
			{"GET", "/v1/users", nil, 403},
			{"GET", "/v1/users/meta", nil, 403},
			{"POST", "/v1/users/summary", map[string]any{}, 403},
			{"GET", "/v1/users/" + plainUID, nil, 200},
			{"GET", "/v1/users/" + otherUID, nil, 403},
			{"PATCH", "/v1/users/" + otherUID, patchName, 403},
			{"DELETE", "/v1/users/" + otherUID, nil, 403},
			{"POST", "/v1/users", newUser, 403},
			{"GET", "/v1/tenants/" + ten.UID, nil, 403},
			{"GET", "/v1/tenants/" + ten.UID + "/loginBanner", nil, 403},
			{"PUT", "/v1/tenants/" + ten.UID + "/loginBanner", banner, 403},
			{"GET", "/v1/apiKeys/" + otherKeyUID, nil, 404},
			{"PUT", "/v1/apiKeys/" + otherKeyUID, map[string]any{"metadata": map[string]any{"name": "pwned"}}, 404},
			{"PATCH", "/v1/apiKeys/" + otherKeyUID, map[string]any{"isActive": false}, 404},
			{"PUT", "/v1/apiKeys/" + otherKeyUID + "/state", map[string]any{"isActive": false}, 404},
			{"DELETE", "/v1/apiKeys/" + otherKeyUID, nil, 404},
			{"POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"userUid": otherUID}}, 403},
		})
		// Own keys: create, list (only own), get, update, revoke, delete.
		kUID, kSecret := secNewAPIKey(t, env, "mine", nil, "Authorization", plain)
		var list struct {
			Items []struct{ Metadata struct{ UID string } }
		}
		env.Do("GET", "/v1/apiKeys", nil, "Authorization", plain).Must(t, 200).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].Metadata.UID != kUID {
			t.Errorf("own key list = %+v, want only %s", list.Items, kUID)
		}
		env.Do("GET", "/v1/apiKeys/"+kUID, nil, "Authorization", plain).Must(t, 200)
		env.Do("GET", "/v1/apiKeys/"+kUID, nil, "ApiKey", kSecret).Must(t, 200)
		env.Do("PUT", "/v1/apiKeys/"+kUID, map[string]any{"metadata": map[string]any{"name": "renamed"}}, "Authorization", plain).Must(t, 204)
		env.Do("PATCH", "/v1/apiKeys/"+kUID, map[string]any{"isActive": false}, "Authorization", plain).Must(t, 204)
		env.Do("DELETE", "/v1/apiKeys/"+kUID, nil, "Authorization", plain).Must(t, 204)
		// The other user's key is untouched.
		var k struct {
			Metadata struct{ Name string }
			Status   struct{ IsActive bool }
		}
		env.Do("GET", "/v1/apiKeys/"+otherKeyUID, nil, "Authorization", other).Must(t, 200).JSON(t, &k)
		if k.Metadata.Name != "other-key" || !k.Status.IsActive {
			t.Errorf("other's key changed: %+v", k)
		}
		// Nothing of the other user changed.
		if u := secUser(t, env, ten.UID, otherUID); u.FirstName != "Test" || u.Disabled {
			t.Errorf("other user changed: %+v", u)
		}
	})

	t.Run("tenant admin", func(t *testing.T) {
		run(t, ten.AdminToken, []check{
			{"POST", "/v1/tenants", newTenant, 403},
			{"GET", "/v1/tenants", nil, 403},
			{"DELETE", "/v1/tenants/" + ten.UID, nil, 403},
			{"GET", "/v1/users", nil, 200},
			{"GET", "/v1/tenants/" + ten.UID, nil, 200},
		})
		// A tenant admin cannot grant the system role.
		r := env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "sys@acme.example.com", "firstName": "S", "roles": []string{orgauth.RoleSystemAdmin}}},
			"Authorization", ten.AdminToken)
		if r.Status != 400 && r.Status != 403 {
			t.Errorf("granting system-admin: %d", r.Status)
		}
		if n, _ := env.Store.CountTenants(context.Background()); n != 1 {
			t.Errorf("%d tenants", n)
		}
	})
}

// TestSec17_NoCredentials: every operation that is not public answers 401 to a
// caller without credentials, and does nothing.
func TestSec17_NoCredentials(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	uid, tok := env.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	keyUID, _ := secNewAPIKey(t, env, "k", nil, "Authorization", tok)
	tu := "/v1/tenants/" + ten.UID
	routes := [][2]string{
		{"GET", "/v1/auth/orgs"},
		{"GET", "/v1/users/info"},
		{"POST", "/v1/users/auth/tokens/revoke"},
		{"GET", "/v1/tenants"},
		{"POST", "/v1/tenants"},
		{"GET", tu},
		{"DELETE", tu},
		{"GET", tu + "/authTokenSettings"},
		{"PUT", tu + "/authTokenSettings"},
		{"GET", tu + "/loginBanner"},
		{"PUT", tu + "/loginBanner"},
		{"GET", "/v1/users"},
		{"POST", "/v1/users"},
		{"POST", "/v1/users/summary"},
		{"GET", "/v1/users/meta"},
		{"GET", "/v1/users/" + uid},
		{"PUT", "/v1/users/" + uid},
		{"PATCH", "/v1/users/" + uid},
		{"DELETE", "/v1/users/" + uid},
		{"PATCH", "/v1/users/" + uid + "/status/loginMode"},
		{"PATCH", "/v1/users/" + uid + "/password/change"},
		{"GET", "/v1/apiKeys"},
		{"POST", "/v1/apiKeys"},
		{"GET", "/v1/apiKeys/" + keyUID},
		{"PUT", "/v1/apiKeys/" + keyUID},
		{"DELETE", "/v1/apiKeys/" + keyUID},
		{"PATCH", "/v1/apiKeys/" + keyUID},
		{"PUT", "/v1/apiKeys/" + keyUID + "/state"},
	}
	bodies := map[string]any{
		"PUT":   map[string]any{"isActive": false, "expiryTimeMinutes": 60},
		"PATCH": map[string]any{"isActive": false, "loginMode": "dev", "newPassword": "Pwn3d-password!"},
		"POST":  map[string]any{},
	}
	for _, rt := range routes {
		for _, creds := range [][]string{
			nil,
			{"Authorization", ""},
			{"Authorization", "Bearer"},
			{"Authorization", "Bearer "},
			{"ApiKey", ""},
			{"Cookie", "Authorization="},
			{"Cookie", "session=" + tok},
			{"X-Authorization", tok},
			{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob@acme.example.com:B0b-password!"))},
		} {
			var body any
			if b, ok := bodies[rt[0]]; ok {
				body = b
			}
			r := env.Do(rt[0], rt[1], body, creds...)
			if r.Status != 401 || r.Code() != orgauth.EUNAUTHORIZED {
				t.Errorf("%s %s with %v: %d %s, want 401", rt[0], rt[1], creds, r.Status, r.Body)
			}
		}
	}
	secAlive(t, env, tok)
	env.Do("GET", "/v1/users/info", nil, "ApiKey", "x").Must(t, 401)
	env.Do("GET", "/v1/apiKeys/"+keyUID, nil, "Authorization", tok).Must(t, 200)
	if u := secUser(t, env, ten.UID, uid); u.Disabled || u.LoginMode != "devops" {
		t.Errorf("user changed: %+v", u)
	}
}

// --- 19. Mass assignment -----------------------------------------------------------

func TestSec19_NoMassAssignment(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	other := env.NewTenant("other")
	uid, tok := env.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	self := "/v1/users/" + uid

	for _, op := range []map[string]any{
		{"op": "replace", "path": "/spec/roles", "value": []string{orgauth.RoleTenantAdmin}},
		{"op": "add", "path": "/spec/roles", "value": []string{orgauth.RoleSystemAdmin}},
		{"op": "replace", "path": "/status/isActive", "value": false},
		{"op": "replace", "path": "/spec/emailId", "value": "admin@acme.example.com"},
		{"op": "replace", "path": "/metadata/annotations", "value": map[string]string{"tenantUid": other.UID}},
		{"op": "replace", "path": "/metadata/labels", "value": map[string]string{"role": "admin"}},
	} {
		r := env.Do("PATCH", self, []map[string]any{op}, "Authorization", tok)
		if r.Status != 403 {
			t.Errorf("self PATCH %v: %d %s, want 403", op, r.Status, r.Body)
		}
		// Hidden behind an allowed operation, too.
		r = env.Do("PATCH", self, []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "Sneaky"}, op}, "Authorization", tok)
		if r.Status != 403 {
			t.Errorf("self PATCH name + %v: %d, want 403", op, r.Status)
		}
	}
	for _, path := range []string{"/metadata/uid", "/spec/tenantUid", "/status/isPasswordResetting", "/spec/password", "/spec/roles/0", "/status"} {
		r := env.Do("PATCH", self, []map[string]any{{"op": "replace", "path": path, "value": "x"}}, "Authorization", tok)
		if r.Status != 400 && r.Status != 403 {
			t.Errorf("self PATCH %s: %d, want 400 or 403", path, r.Status)
		}
	}
	for _, body := range []map[string]any{
		{"spec": map[string]any{"firstName": "Bob", "roles": []string{orgauth.RoleTenantAdmin}}},
		{"spec": map[string]any{"firstName": "Bob", "roles": []string{}}},
		{"spec": map[string]any{"firstName": "Bob", "emailId": "admin@acme.example.com"}},
		{"metadata": map[string]any{"annotations": map[string]string{"x": "y"}}, "spec": map[string]any{"firstName": "Bob"}},
	} {
		if r := env.Do("PUT", self, body, "Authorization", tok); r.Status != 403 {
			t.Errorf("self PUT %v: %d %s, want 403", body, r.Status, r.Body)
		}
	}
	for _, body := range []map[string]any{
		{"spec": map[string]any{"firstName": "Bob", "tenantUid": other.UID}},
		{"tenantUid": other.UID, "spec": map[string]any{"firstName": "Bob"}},
		{"status": map[string]any{"isActive": false}, "spec": map[string]any{"firstName": "Bob"}},
		{"spec": map[string]any{"firstName": "Bob", "isActive": false}},
		{"spec": map[string]any{"firstName": "Bob", "password": "Pwn3d-password!"}},
	} {
		if r := env.Do("PUT", self, body, "Authorization", tok); r.Status != 400 {
			t.Errorf("self PUT %v: %d %s, want 400", body, r.Status, r.Body)
		}
	}
	// Even a tenant admin cannot change their own roles or disable themselves.
	env.Do("PATCH", "/v1/users/"+ten.AdminUID, []map[string]any{{"op": "replace", "path": "/spec/roles", "value": []string{}}},
		"Authorization", ten.AdminToken).Must(t, 403)
	env.Do("PATCH", "/v1/users/"+ten.AdminUID, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", ten.AdminToken).Must(t, 403)
	env.Do("PUT", "/v1/users/"+ten.AdminUID, map[string]any{"spec": map[string]any{"roles": []string{orgauth.RoleTenantViewer}}},
		"Authorization", ten.AdminToken).Must(t, 403)
	// A key made for oneself cannot name another user.
	env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"userUid": ten.AdminUID}},
		"Authorization", tok).Must(t, 403)

	// What the user may change works; the rest stayed as it was.
	env.Do("PATCH", self, []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "Robert"}}, "Authorization", tok).Must(t, 204)
	u := secUser(t, env, ten.UID, uid)
	if len(u.Roles) != 0 || u.Disabled || u.TenantID != ten.UID || u.Email != "bob@acme.example.com" ||
		len(u.Annotations) != 0 || len(u.Labels) != 0 || u.FirstName != "Robert" {
		t.Errorf("user after the attempts: %+v", u)
	}
	var info struct{ TenantUID string }
	env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200).JSON(t, &info)
	if info.TenantUID != ten.UID {
		t.Errorf("tenant %s", info.TenantUID)
	}
	env.Do("GET", "/v1/users", nil, "Authorization", tok).Must(t, 403)
	a := secUser(t, env, ten.UID, ten.AdminUID)
	if len(a.Roles) != 1 || a.Roles[0] != orgauth.RoleTenantAdmin || a.Disabled {
		t.Errorf("admin after the attempts: %+v", a)
	}
}

// --- 34. Rate limits -----------------------------------------------------------

func TestSec34_RateLimits(t *testing.T) {
	env := apitest.New(t, apitest.Options{AuthRate: 10, AuthBurst: 5})
	ten := env.NewTenant("acme")   // uses 4 of the 5
	env.Clock.Advance(time.Second) // full bucket again
	limited, ok := 0, 0
	for range 20 {
		r := env.Do("GET", "/v1/auth/org?orgName=acme", nil)
		switch r.Status {
		case 200:
			ok++
		case 429:
			limited++
			if r.Code() != orgauth.ETOOMANY {
				t.Errorf("429 code %q", r.Code())
			}
			if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("429 Retry-After = %q", ra)
			}
		default:
			t.Errorf("status %d %s", r.Status, r.Body)
		}
	}
	if ok != 5 || limited != 15 {
		t.Errorf("%d answered, %d limited; want 5 and 15 (burst 5, clock stopped)", ok, limited)
	}
	// Sign-in is limited too, in a bucket of its own (one per client and operation).
	var statuses []int
	for range 7 {
		statuses = append(statuses, secLoginRaw(env, "acme", ten.AdminEmail, ten.AdminPassword, "?setCookie=false").Status)
	}
	if want := []int{200, 200, 200, 200, 200, 429, 429}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("sign-in statuses %v, want %v", statuses, want)
	}
	// Routes without a limit are unaffected.
	for range 20 {
		secAlive(t, env, ten.AdminToken)
	}
	// The bucket fills again with time.
	env.Clock.Advance(200 * time.Millisecond)
	env.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 200)
	env.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 200)
	env.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 429)
}

// TestSec34_RetryAfterSaysHowLong: with a slow rate the client is told to wait
// as long as it takes for the next request to be allowed, not a fixed second.
func TestSec34_RetryAfterSaysHowLong(t *testing.T) {
	env := apitest.New(t, apitest.Options{AuthRate: 0.1, AuthBurst: 1})
	env.Clock.Advance(time.Minute)
	env.Do("GET", "/v1/auth/org?orgName=system", nil).Must(t, 200)
	r := env.Do("GET", "/v1/auth/org?orgName=system", nil).Must(t, 429)
	if ra := r.Header.Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After = %q, want 10 (one request per 10 s)", ra)
	}
}

// --- 35. Bounded hashing -------------------------------------------------------

func TestSec35_BoundedHashing(t *testing.T) {
	env := apitest.New(t, apitest.Options{Hasher: &password.Config{Memory: 32 * 1024, Time: 2, Threads: 1, MaxInFlight: 1, MaxWait: 5 * time.Millisecond}})
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	env.NewUser(ten, "bob@acme.example.com", pw)

	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	noRetryAfter := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half right, half wrong: both hash.
			p := pw
			if i%2 == 1 {
				p = "Wr0ng-password!"
			}
			r := secLoginRaw(env, "acme", "bob@acme.example.com", p, "?setCookie=false")
			mu.Lock()
			statuses[r.Status]++
			if r.Status == 429 && r.Header.Get("Retry-After") == "" {
				noRetryAfter++
			}
			mu.Unlock()
		}()
	}
	// Meanwhile the rest of the service answers.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	served := 0
loop:
	for {
		select {
		case <-done:
			break loop
		default:
			secAlive(t, env, ten.AdminToken)
			served++
		}
	}
	secAlive(t, env, ten.AdminToken)
	t.Logf("statuses %v; %d requests served during the burst", statuses, served)
	if statuses[429] == 0 {
		t.Errorf("no 429 among 20 concurrent logins with one hashing slot: %v", statuses)
	}
	if noRetryAfter > 0 {
		t.Errorf("%d answers 429 without Retry-After", noRetryAfter)
	}
	for st, n := range statuses {
		if st != 200 && st != 401 && st != 429 && st != 503 {
			t.Errorf("%d answers with status %d", n, st)
		}
	}
}

// --- 36. Body limits -------------------------------------------------------------

func TestSec36_BodyLimit(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	ctx := context.Background()
	before, _ := env.Store.InTenant(ten.UID).CountUsers(ctx)
	big := `{"spec":{"emailId":"big@acme.example.com","firstName":"` + strings.Repeat("a", 2<<20) + `"}}`
	r := env.Do("POST", "/v1/users", big, "Authorization", ten.AdminToken).Must(t, 413)
	if code, _ := secErr(t, r); code == "" {
		t.Fatal("no code")
	}
	// Whitespace counts as much as anything.
	r = env.Do("POST", "/v1/users", `{"spec":{"emailId":"big@acme.example.com","firstName":"Big"}}`+strings.Repeat(" ", 2<<20),
		"Authorization", ten.AdminToken).Must(t, 413)
	secErr(t, r)
	// Unauthenticated callers: public routes refuse the size too.
	r = env.Do("POST", "/v1/auth/authenticate", `{"emailId":"a@b.c","password":"`+strings.Repeat("p", 2<<20)+`"}`).Must(t, 413)
	secErr(t, r)
	env.Do("PATCH", "/v1/auth/password/x.y/activate", `{"password":"`+strings.Repeat("p", 2<<20)+`"}`).Must(t, 413)
	if after, _ := env.Store.InTenant(ten.UID).CountUsers(ctx); after != before {
		t.Errorf("users %d -> %d", before, after)
	}
	if len(env.Mail.Messages("big@acme.example.com")) != 0 {
		t.Error("an invitation was sent")
	}
	// A body just under the limit is read.
	pad := strings.Repeat(" ", 1<<20-200)
	env.Do("POST", "/v1/users", `{"spec":{"emailId":"big@acme.example.com","firstName":"Big"}}`+pad, "Authorization", ten.AdminToken).Must(t, 201)
}

// TestSec35_BusyAttemptsDoNotLock: a sign-in answered 429 because every hashing
// slot was taken was never evaluated, so it is no failed attempt: the right
// password, refused for load six times, must not lock the account (behavior.md:
// "after 5 failures in a row an account is locked").
func TestSec35_BusyAttemptsDoNotLock(t *testing.T) {
	env := apitest.New(t, apitest.Options{Hasher: &password.Config{Memory: 32 * 1024, Time: 2, Threads: 1, MaxInFlight: 1, MaxWait: time.Millisecond}})
	ten := env.NewTenant("acme")
	const pw = "Us3r-password!"
	uid, _ := env.NewUser(ten, "bob@acme.example.com", pw)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				env.Hasher.Hash(context.Background(), "Busy-hash-1")
			}
		}()
	}
	busy := 0
	for i := 0; busy < 6 && i < 200; i++ {
		switch r := secLoginRaw(env, "acme", "bob@acme.example.com", pw, "?setCookie=false"); r.Status {
		case 429:
			busy++
		case 200:
			busy = 0
		default:
			stop()
			wg.Wait()
			t.Fatalf("right password under load: %d %s", r.Status, r.Body)
		}
	}
	stop()
	wg.Wait()
	if busy < 6 {
		t.Fatalf("could not get 6 busy answers in a row")
	}
	u := secUser(t, env, ten.UID, uid)
	r := secLoginRaw(env, "acme", "bob@acme.example.com", pw, "?setCookie=false")
	if r.Status != 200 {
		t.Errorf("after 6 sign-ins refused for load (never evaluated), the right password gets %d %s; "+
			"the store counted %d failures and locked the account until %v", r.Status, r.Body, u.FailedLogins, u.LockedUntil)
	}
}
