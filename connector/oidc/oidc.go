// Package oidc signs people in with an OpenID Connect provider: discovery, the
// authorization code flow with PKCE (S256) and nonce, and a fully validated ID
// token (issuer, audience and azp, signature by a key of the issuer's JWKS on an
// algorithm allowlist, exp and iat, nonce). It builds on coreos/go-oidc.
package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/orgauth/orgauth"
)

// Algorithms are the only signature algorithms an ID token may use: asymmetric
// ones, so neither "none" nor an HMAC keyed with something public gets in.
var Algorithms = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA,
}

// leeway is the clock skew allowed on iat.
const leeway = time.Minute

// Config configures a Connector.
type Config struct {
	Issuer       string // exactly as the provider names itself
	ClientID     string
	ClientSecret string
	RedirectURL  string   // orgauth's callback for this provider
	Scopes       []string // default openid, email, profile
	EmailClaim   string   // default "email"
	FirstClaim   string   // default "given_name"
	LastClaim    string   // default "family_name"
	HTTPClient   *http.Client
	// JWKSRefetch is the least time between two fetches of the provider's keys
	// (an unknown kid triggers one); default 10 seconds.
	JWKSRefetch time.Duration
	Now         func() time.Time // default time.Now
}

// Connector talks to one OpenID provider.
type Connector struct {
	cfg      Config
	oauth    oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	client   *http.Client
}

// discovery are the fields of the discovery document go-oidc does not read.
type discovery struct {
	ResponseTypes []string `json:"response_types_supported"`
	PKCEMethods   []string `json:"code_challenge_methods_supported"`
	GrantTypes    []string `json:"grant_types_supported"`
}

// New reads the provider's discovery document and checks that it names exactly
// the configured issuer and supports the authorization code flow (and S256 PKCE
// when it lists its PKCE methods). Its errors say what is wrong.
func New(ctx context.Context, c Config) (*Connector, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.JWKSRefetch == 0 {
		c.JWKSRefetch = 10 * time.Second
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{gooidc.ScopeOpenID, "email", "profile"}
	}
	base := c.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 10 * time.Second}
	}
	client := *base
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	client.Transport = &keyFetchLimiter{next: rt, every: c.JWKSRefetch}
	ctx = gooidc.ClientContext(context.WithoutCancel(ctx), &client)
	p, err := gooidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		var mismatch *gooidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, fmt.Errorf("the discovery document names the issuer %q, not %q", truncate(mismatch.Discovered, 200), c.Issuer)
		}
		return nil, fmt.Errorf("the discovery document of %s could not be read: %v", c.Issuer, err)
	}
	var d discovery
	if err := p.Claims(&d); err != nil {
		return nil, fmt.Errorf("the discovery document of %s is malformed: %v", c.Issuer, err)
	}
	if !slices.Contains(d.ResponseTypes, "code") {
		return nil, fmt.Errorf("the provider does not support the authorization code flow (response_types_supported lacks \"code\")")
	}
	if len(d.GrantTypes) > 0 && !slices.Contains(d.GrantTypes, "authorization_code") {
		return nil, fmt.Errorf("the provider does not support the authorization_code grant")
	}
	if len(d.PKCEMethods) > 0 && !slices.Contains(d.PKCEMethods, "S256") {
		return nil, fmt.Errorf("the provider does not support PKCE with S256")
	}
	if p.Endpoint().AuthURL == "" || p.Endpoint().TokenURL == "" {
		return nil, fmt.Errorf("the discovery document lacks the authorization or token endpoint")
	}
	scopes := c.Scopes
	if !slices.Contains(scopes, gooidc.ScopeOpenID) {
		scopes = append([]string{gooidc.ScopeOpenID}, scopes...)
	}
	return &Connector{
		cfg: c, provider: p, client: &client,
		oauth: oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: scopes,
		},
		verifier: p.VerifierContext(ctx, &gooidc.Config{ClientID: c.ClientID, SupportedSigningAlgs: Algorithms, Now: c.Now}),
	}, nil
}

// AuthURL is where the browser goes to sign in, with state, nonce and the PKCE
// challenge of verifier.
func (c *Connector) AuthURL(state, nonce, verifier string) string {
	return c.oauth.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Identify exchanges the code (with the PKCE verifier), validates the ID token
// and returns who it names. The email and its verification come from the ID
// token, or from the userinfo endpoint (for the same subject) when the token
// carries no email.
func (c *Connector) Identify(ctx context.Context, code, nonce, verifier string) (orgauth.SSOIdentity, error) {
	ctx = gooidc.ClientContext(ctx, c.client)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return orgauth.SSOIdentity{}, fmt.Errorf("oidc: exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return orgauth.SSOIdentity{}, errors.New("oidc: the token response has no id_token")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return orgauth.SSOIdentity{}, fmt.Errorf("oidc: invalid ID token: %w", err)
	}
	if err := c.check(idt, nonce); err != nil {
		return orgauth.SSOIdentity{}, err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return orgauth.SSOIdentity{}, fmt.Errorf("oidc: ID token claims: %w", err)
	}
	if _, ok := claims[c.claim(c.cfg.EmailClaim, "email")]; !ok && c.provider.UserInfoEndpoint() != "" {
		info, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return orgauth.SSOIdentity{}, fmt.Errorf("oidc: userinfo: %w", err)
		}
		if info.Subject != idt.Subject {
			return orgauth.SSOIdentity{}, errors.New("oidc: userinfo names another subject than the ID token")
		}
		var more map[string]any
		if err := info.Claims(&more); err != nil {
			return orgauth.SSOIdentity{}, fmt.Errorf("oidc: userinfo claims: %w", err)
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	id := orgauth.SSOIdentity{
		Subject:   idt.Subject,
		Email:     str(claims[c.claim(c.cfg.EmailClaim, "email")]),
		FirstName: str(claims[c.claim(c.cfg.FirstClaim, "given_name")]),
		LastName:  str(claims[c.claim(c.cfg.LastClaim, "family_name")]),
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string: // some providers send "true"
		id.EmailVerified = v == "true"
	}
	return id, nil
}

// check adds what go-oidc leaves to its caller: nonce, azp and iat.
func (c *Connector) check(idt *gooidc.IDToken, nonce string) error {
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return errors.New("oidc: the ID token's nonce does not match the sign-in request")
	}
	var extra struct {
		AZP string `json:"azp"`
	}
	if err := idt.Claims(&extra); err != nil {
		return fmt.Errorf("oidc: ID token claims: %w", err)
	}
	if (len(idt.Audience) > 1 || extra.AZP != "") && extra.AZP != c.cfg.ClientID {
		return errors.New("oidc: the ID token was issued to another party (azp)")
	}
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(c.cfg.Now().Add(leeway)) {
		return errors.New("oidc: the ID token has no or a future issue time")
	}
	return nil
}

func (c *Connector) claim(configured, def string) string {
	if configured != "" {
		return configured
	}
	return def
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// keyFetchLimiter rate-limits fetches of the provider's keys: go-oidc fetches
// them again for every token with an unknown kid, so a stream of forged tokens
// would otherwise make orgauth hammer the provider. Within every of the last
// real fetch, the last answer is replayed. Other requests pass through.
type keyFetchLimiter struct {
	next  http.RoundTripper
	every time.Duration

	mu   sync.Mutex
	url  string
	last time.Time
	body []byte
	hdr  http.Header
	code int
}

// maxKeys bounds the size of a JWKS document.
const maxKeys = 1 << 20

func (l *keyFetchLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || strings.Contains(req.URL.Path, ".well-known/openid-configuration") || req.Header.Get("Authorization") != "" {
		return l.next.RoundTrip(req) // discovery, userinfo
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	u := req.URL.String()
	if u == l.url && l.body != nil && time.Since(l.last) < l.every {
		return l.replay(req), nil
	}
	res, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxKeys))
	if err != nil {
		return nil, err
	}
	l.url, l.last, l.body, l.hdr, l.code = u, time.Now(), body, res.Header.Clone(), res.StatusCode
	return l.replay(req), nil
}

func (l *keyFetchLimiter) replay(req *http.Request) *http.Response {
	return &http.Response{
		StatusCode: l.code, Status: http.StatusText(l.code), Header: l.hdr.Clone(),
		Body: io.NopCloser(bytes.NewReader(l.body)), ContentLength: int64(len(l.body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}
