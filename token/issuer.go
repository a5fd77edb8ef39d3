package token

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/orgauth/orgauth"
)

// Limits and defaults of access tokens and their signing keys.
const (
	// Algorithm is the only JWS algorithm orgauth signs with and accepts.
	Algorithm = "EdDSA"

	// MaxLifetime is the longest an access token may live (exp - iat).
	MaxLifetime = 24 * time.Hour

	// MaxTokenSize is the longest raw token Verify looks at.
	MaxTokenSize = 8 << 10

	DefaultSignFor   = 30 * 24 * time.Hour
	DefaultVerifyFor = 2 * 24 * time.Hour
	DefaultLeeway    = time.Minute
	MaxLeeway        = time.Minute

	// rotateAhead is how long before the signing key retires its successor is
	// created. The successor is published (JWKS, Verify) at once but signs only
	// when its predecessor retires, so every instance has loaded it by then.
	rotateAhead = 24 * time.Hour

	// maxKIDLength bounds the kid header Verify looks up.
	maxKIDLength = 64
)

// accessType is the "typ" claim of access tokens.
const accessType = "access"

// Claims are the claims of an access token.
type Claims struct {
	UserID    string // sub
	TenantID  string // tid
	OrgName   string // org
	SessionID string // sid
	ID        string // jti

	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf
	ExpiresAt time.Time // exp
}

// KeyStore is what the Issuer needs of the store; orgauth.Store satisfies it.
type KeyStore interface {
	// SigningKeys returns every signing key not yet expired at now.
	SigningKeys(ctx context.Context, now time.Time) ([]*orgauth.SigningKey, error)
	// CreateSigningKey inserts k.
	CreateSigningKey(ctx context.Context, k *orgauth.SigningKey) error
}

// Config configures an Issuer.
type Config struct {
	Issuer    string           // iss of every token; required
	Audience  string           // aud of every token; required
	MasterKey []byte           // MasterKeySize bytes; seals the private keys in the store
	Now       func() time.Time // the clock; default time.Now

	// SignFor is how long a key signs (default 30 days, at least 2 days).
	SignFor time.Duration
	// VerifyFor is how long a key still verifies after it stopped signing
	// (default 2 days). It must exceed MaxLifetime plus Leeway, so every token
	// expires before the key that signed it.
	VerifyFor time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (default and at
	// most one minute).
	Leeway time.Duration
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignFor == 0 {
		cfg.SignFor = DefaultSignFor
	}
	if cfg.VerifyFor == 0 {
		cfg.VerifyFor = DefaultVerifyFor
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	switch {
	case cfg.Issuer == "":
		return cfg, errors.New("token: Issuer is required")
	case cfg.Audience == "":
		return cfg, errors.New("token: Audience is required")
	case len(cfg.MasterKey) != MasterKeySize:
		return cfg, fmt.Errorf("token: MasterKey is %d bytes, want %d", len(cfg.MasterKey), MasterKeySize)
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return cfg, fmt.Errorf("token: Leeway %v out of range 0..%v", cfg.Leeway, MaxLeeway)
	case cfg.SignFor < 2*rotateAhead:
		return cfg, fmt.Errorf("token: SignFor %v is shorter than %v", cfg.SignFor, 2*rotateAhead)
	case cfg.VerifyFor <= MaxLifetime+cfg.Leeway:
		return cfg, fmt.Errorf("token: VerifyFor %v must exceed the longest token lifetime %v plus Leeway", cfg.VerifyFor, MaxLifetime)
	}
	return cfg, nil
}

// Issuer signs and verifies access tokens. Its signing keys live in the
// KeyStore, private parts sealed with the master key, so every instance of the
// service shares them; each instance keeps them in memory and reloads them in
// Rotate. It is safe for concurrent use.
type Issuer struct {
	ks     KeyStore
	cfg    Config
	parser *jwt.Parser

	keys     atomic.Pointer[keySet]
	rotating sync.Mutex // serializes Rotate
}

// keySet is an immutable snapshot of the keys.
type keySet struct {
	byID map[string]*signingKey
	list []*signingKey // oldest first
}

type signingKey struct {
	id        string
	public    ed25519.PublicKey
	private   ed25519.PrivateKey // nil once retired
	createdAt time.Time
	retiresAt time.Time
	expiresAt time.Time
}

// NewIssuer returns an Issuer with the keys of ks. If no key will still sign a
// day from now, it creates one (see Rotate).
func NewIssuer(ctx context.Context, ks KeyStore, cfg Config) (*Issuer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	i := &Issuer{
		ks:  ks,
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{Algorithm}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithStrictDecoding(),
		),
	}
	if err := i.Rotate(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// Rotate reloads the keys from the store, where other instances may have
// added some, and creates a new key when no key will still sign a day from
// now. The new key is published at once and starts signing when the current
// one retires. Call it periodically (hourly, say) on every instance: Sign
// fails once the last key has retired. It is safe to call concurrently; two
// instances rotating at the same moment create one key each, which is
// harmless.
func (i *Issuer) Rotate(ctx context.Context) error {
	i.rotating.Lock()
	defer i.rotating.Unlock()
	now := i.cfg.Now()
	set, err := i.load(ctx, now)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(set.list, func(k *signingKey) bool { return k.retiresAt.After(now.Add(rotateAhead)) }) {
		if err := i.createKey(ctx, now); err != nil {
			return err
		}
		if set, err = i.load(ctx, now); err != nil {
			return err
		}
	}
	i.keys.Store(set)
	return nil
}

// sealContext is the additional data sealed with the private key of kid.
func sealContext(kid string) []byte { return []byte("orgauth signing key " + kid) }

func (i *Issuer) createKey(ctx context.Context, now time.Time) error {
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	kid := orgauth.NewID()
	sealed, err := Seal(i.cfg.MasterKey, private.Seed(), sealContext(kid))
	if err != nil {
		return err
	}
	retires := now.Add(i.cfg.SignFor)
	err = i.ks.CreateSigningKey(ctx, &orgauth.SigningKey{
		ID:            kid,
		Algorithm:     Algorithm,
		PublicKey:     public,
		SealedPrivate: sealed,
		CreatedAt:     now,
		RetiresAt:     retires,
		ExpiresAt:     retires.Add(i.cfg.VerifyFor),
	})
	if err != nil {
		return fmt.Errorf("token: storing signing key: %w", err)
	}
	return nil
}

// load reads the keys of the store. Keys of other algorithms are skipped; a
// malformed key, or one sealed with another master key, is an error.
func (i *Issuer) load(ctx context.Context, now time.Time) (*keySet, error) {
	stored, err := i.ks.SigningKeys(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("token: loading signing keys: %w", err)
	}
	set := &keySet{byID: make(map[string]*signingKey)}
	for _, sk := range stored {
		if sk.Algorithm != Algorithm || !now.Before(sk.ExpiresAt) {
			continue
		}
		if len(sk.PublicKey) != ed25519.PublicKeySize || sk.ID == "" || len(sk.ID) > maxKIDLength {
			return nil, fmt.Errorf("token: signing key %q is malformed", sk.ID)
		}
		k := &signingKey{
			id:        sk.ID,
			public:    ed25519.PublicKey(slices.Clone(sk.PublicKey)),
			createdAt: sk.CreatedAt,
			retiresAt: sk.RetiresAt,
			expiresAt: sk.ExpiresAt,
		}
		if now.Before(sk.RetiresAt) {
			seed, err := Open(i.cfg.MasterKey, sk.SealedPrivate, sealContext(sk.ID))
			if err != nil {
				return nil, fmt.Errorf("token: opening signing key %q: %w", sk.ID, err)
			}
			if len(seed) != ed25519.SeedSize {
				return nil, fmt.Errorf("token: signing key %q is malformed", sk.ID)
			}
			k.private = ed25519.NewKeyFromSeed(seed)
			if !k.public.Equal(k.private.Public()) {
				return nil, fmt.Errorf("token: signing key %q: public and private parts differ", sk.ID)
			}
		}
		set.byID[k.id] = k
		set.list = append(set.list, k)
	}
	slices.SortFunc(set.list, func(a, b *signingKey) int {
		return cmp.Or(a.createdAt.Compare(b.createdAt), cmp.Compare(a.id, b.id))
	})
	return set, nil
}

// signer returns the key that signs at now: the oldest one not retired.
func (s *keySet) signer(now time.Time) *signingKey {
	for _, k := range s.list {
		if k.private != nil && now.Before(k.retiresAt) {
			return k
		}
	}
	return nil
}

// jwtClaims are the claims as they appear in the token.
type jwtClaims struct {
	jwt.RegisteredClaims
	TenantID  string `json:"tid"`
	OrgName   string `json:"org,omitempty"`
	SessionID string `json:"sid"`
	Type      string `json:"typ"`
}

// Validate checks the claims the jwt package does not know. The parser calls
// it after the signature and the registered claims checked out.
func (c *jwtClaims) Validate() error {
	switch {
	case c.Type != accessType:
		return errors.New("not an access token")
	case c.Subject == "" || c.TenantID == "" || c.SessionID == "":
		return errors.New("sub, tid or sid missing")
	case c.IssuedAt == nil || c.ExpiresAt == nil:
		return errors.New("iat or exp missing")
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime:
		return errors.New("lifetime too long")
	}
	return nil
}

// Sign returns a signed access token with the claims c. It sets a random ID
// when c.ID is empty, IssuedAt to now when zero, and NotBefore to IssuedAt
// when zero. UserID, TenantID, SessionID and ExpiresAt are required;
// ExpiresAt may be at most MaxLifetime after IssuedAt. Times are rounded down
// to the second.
func (i *Issuer) Sign(c Claims) (string, error) {
	now := i.cfg.Now()
	if c.ID == "" {
		c.ID = rand.Text()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = c.IssuedAt
	}
	switch {
	case c.UserID == "" || c.TenantID == "" || c.SessionID == "":
		return "", errors.New("token: UserID, TenantID and SessionID are required")
	case !c.ExpiresAt.After(c.IssuedAt):
		return "", errors.New("token: ExpiresAt must be after IssuedAt")
	case c.ExpiresAt.Sub(c.IssuedAt) > MaxLifetime:
		return "", fmt.Errorf("token: lifetime %v exceeds %v", c.ExpiresAt.Sub(c.IssuedAt), MaxLifetime)
	}
	k := i.keys.Load().signer(now)
	if k == nil {
		return "", errors.New("token: no signing key; is Rotate called periodically?")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.cfg.Issuer,
			Subject:   c.UserID,
			Audience:  jwt.ClaimStrings{i.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			NotBefore: jwt.NewNumericDate(c.NotBefore),
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ID:        c.ID,
		},
		TenantID:  c.TenantID,
		OrgName:   c.OrgName,
		SessionID: c.SessionID,
		Type:      accessType,
	})
	t.Header["kid"] = k.id
	return t.SignedString(k.private)
}

// Verify checks raw is an access token this service signed and is valid now,
// and returns its claims. Every failure is EUNAUTHORIZED "invalid or expired
// token" (which wraps the cause, for logs). It accepts only EdDSA with a key
// it has loaded, named by kid; it never looks at jku, x5u, jwk or x5c headers.
// It does not touch the store.
func (i *Issuer) Verify(raw string) (Claims, error) {
	c, err := i.verify(raw)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", orgauth.Errorf(orgauth.EUNAUTHORIZED, "invalid or expired token"), err)
	}
	return c, nil
}

func (i *Issuer) verify(raw string) (Claims, error) {
	if len(raw) > MaxTokenSize {
		return Claims{}, errors.New("token too long")
	}
	now := i.cfg.Now()
	set := i.keys.Load()
	var jc jwtClaims
	_, err := i.parser.ParseWithClaims(raw, &jc, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit header not supported")
		}
		kid, ok := t.Header["kid"].(string)
		if !ok || len(kid) > maxKIDLength {
			return nil, errors.New("kid missing or malformed")
		}
		k := set.byID[kid]
		if k == nil {
			return nil, errors.New("unknown kid")
		}
		if !now.Before(k.expiresAt) {
			return nil, errors.New("key expired")
		}
		// A retired key signs nothing new: a token it signed later is forged
		// (with a stolen retired key) or came from a badly skewed clock.
		if jc.IssuedAt == nil {
			return nil, errors.New("iat missing")
		}
		if jc.IssuedAt.After(k.retiresAt.Add(i.cfg.Leeway)) {
			return nil, errors.New("issued after its key retired")
		}
		return k.public, nil
	})
	if err != nil {
		return Claims{}, err
	}
	c := Claims{
		UserID:    jc.Subject,
		TenantID:  jc.TenantID,
		OrgName:   jc.OrgName,
		SessionID: jc.SessionID,
		ID:        jc.ID,
		IssuedAt:  jc.IssuedAt.Time,
		ExpiresAt: jc.ExpiresAt.Time,
	}
	if jc.NotBefore != nil {
		c.NotBefore = jc.NotBefore.Time
	}
	return c, nil
}

// jwk is one key of a JWK set (RFC 8037 for Ed25519).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the JSON Web Key Set of every key not expired at now: the
// public keys that verify tokens, including a successor that does not sign
// yet.
func (i *Issuer) JWKS() []byte {
	now := i.cfg.Now()
	keys := []jwk{}
	for _, k := range i.keys.Load().list {
		if now.Before(k.expiresAt) {
			keys = append(keys, jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k.public), Kid: k.id, Use: "sig", Alg: Algorithm})
		}
	}
	b, err := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{keys})
	if err != nil {
		panic(err) // cannot happen: strings only
	}
	return b
}
