// Package orgauth holds the domain of the orgauth sign-in service: tenants, users,
// sessions, API keys and the storage interface every backend implements. It imports
// nothing of the project; the packages named after a dependency (sqlite, http, jwt,
// password, mail) implement or use what is declared here.
package orgauth

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// Tenant is one organization.
type Tenant struct {
	ID          string
	Name        string // orgName: unique, lower-case DNS label
	System      bool   // the operator's own tenant, home of system admins
	Email       string // orgEmailId
	AuthType    string // "password" or "sso"
	LoginMode   string // default login mode: "dev" or "devops"
	Address     Address
	Active      bool
	Annotations map[string]string
	Labels      map[string]string

	TokenExpiryMinutes int // authTokenSettings.expiryTimeMinutes

	BannerEnabled bool
	BannerTitle   string
	BannerMessage string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Address is a postal address of a tenant.
type Address struct {
	Line1   string `json:"addressLine1,omitempty"`
	Line2   string `json:"addressLine2,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Country string `json:"country,omitempty"`
	Pincode string `json:"pincode,omitempty"`
}

// User is a person inside one tenant.
type User struct {
	ID          string
	TenantID    string
	Email       string // as entered
	FirstName   string
	LastName    string
	LoginMode   string
	Roles       []string // role ids, see BuiltinRoles
	Annotations map[string]string
	Labels      map[string]string

	Activated    bool // the user set a first password (or signed in through SSO)
	Disabled     bool // an admin turned the account off
	PasswordHash string

	FailedLogins      int
	LockedUntil       time.Time // zero when not locked
	LastSignIn        time.Time // zero when never
	PasswordChangedAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Active reports whether the user may sign in and act.
func (u *User) Active() bool { return u.Activated && !u.Disabled }

// Name is the display name of the user.
func (u *User) Name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// NormalizeEmail returns the form of an email address used for comparison:
// trimmed and lower-cased. Emails are unique per tenant in this form.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Session is one sign-in. Access tokens name their session; when the session ends
// its tokens stop working.
type Session struct {
	ID         string
	TenantID   string
	UserID     string
	CreatedAt  time.Time
	LastUsedAt time.Time // last sign-in or refresh, for the idle timeout
	ExpiresAt  time.Time // absolute end
	RevokedAt  time.Time // zero while live
}

// Live reports whether the session may still be used at now, given the idle timeout.
func (s *Session) Live(now time.Time, idle time.Duration) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && now.Before(s.LastUsedAt.Add(idle))
}

// Token purposes for UserToken.
const (
	PurposeActivation = "activation"
	PurposeReset      = "reset"
)

// UserToken is a single-use secret mailed to a user: an activation or reset token.
// Only its hash is stored.
type UserToken struct {
	ID        string
	TenantID  string
	UserID    string
	Purpose   string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
}

// APIKey is a long-lived credential of one user in one tenant. Only its hash is stored.
type APIKey struct {
	ID          string
	TenantID    string
	UserID      string
	CreatedBy   string // the user who made the key, when not UserID ("" for the owner)
	Name        string
	Annotations map[string]string
	Hash        []byte
	Active      bool
	ExpiresAt   time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Usable reports whether the key itself may authenticate at now.
func (k *APIKey) Usable(now time.Time) bool { return k.Active && now.Before(k.ExpiresAt) }

// SigningKey is a key pair that signs access tokens. The private part is sealed with
// the master key before it reaches the store.
type SigningKey struct {
	ID            string // kid
	Algorithm     string // JWS alg, e.g. "EdDSA"
	PublicKey     []byte
	SealedPrivate []byte
	CreatedAt     time.Time
	RetiresAt     time.Time // stops signing
	ExpiresAt     time.Time // stops verifying and is no longer published
}

// AuditRecord records one write: who did what to which object, and how it ended.
type AuditRecord struct {
	ID        string
	TenantID  string // tenant the change belongs to (the system tenant for system changes)
	ActorID   string // user id, empty for anonymous requests
	Action    string // operation id of the spec, e.g. "v1UsersCreate"
	Target    string // uid of the object acted on
	Outcome   string // "success" or "failure"
	RequestID string
	ClientIP  string
	CreatedAt time.Time
}

// Page asks for one page of a list. Continue is the opaque cursor returned by the
// previous page; Limit is at most MaxPageSize.
type Page struct {
	Limit    int
	Continue string
}

// MaxPageSize is the default and maximum page size of list operations.
const MaxPageSize = 50

// UserFilter narrows a user list. Empty fields match everything.
type UserFilter struct {
	Page
	Email      StringMatch
	Name       StringMatch // first name, last name or "first last"
	SortByName bool        // else by creation time
	Desc       bool
}

// StringMatch is a string condition. At most one of the fields is set.
type StringMatch struct {
	Eq, Ne, Contains, BeginsWith string
	// CaseSensitive turns off the default case-insensitive comparison.
	CaseSensitive bool
}

// IsZero reports whether the match accepts everything.
func (m StringMatch) IsZero() bool {
	return m.Eq == "" && m.Ne == "" && m.Contains == "" && m.BeginsWith == ""
}

// NewID returns a new object id: 24 lower-case hex characters in the layout of a
// MongoDB ObjectID, as Palette's uids are: 4 bytes of Unix time in seconds, then 8
// random bytes. Ids made in a later second sort after, so the rows of the tables
// that only grow (sessions, audit records, mail) are appended to their primary key
// index instead of landing on a random page of it. An id is a name, never a
// secret: tokens and keys carry their own random secrets.
func NewID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	if _, err := rand.Read(b[4:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
