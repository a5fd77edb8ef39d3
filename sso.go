package orgauth

import "time"

// Kinds of social login apps.
const (
	SSOKindGitHub = "github"
	SSOKindOIDC   = "oidc"
)

// SSOApp is a social login app the operator configured for the whole system: the
// GitHub app or one named OIDC client (google, microsoft, ...).
type SSOApp struct {
	Name         string // "github", or the key of the OIDC client
	Kind         string // SSOKindGitHub or SSOKindOIDC
	Enabled      bool
	ClientID     string
	SealedSecret []byte // the client secret, sealed with the master key
	IssuerURL    string // OIDC only
	Scopes       []string
	Claims       SSOClaims // OIDC: claim names to read
	LogoURL      string    // "" for orgauth's own icon
	UpdatedAt    time.Time
}

// SSOClaims name the ID token claims a login reads. Empty means the standard
// claim (email, given_name, family_name).
type SSOClaims struct {
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Team      string `json:"team,omitempty"`
}

// TenantSSOLogins is a tenant's choice among the system's social logins.
type TenantSSOLogins struct {
	TenantID  string
	Enabled   bool
	Logins    []string // names of SSOApps
	UpdatedAt time.Time
}

// SSOFlow is a social login started in a browser and not yet finished. Only the
// hash of its state and of its browser binding are stored.
type SSOFlow struct {
	ID           string // hex SHA-256 of the state sent to the provider
	App          string // name of the SSOApp
	TenantID     string // the org it was started for; "" when none was named
	BrowserHash  []byte // SHA-256 of the random value in the browser's cookie
	RedirectPath string // same-origin path to land on after sign-in
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// SSOIdentity is who a social login provider says signed in.
type SSOIdentity struct {
	Subject       string // the provider's stable id of the person
	Email         string
	EmailVerified bool // the provider vouches that the person controls Email
	FirstName     string
	LastName      string
}

// SSOLink ties a provider's account (app and subject) to the user it signed in
// as, once: later sign-ins find the user by the subject, and the user cannot be
// taken over by another account of the same provider.
type SSOLink struct {
	TenantID  string
	App       string
	Subject   string
	UserID    string
	CreatedAt time.Time
}
