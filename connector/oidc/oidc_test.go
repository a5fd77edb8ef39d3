package oidc_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth/connector/oidc"
)

// This is a deliberately misbehaving OpenID provider (security items 22 and
// 23): its token endpoint answers each code with a different kind of ID token,
// good or bad, signed by hand.

const clientID = "orgauth-client"

type key struct {
	kid  string
	priv *rsa.PrivateKey
}

func newKey(t *testing.T, kid string) key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key{kid: kid, priv: k}
}

type badProvider struct {
	t         *testing.T
	srv       *httptest.Server
	issuer    string
	discIss   string // issuer the discovery names; default issuer
	mu        sync.Mutex
	published []key
	signer    key // signs the good tokens
	other     key // never published
	fetches   int // JWKS requests
	verifier  string
}

func newBadProvider(t *testing.T) *badProvider {
	p := &badProvider{t: t}
	p.signer = newKey(t, "k1")
	p.published = []key{p.signer}
	p.other = newKey(t, "k-unknown")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := p.issuer
		if p.discIss != "" {
			iss = p.discIss
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": p.issuer + "/authorize", "token_endpoint": p.issuer + "/token",
			"jwks_uri": p.issuer + "/keys", "response_types_supported": []string{"code"},
			"userinfo_endpoint":                     p.issuer + "/userinfo",
			"code_challenge_methods_supported":      []string{"S256"},
			"id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.fetches++
		var keys []map[string]string
		for _, k := range p.published {
			keys = append(keys, map[string]string{"kty": "RSA", "kid": k.kid, "use": "sig", "alg": "RS256",
				"n": b64(k.priv.N.Bytes()), "e": b64(big.NewInt(int64(k.priv.E)).Bytes())})
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		at := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		sub := "user-1"
		if at == "no-email-other-sub" {
			sub = "user-2"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": sub, "email": "ada@example.com", "email_verified": true})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		p.verifier = r.Form.Get("code_verifier")
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": r.Form.Get("code"), "token_type": "Bearer", "expires_in": 300,
			"id_token": p.token(r.Form.Get("code"))})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// token mints the ID token the code asks for.
func (p *badProvider) token(code string) string {
	now := time.Now()
	claims := map[string]any{
		"iss": p.issuer, "aud": clientID, "sub": "user-1", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nonce": "the-nonce", "email": "ada@example.com", "email_verified": true,
	}
	header := map[string]any{"alg": "RS256", "kid": p.signer.kid, "typ": "JWT"}
	k := p.signer
	switch code {
	case "wrong-iss":
		claims["iss"] = "https://evil.example"
	case "wrong-aud":
		claims["aud"] = "someone-else"
	case "multi-aud-no-azp":
		claims["aud"] = []string{clientID, "someone-else"}
	case "azp-other":
		claims["aud"] = []string{clientID, "someone-else"}
		claims["azp"] = "someone-else"
	case "expired":
		claims["exp"] = now.Add(-2 * time.Minute).Unix()
		claims["iat"] = now.Add(-10 * time.Minute).Unix()
	case "future-iat":
		claims["iat"] = now.Add(time.Hour).Unix()
	case "no-iat":
		delete(claims, "iat")
	case "wrong-nonce":
		claims["nonce"] = "another-nonce"
	case "no-nonce":
		delete(claims, "nonce")
	case "unverified":
		claims["email_verified"] = false
	case "no-email", "no-email-other-sub":
		delete(claims, "email")
		delete(claims, "email_verified")
	case "bad-signature":
		k = key{kid: "k1", priv: p.other.priv} // claims k1, signed by another key
	case "unknown-kid":
		k = p.other
		header["kid"] = k.kid
	case "alg-none":
		header["alg"] = "none"
		return encode(header) + "." + encode(claims) + "."
	case "hs256":
		header["alg"] = "HS256"
		pub, _ := x509.MarshalPKIXPublicKey(&p.signer.priv.PublicKey)
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
		in := encode(header) + "." + encode(claims)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + b64(m.Sum(nil))
	case "rotated":
		p.mu.Lock()
		k = p.published[len(p.published)-1]
		p.mu.Unlock()
		header["kid"] = k.kid
	}
	in := encode(header) + "." + encode(claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		p.t.Fatal(err)
	}
	return in + "." + b64(sig)
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return b64(b)
}

func connect(t *testing.T, p *badProvider, refetch time.Duration) *oidc.Connector {
	t.Helper()
	c, err := oidc.New(t.Context(), oidc.Config{Issuer: p.issuer, ClientID: clientID, ClientSecret: "s",
		RedirectURL: "http://orgauth.test/v1/auth/sso/x/callback", JWKSRefetch: refetch})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIDTokenValidation(t *testing.T) {
	p := newBadProvider(t)
	c := connect(t, p, time.Hour)
	id, err := c.Identify(t.Context(), "good", "the-nonce", "the-verifier")
	if err != nil {
		t.Fatalf("good token: %v", err)
	}
	if id.Subject != "user-1" || id.Email != "ada@example.com" || !id.EmailVerified {
		t.Fatalf("identity: %+v", id)
	}
	if p.verifier != "the-verifier" {
		t.Fatalf("PKCE verifier not sent: %q", p.verifier)
	}
	for _, code := range []string{"wrong-iss", "wrong-aud", "multi-aud-no-azp", "azp-other", "expired", "future-iat", "no-iat",
		"wrong-nonce", "no-nonce", "bad-signature", "unknown-kid", "alg-none", "hs256"} {
		if id, err := c.Identify(t.Context(), code, "the-nonce", "v"); err == nil {
			t.Errorf("%s: accepted as %+v", code, id)
		}
	}
	// An empty expected nonce never matches a token without one.
	if _, err := c.Identify(t.Context(), "no-nonce", "", "v"); err == nil {
		t.Error("no nonce on either side accepted")
	}
	// An unverified email passes through as unverified: the caller refuses it.
	id, err = c.Identify(t.Context(), "unverified", "the-nonce", "v")
	if err != nil || id.EmailVerified {
		t.Fatalf("unverified: %+v %v", id, err)
	}
}

// An ID token without the email: the userinfo endpoint gives it, for the same
// subject only.
func TestUserinfoFallback(t *testing.T) {
	p := newBadProvider(t)
	c := connect(t, p, time.Hour)
	id, err := c.Identify(t.Context(), "no-email", "the-nonce", "v")
	if err != nil || id.Email != "ada@example.com" || !id.EmailVerified || id.Subject != "user-1" {
		t.Fatalf("userinfo: %+v %v", id, err)
	}
	if id, err := c.Identify(t.Context(), "no-email-other-sub", "the-nonce", "v"); err == nil {
		t.Fatalf("userinfo of another subject accepted: %+v", id)
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	p := newBadProvider(t)
	p.discIss = "https://accounts.evil.example"
	_, err := oidc.New(t.Context(), oidc.Config{Issuer: p.issuer, ClientID: clientID})
	if err == nil || !strings.Contains(err.Error(), "names the issuer") {
		t.Fatalf("mismatched discovery: %v", err)
	}
}

func TestKeyRotationAndRefetchLimit(t *testing.T) {
	p := newBadProvider(t)
	c := connect(t, p, 300*time.Millisecond)
	if _, err := c.Identify(t.Context(), "good", "the-nonce", "v"); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	before := p.fetches
	p.mu.Unlock()
	// A flood of unknown kids costs at most one fetch per interval.
	for range 20 {
		if _, err := c.Identify(t.Context(), "unknown-kid", "the-nonce", "v"); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	p.mu.Lock()
	flood := p.fetches - before
	// The provider rotates to a new key.
	p.published = append(p.published, newKey(t, "k2"))
	p.mu.Unlock()
	if flood > 1 {
		t.Fatalf("20 unknown kids made %d key fetches, want at most 1", flood)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err := c.Identify(t.Context(), "rotated", "the-nonce", "v"); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, err := c.Identify(t.Context(), "good", "the-nonce", "v"); err != nil {
		t.Fatalf("old key after rotation: %v", err)
	}
}
