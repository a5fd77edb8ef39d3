package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/orgauth/orgauth"
)

// memKeyStore is a KeyStore in memory.
type memKeyStore struct {
	mu   sync.Mutex
	keys []*orgauth.SigningKey
}

func (s *memKeyStore) SigningKeys(ctx context.Context, now time.Time) ([]*orgauth.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*orgauth.SigningKey
	for _, k := range s.keys {
		if now.Before(k.ExpiresAt) {
			c := *k
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *orgauth.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *memKeyStore) CreateSigningKey(ctx context.Context, k *orgauth.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.ID == k.ID {
			return orgauth.Errorf(orgauth.ECONFLICT, "key exists")
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

func (s *memKeyStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testMasterKey = bytes.Repeat([]byte{7}, MasterKeySize)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "orgauth"
)

func testConfig(c *clock) Config {
	return Config{Issuer: testIssuer, Audience: testAudience, MasterKey: testMasterKey, Now: c.Now}
}

func newIssuer(t testing.TB, ks KeyStore, cfg Config) *Issuer {
	t.Helper()
	i, err := NewIssuer(context.Background(), ks, cfg)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return i
}

func claimsAt(now time.Time) Claims {
	return Claims{UserID: "u1", TenantID: "t1", OrgName: "acme", SessionID: "s1", ExpiresAt: now.Add(time.Hour)}
}

func sign(t testing.TB, i *Issuer, c Claims) string {
	t.Helper()
	raw, err := i.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return raw
}

// wantInvalid checks that Verify refuses raw with the one client-safe error.
func wantInvalid(t *testing.T, i *Issuer, name, raw string) {
	t.Helper()
	c, err := i.Verify(raw)
	if err == nil {
		t.Errorf("%s: Verify succeeded: %+v", name, c)
		return
	}
	if orgauth.ErrorCode(err) != orgauth.EUNAUTHORIZED || orgauth.ErrorMessage(err) != "invalid or expired token" {
		t.Errorf("%s: Verify error = %v; want %s %q", name, err, orgauth.EUNAUTHORIZED, "invalid or expired token")
	}
	if c != (Claims{}) {
		t.Errorf("%s: Verify returned claims %+v with its error", name, c)
	}
}

func wantValid(t *testing.T, i *Issuer, name, raw string) Claims {
	t.Helper()
	c, err := i.Verify(raw)
	if err != nil {
		t.Errorf("%s: Verify: %v", name, err)
	}
	return c
}

// craft signs claims with any method, key and header.
func craft(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("craft: %v", err)
	}
	return raw
}

// goodClaims are claims that pass every check at now.
func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer, "aud": []string{testAudience},
		"sub": "u1", "tid": "t1", "sid": "s1", "typ": "access", "jti": "j1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	c = maps(c)
	for n := 0; n < len(kv); n += 2 {
		if kv[n+1] == nil {
			delete(c, kv[n].(string))
		} else {
			c[kv[n].(string)] = kv[n+1]
		}
	}
	return c
}

func maps(c jwt.MapClaims) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	return out
}

func TestSignVerify(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, testConfig(clk))
	now := clk.Now()
	in := claimsAt(now)
	raw := sign(t, i, in)

	got := wantValid(t, i, "round trip", raw)
	if got.ID == "" {
		t.Error("Sign set no ID")
	}
	want := in
	want.ID, want.IssuedAt, want.NotBefore = got.ID, now, now
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times = %v %v %v; want %v %v %v", got.IssuedAt, got.NotBefore, got.ExpiresAt, want.IssuedAt, want.NotBefore, want.ExpiresAt)
	}
	got.IssuedAt, got.NotBefore, got.ExpiresAt = want.IssuedAt, want.NotBefore, want.ExpiresAt
	if got != want {
		t.Errorf("Verify = %+v; want %+v", got, want)
	}
	if other := sign(t, i, in); wantValid(t, i, "second", other).ID == got.ID {
		t.Error("two tokens got the same ID")
	}

	// Header and payload as other services see them.
	parts := strings.Split(raw, ".")
	var header map[string]any
	decodeSegment(t, parts[0], &header)
	kid := i.keys.Load().list[0].id
	if header["alg"] != "EdDSA" || header["typ"] != "JWT" || header["kid"] != kid || len(header) != 3 {
		t.Errorf("header = %v", header)
	}
	var payload map[string]any
	decodeSegment(t, parts[1], &payload)
	for k, v := range map[string]any{"iss": testIssuer, "sub": "u1", "tid": "t1", "org": "acme", "sid": "s1", "typ": "access"} {
		if payload[k] != v {
			t.Errorf("claim %s = %v; want %v", k, payload[k], v)
		}
	}
	if aud, _ := payload["aud"].([]any); len(aud) != 1 || aud[0] != testAudience {
		t.Errorf("claim aud = %v", payload["aud"])
	}

	// An explicit ID and times are kept.
	in2 := Claims{UserID: "u2", TenantID: "t2", SessionID: "s2", ID: "my-id",
		IssuedAt: now.Add(-time.Minute), NotBefore: now.Add(-30 * time.Second), ExpiresAt: now.Add(time.Minute)}
	got2 := wantValid(t, i, "explicit", sign(t, i, in2))
	if got2.ID != "my-id" || !got2.IssuedAt.Equal(in2.IssuedAt) || !got2.NotBefore.Equal(in2.NotBefore) || got2.OrgName != "" {
		t.Errorf("Verify = %+v; want %+v", got2, in2)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestSignRejects(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, testConfig(clk))
	now := clk.Now()
	for name, c := range map[string]Claims{
		"no user":       {TenantID: "t", SessionID: "s", ExpiresAt: now.Add(time.Hour)},
		"no tenant":     {UserID: "u", SessionID: "s", ExpiresAt: now.Add(time.Hour)},
		"no session":    {UserID: "u", TenantID: "t", ExpiresAt: now.Add(time.Hour)},
		"no expiry":     {UserID: "u", TenantID: "t", SessionID: "s"},
		"expired":       {UserID: "u", TenantID: "t", SessionID: "s", ExpiresAt: now.Add(-time.Second)},
		"too long":      {UserID: "u", TenantID: "t", SessionID: "s", ExpiresAt: now.Add(MaxLifetime + time.Second)},
		"long, old iat": {UserID: "u", TenantID: "t", SessionID: "s", IssuedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(time.Hour)},
	} {
		if raw, err := i.Sign(c); err == nil {
			t.Errorf("Sign(%s) = %q; want an error", name, raw)
		}
	}
	if _, err := i.Sign(Claims{UserID: "u", TenantID: "t", SessionID: "s", ExpiresAt: now.Add(MaxLifetime)}); err != nil {
		t.Errorf("Sign(MaxLifetime): %v", err)
	}
}

func selfSignedCert(t *testing.T, key ed25519.PrivateKey) string {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: testIssuer},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// TestForged checks that every kind of forged token of security.md item 1 is
// refused, along with tokens that are signed right but say the wrong thing.
func TestForged(t *testing.T) {
	clk := newClock()
	ks := &memKeyStore{}
	i := newIssuer(t, ks, testConfig(clk))
	now := clk.Now()
	ours := i.keys.Load().signer(now)
	kid := ours.id
	good := goodClaims(now)
	// Sanity: our own key, our header, good claims.
	wantValid(t, i, "crafted good token", craft(t, jwt.SigningMethodEdDSA, ours.private, map[string]any{"kid": kid}, good))

	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	attackerX := base64.RawURLEncoding.EncodeToString(attacker.Public().(ed25519.PublicKey))
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": attackerX, "kid": "attacker"}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := i.JWKS()
	var set struct{ Keys []struct{ X string } }
	json.Unmarshal(jwks, &set)

	valid := sign(t, i, claimsAt(now))
	parts := strings.Split(valid, ".")
	tamper := func(payload map[string]any) string {
		b, _ := json.Marshal(payload)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	var payload map[string]any
	decodeSegment(t, parts[1], &payload)
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1

	otherIss := newIssuer(t, ks, Config{Issuer: "https://evil.example.com", Audience: testAudience, MasterKey: testMasterKey, Now: clk.Now})
	otherAud := newIssuer(t, ks, Config{Issuer: testIssuer, Audience: "other-service", MasterKey: testMasterKey, Now: clk.Now})

	ed := jwt.SigningMethodEdDSA
	forged := map[string]string{
		"alg none":                      craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, good),
		"alg None":                      noneToken("None", kid, good),
		"alg NONE":                      noneToken("NONE", kid, good),
		"alg none, signature":           noneToken("none", kid, good) + "c2ln",
		"HS256 with the raw public key": craft(t, jwt.SigningMethodHS256, []byte(ours.public), map[string]any{"kid": kid}, good),
		"HS256 with the JWKS x":         craft(t, jwt.SigningMethodHS256, []byte(set.Keys[0].X), map[string]any{"kid": kid}, good),
		"HS256 with the JWKS":           craft(t, jwt.SigningMethodHS256, jwks, map[string]any{"kid": kid}, good),
		"HS512 with the raw public key": craft(t, jwt.SigningMethodHS512, []byte(ours.public), map[string]any{"kid": kid}, good),
		"RS256":                         craft(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": kid}, good),
		"PS256":                         craft(t, jwt.SigningMethodPS256, rsaKey, map[string]any{"kid": kid}, good),
		"ES256":                         craft(t, jwt.SigningMethodES256, ecKey, map[string]any{"kid": kid}, good),
		"EdDSA, attacker key, our kid":  craft(t, ed, attacker, map[string]any{"kid": kid}, good),
		"EdDSA, attacker key, no kid":   craft(t, ed, attacker, nil, good),
		"embedded jwk, our kid":         craft(t, ed, attacker, map[string]any{"kid": kid, "jwk": attackerJWK}, good),
		"embedded jwk, its kid":         craft(t, ed, attacker, map[string]any{"kid": "attacker", "jwk": attackerJWK}, good),
		"embedded jwk, no kid":          craft(t, ed, attacker, map[string]any{"jwk": attackerJWK}, good),
		"jku":                           craft(t, ed, attacker, map[string]any{"kid": "attacker", "jku": "https://evil.example.com/jwks.json"}, good),
		"jku, our kid":                  craft(t, ed, attacker, map[string]any{"kid": kid, "jku": "https://evil.example.com/jwks.json"}, good),
		"x5u":                           craft(t, ed, attacker, map[string]any{"kid": kid, "x5u": "https://evil.example.com/cert.pem"}, good),
		"x5c":                           craft(t, ed, attacker, map[string]any{"kid": kid, "x5c": []string{selfSignedCert(t, attacker)}}, good),
		"x5c, no kid":                   craft(t, ed, attacker, map[string]any{"x5c": []string{selfSignedCert(t, attacker)}}, good),
		"unknown kid":                   craft(t, ed, attacker, map[string]any{"kid": orgauth.NewID()}, good),
		"no kid, our key":               craft(t, ed, ours.private, nil, good),
		"kid path traversal":            craft(t, ed, ours.private, map[string]any{"kid": "../../../../../../dev/null"}, good),
		"kid path traversal to our kid": craft(t, ed, ours.private, map[string]any{"kid": "../" + kid}, good),
		"kid SQL":                       craft(t, ed, ours.private, map[string]any{"kid": "' OR '1'='1' --"}, good),
		"kid SQL union":                 craft(t, ed, ours.private, map[string]any{"kid": kid + "' UNION SELECT 'x"}, good),
		"kid long":                      craft(t, ed, ours.private, map[string]any{"kid": strings.Repeat("a", 5000)}, good),
		"kid long with our kid":         craft(t, ed, ours.private, map[string]any{"kid": kid + strings.Repeat(" ", 100)}, good),
		"kid NUL":                       craft(t, ed, ours.private, map[string]any{"kid": kid + "\x00"}, good),
		"kid upper case":                craft(t, ed, ours.private, map[string]any{"kid": strings.ToUpper(kid)}, good),
		"kid empty":                     craft(t, ed, ours.private, map[string]any{"kid": ""}, good),
		"kid number":                    craft(t, ed, ours.private, map[string]any{"kid": 1}, good),
		"kid array":                     craft(t, ed, ours.private, map[string]any{"kid": []string{kid}}, good),
		"kid object":                    craft(t, ed, ours.private, map[string]any{"kid": map[string]string{"id": kid}}, good),
		"crit":                          craft(t, ed, ours.private, map[string]any{"kid": kid, "crit": []string{"exp"}}, good),
		"tampered sub":                  tamper(with(payload, "sub", "admin")),
		"tampered tid":                  tamper(with(payload, "tid", "t2")),
		"tampered exp":                  tamper(with(payload, "exp", now.Add(10*time.Hour).Unix())),
		"tampered signature":            parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig),
		"no signature":                  parts[0] + "." + parts[1] + ".",
		"signature of another token":    parts[0] + "." + parts[1] + "." + strings.Split(sign(t, i, claimsAt(now)), ".")[2],
		"padded signature":              valid + "=",
		"four segments":                 valid + ".e30",
		"two segments":                  parts[0] + "." + parts[1],
		"other issuer":                  sign(t, otherIss, claimsAt(now)),
		"other audience":                sign(t, otherAud, claimsAt(now)),
		"iss missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "iss", nil)),
		"iss prefix":                    craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "iss", testIssuer+"/x")),
		"aud missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "aud", nil)),
		"aud other":                     craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "aud", []string{"other"})),
		"aud empty":                     craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "aud", []string{})),
		"typ missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "typ", nil)),
		"typ refresh":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "typ", "refresh")),
		"typ activation":                craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "typ", orgauth.PurposeActivation)),
		"typ Access":                    craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "typ", "Access")),
		"sub missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "sub", nil)),
		"tid missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "tid", nil)),
		"sid missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "sid", nil)),
		"sid empty":                     craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "sid", "")),
		"tid number":                    craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "tid", 7)),
		"exp missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "exp", nil)),
		"exp string":                    craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "exp", "never")),
		"iat missing":                   craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "iat", nil)),
		"iat in the future":             craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "iat", now.Add(5*time.Minute).Unix())),
		"lifetime over 24h":             craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "iat", now.Add(-25*time.Hour).Unix())),
		"exp far away":                  craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "exp", now.Add(365*24*time.Hour).Unix())),
		"nbf in the future":             craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "nbf", now.Add(5*time.Minute).Unix())),
		"oversized":                     craft(t, ed, ours.private, map[string]any{"kid": kid}, with(good, "pad", strings.Repeat("x", MaxTokenSize))),
		"1 MB":                          strings.Repeat("A", 1<<20),
		"empty":                         "",
		"dots":                          "..",
		"garbage":                       "not a token",
		"Bearer prefix":                 "Bearer " + valid,
		"whitespace":                    " " + valid,
		"standard base64 header":        base64.StdEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+kid+`"}`)) + "." + parts[1] + "." + parts[2],
	}
	for name, raw := range forged {
		wantInvalid(t, i, name, raw)
	}
	// And the originals still work.
	wantValid(t, i, "valid", valid)
}

// noneToken builds an unsigned token by hand, for alg spellings the jwt
// package does not produce.
func noneToken(alg, kid string, claims jwt.MapClaims) string {
	h, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestTimes(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, testConfig(clk))
	t0 := clk.Now()
	c := claimsAt(t0)
	c.ExpiresAt = t0.Add(10 * time.Minute)
	expiring := sign(t, i, c)
	c.NotBefore = t0.Add(5 * time.Minute)
	notYet := sign(t, i, c)
	issuedLater := sign(t, i, Claims{UserID: "u", TenantID: "t", SessionID: "s", IssuedAt: t0.Add(5 * time.Minute), ExpiresAt: t0.Add(10 * time.Minute)})

	wantValid(t, i, "fresh", expiring)
	wantInvalid(t, i, "nbf 5m ahead", notYet)
	wantInvalid(t, i, "iat 5m ahead", issuedLater)

	clk.Add(4*time.Minute + 30*time.Second) // nbf and iat 30s ahead: within leeway
	wantValid(t, i, "nbf 30s ahead", notYet)
	wantValid(t, i, "iat 30s ahead", issuedLater)

	clk.Add(6 * time.Minute) // t0+10m30s: exp 30s ago, within leeway
	wantValid(t, i, "exp 30s ago", expiring)

	clk.Add(time.Minute) // t0+11m30s: exp 90s ago
	wantInvalid(t, i, "exp 90s ago", expiring)
	wantInvalid(t, i, "exp 90s ago, nbf", notYet)
}

// TestRotation follows one key through its life: it signs for SignFor, a
// successor is created by Rotate, the old key verifies until VerifyFor more
// has passed, then it is gone.
func TestRotation(t *testing.T) {
	clk := newClock()
	ks := &memKeyStore{}
	cfg := testConfig(clk)
	i := newIssuer(t, ks, cfg)
	t0 := clk.Now()
	k1 := i.keys.Load().signer(t0)

	// Rotate before the window creates nothing.
	clk.Add(DefaultSignFor - rotateAhead - time.Hour)
	if err := i.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ks.len() != 1 {
		t.Fatalf("%d keys after an early Rotate; want 1", ks.len())
	}

	// Just before K1 retires, with no Rotate in its last day.
	clk.Add(rotateAhead) // t0 + SignFor - 1h
	old := sign(t, i, Claims{UserID: "u", TenantID: "t", SessionID: "s", ExpiresAt: clk.Now().Add(MaxLifetime)})

	clk.Add(2 * time.Hour) // t0 + SignFor + 1h: K1 retired
	if raw, err := i.Sign(claimsAt(clk.Now())); err == nil {
		t.Errorf("Sign with only a retired key = %q; want an error", raw)
	}
	if err := i.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ks.len() != 2 {
		t.Fatalf("%d keys after Rotate; want 2", ks.len())
	}
	wantValid(t, i, "old token after rotation", old)
	fresh := sign(t, i, claimsAt(clk.Now()))
	if kidOf(t, fresh) == k1.id || kidOf(t, old) != k1.id {
		t.Errorf("fresh token signed by %s, old by %s; K1 is %s", kidOf(t, fresh), kidOf(t, old), k1.id)
	}
	wantValid(t, i, "fresh token", fresh)
	if kids := jwksKIDs(t, i); len(kids) != 2 || !slices.Contains(kids, k1.id) || !slices.Contains(kids, kidOf(t, fresh)) {
		t.Errorf("JWKS kids = %v; want K1 and K2", kids)
	}

	// A token K1 signs after it retired is refused: only a thief of the
	// retired key could make one.
	late := craft(t, jwt.SigningMethodEdDSA, k1.private, map[string]any{"kid": k1.id}, goodClaims(clk.Now()))
	wantInvalid(t, i, "signed by a retired key", late)

	clk.Add(22*time.Hour + 30*time.Second) // t0 + SignFor + 23h00m30s: old expired 30s ago
	wantValid(t, i, "longest-lived token of K1, within leeway", old)
	clk.Add(time.Minute)
	wantInvalid(t, i, "longest-lived token of K1, expired", old)

	// K1 expires at t0 + SignFor + VerifyFor. Until then it is published.
	clk.Add(k1.expiresAt.Add(-time.Minute).Sub(clk.Now()))
	if kids := jwksKIDs(t, i); !slices.Contains(kids, k1.id) {
		t.Errorf("JWKS kids 1m before K1 expires = %v; want K1 in it", kids)
	}

	clk.Add(2 * time.Minute) // K1 expired; not yet reloaded
	if kids := jwksKIDs(t, i); len(kids) != 1 || kids[0] == k1.id {
		t.Errorf("JWKS kids after K1 expired = %v; want K2 only", kids)
	}
	wantInvalid(t, i, "old token after K1 expired", old)
	if err := i.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := i.keys.Load().byID[k1.id]; ok {
		t.Error("K1 still loaded after it expired")
	}
	wantValid(t, i, "K2 after K1 expired", sign(t, i, claimsAt(clk.Now())))
}

// TestPreRotation checks the usual case: Rotate runs often, creates the
// successor a day early, and the successor signs only when the current key
// retires.
func TestPreRotation(t *testing.T) {
	clk := newClock()
	ks := &memKeyStore{}
	a := newIssuer(t, ks, testConfig(clk))
	b := newIssuer(t, ks, testConfig(clk)) // a second instance on the same store
	t0 := clk.Now()
	k1 := a.keys.Load().list[0].id
	if ks.len() != 1 {
		t.Fatalf("%d keys after two NewIssuer; want 1", ks.len())
	}
	fromA := sign(t, a, claimsAt(t0))
	wantValid(t, b, "a's token at b", fromA)

	clk.Add(DefaultSignFor - 12*time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := a.Rotate(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ks.len() != 2 {
		t.Fatalf("%d keys after concurrent Rotate; want 2", ks.len())
	}
	if err := b.Rotate(context.Background()); err != nil { // reloads, creates nothing
		t.Fatal(err)
	}
	if ks.len() != 2 {
		t.Fatalf("%d keys after b.Rotate; want 2", ks.len())
	}
	if kid := kidOf(t, sign(t, a, claimsAt(clk.Now()))); kid != k1 {
		t.Errorf("the new key signs before the old one retires (kid %s, K1 %s)", kid, k1)
	}
	if kids := jwksKIDs(t, b); len(kids) != 2 {
		t.Errorf("JWKS of b lists %v; want the successor published early", kids)
	}

	clk.Add(13 * time.Hour) // K1 retired; nobody called Rotate since
	tok := sign(t, a, claimsAt(clk.Now()))
	if kidOf(t, tok) == k1 {
		t.Error("K1 signs after it retired")
	}
	wantValid(t, b, "a's token signed with K2, at b", tok)
	wantValid(t, a, "a's token signed with K2, at a", tok)
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	var h map[string]any
	decodeSegment(t, strings.Split(raw, ".")[0], &h)
	kid, _ := h["kid"].(string)
	return kid
}

func jwksKIDs(t *testing.T, i *Issuer) []string {
	t.Helper()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(i.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestJWKS(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, testConfig(clk))
	raw := sign(t, i, claimsAt(clk.Now()))
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(i.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS = %s", i.JWKS())
	}
	k := set.Keys[0]
	want := map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": kidOf(t, raw), "use": "sig", "alg": "EdDSA", "x": k["x"]}
	if len(k) != len(want) {
		t.Errorf("JWK = %v; want %v", k, want)
	}
	for n, v := range want {
		if k[n] != v {
			t.Errorf("JWK %s = %q; want %q", n, k[n], v)
		}
	}
	// Someone else verifies our token with the published key alone.
	pub, err := base64.RawURLEncoding.DecodeString(k["x"])
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("x = %q: %v", k["x"], err)
	}
	_, err = jwt.Parse(raw, func(*jwt.Token) (any, error) { return ed25519.PublicKey(pub), nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(clk.Now))
	if err != nil {
		t.Errorf("verify with the JWKS key: %v", err)
	}
	if bytes.Contains(i.JWKS(), []byte(`"d"`)) {
		t.Error("JWKS has a private key")
	}
}

func TestNewIssuerConfig(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, Config{Issuer: "i", Audience: "a", MasterKey: testMasterKey})
	if i.cfg.SignFor != 30*24*time.Hour || i.cfg.VerifyFor != 48*time.Hour || i.cfg.Leeway != time.Minute || i.cfg.Now == nil {
		t.Errorf("defaults = %+v", i.cfg)
	}
	good := testConfig(clk)
	for name, change := range map[string]func(*Config){
		"no issuer":        func(c *Config) { c.Issuer = "" },
		"no audience":      func(c *Config) { c.Audience = "" },
		"no master key":    func(c *Config) { c.MasterKey = nil },
		"short master key": func(c *Config) { c.MasterKey = testMasterKey[:16] },
		"long master key":  func(c *Config) { c.MasterKey = append(slices.Clone(testMasterKey), 0) },
		"leeway 2m":        func(c *Config) { c.Leeway = 2 * time.Minute },
		"negative leeway":  func(c *Config) { c.Leeway = -time.Second },
		"SignFor 1h":       func(c *Config) { c.SignFor = time.Hour },
		"VerifyFor 24h":    func(c *Config) { c.VerifyFor = 24 * time.Hour },
		"VerifyFor 1h":     func(c *Config) { c.VerifyFor = time.Hour },
	} {
		cfg := good
		change(&cfg)
		if _, err := NewIssuer(context.Background(), &memKeyStore{}, cfg); err == nil {
			t.Errorf("NewIssuer(%s) succeeded", name)
		}
	}
}

func TestStoredKeys(t *testing.T) {
	clk := newClock()
	ks := &memKeyStore{}
	i := newIssuer(t, ks, testConfig(clk))
	k := i.keys.Load().signer(clk.Now())
	stored := ks.keys[0]
	if stored.ID != k.id || stored.Algorithm != "EdDSA" || !bytes.Equal(stored.PublicKey, k.public) {
		t.Errorf("stored key = %+v", stored)
	}
	if bytes.Contains(stored.SealedPrivate, k.private.Seed()) || bytes.Contains(stored.SealedPrivate, k.private) {
		t.Error("the private key is stored in the clear")
	}
	if !stored.RetiresAt.Equal(clk.Now().Add(DefaultSignFor)) || !stored.ExpiresAt.Equal(stored.RetiresAt.Add(DefaultVerifyFor)) {
		t.Errorf("stored times: created %v retires %v expires %v", stored.CreatedAt, stored.RetiresAt, stored.ExpiresAt)
	}

	// Another master key cannot use the stored keys.
	cfg := testConfig(clk)
	cfg.MasterKey = bytes.Repeat([]byte{8}, MasterKeySize)
	if _, err := NewIssuer(context.Background(), ks, cfg); err == nil {
		t.Error("NewIssuer with another master key succeeded")
	}
	// A sealed key moved to another kid does not open.
	swapped := *stored
	swapped.ID = orgauth.NewID()
	swapped.CreatedAt = stored.CreatedAt.Add(time.Second)
	ks2 := &memKeyStore{keys: []*orgauth.SigningKey{&swapped}}
	if _, err := NewIssuer(context.Background(), ks2, testConfig(clk)); err == nil {
		t.Error("NewIssuer with a sealed key under another kid succeeded")
	}
}

// failingStore fails every call.
type failingStore struct{}

func (failingStore) SigningKeys(context.Context, time.Time) ([]*orgauth.SigningKey, error) {
	return nil, errors.New("store down")
}
func (failingStore) CreateSigningKey(context.Context, *orgauth.SigningKey) error {
	return errors.New("store down")
}

func TestStoreDown(t *testing.T) {
	clk := newClock()
	if _, err := NewIssuer(context.Background(), failingStore{}, testConfig(clk)); err == nil {
		t.Error("NewIssuer with a failing store succeeded")
	}
}

// TestConcurrent signs and verifies while another goroutine rotates, for the
// race detector.
func TestConcurrent(t *testing.T) {
	clk := newClock()
	i := newIssuer(t, &memKeyStore{}, testConfig(clk))
	clk.Add(DefaultSignFor - time.Hour)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				raw, err := i.Sign(claimsAt(clk.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := i.Verify(raw); err != nil {
					t.Error(err)
				}
				i.JWKS()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := i.Rotate(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

// fuzzIssuer is an Issuer whose clock stands two days after the seed tokens
// were signed, so none of them is valid any more.
func fuzzIssuer(f *testing.F) (*Issuer, []string) {
	clk := newClock()
	i := newIssuer(f, &memKeyStore{}, testConfig(clk))
	now := clk.Now()
	ours := i.keys.Load().signer(now)
	seeds := []string{
		sign(f, i, claimsAt(now)),
		craft(f, jwt.SigningMethodEdDSA, ours.private, map[string]any{"kid": ours.id, "jwk": map[string]any{"kty": "OKP"}}, goodClaims(now)),
		craft(f, jwt.SigningMethodHS256, []byte(ours.public), map[string]any{"kid": ours.id}, goodClaims(now)),
		craft(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": ours.id}, goodClaims(now)),
		noneToken("none", ours.id, goodClaims(now)),
		"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJFZERTQSJ9.e30.AA",
	}
	clk.Add(48 * time.Hour)
	return i, seeds
}

func FuzzVerify(f *testing.F) {
	i, seeds := fuzzIssuer(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := i.Verify(raw)
		if err == nil {
			t.Fatalf("Verify(%q) = %+v; want an error", raw, c)
		}
		if orgauth.ErrorCode(err) != orgauth.EUNAUTHORIZED {
			t.Fatalf("Verify(%q) error code %s", raw, orgauth.ErrorCode(err))
		}
	})
}

func BenchmarkSign(b *testing.B) {
	clk := newClock()
	i := newIssuer(b, &memKeyStore{}, testConfig(clk))
	c := claimsAt(clk.Now())
	for b.Loop() {
		if _, err := i.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	clk := newClock()
	i := newIssuer(b, &memKeyStore{}, testConfig(clk))
	raw := sign(b, i, claimsAt(clk.Now()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	clk := newClock()
	i := newIssuer(b, &memKeyStore{}, testConfig(clk))
	raw := sign(b, i, claimsAt(clk.Now()))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := i.Verify(raw); err != nil {
				b.Error(err)
			}
		}
	})
}
