package http

// The JSON shapes of the spec for social logins.

type v1SystemSsoSpec struct {
	AcsURLRoot   string               `json:"acsUrlRoot,omitempty"`
	AcsURLScheme string               `json:"acsUrlScheme,omitempty"`
	APIVersion   string               `json:"apiVersion,omitempty"`
	AudienceURL  string               `json:"audienceUrl,omitempty"`
	AuthSpec     *v1SystemSsoAuthSpec `json:"authSpec,omitempty"`
	EntityID     string               `json:"entityId,omitempty"`
}

type v1SystemSsoAuthSpec struct {
	Github        *v1SystemGithubSsoSpec             `json:"github,omitempty"`
	OidcAuthSpecs map[string]*v1SystemOidcClientSpec `json:"oidcAuthSpecs,omitempty"`
}

type v1SystemGithubSsoSpec struct {
	ClientID        string `json:"clientId"`
	ClientSecretKey string `json:"clientSecretKey"`
	IsEnabled       bool   `json:"isEnabled"`
	LogoURL         string `json:"logoUrl"`
}

type v1SystemOidcClientSpec struct {
	CallbackURL    string              `json:"callbackUrl"`
	ClientID       string              `json:"clientId"`
	ClientSecret   string              `json:"clientSecret"`
	IsEnabled      bool                `json:"isEnabled"`
	IssuerURL      string              `json:"issuerUrl"`
	LogoURL        string              `json:"logoUrl"`
	RequiredClaims *v1SystemOidcClaims `json:"requiredClaims,omitempty"`
	Scopes         []string            `json:"scopes"`
}

type v1SystemOidcClaims struct {
	Email       string `json:"Email"`
	FirstName   string `json:"FirstName"`
	LastName    string `json:"LastName"`
	SpectroTeam string `json:"SpectroTeam"`
}

type v1TenantSsoAuthProvidersEntity struct {
	IsEnabled bool     `json:"isEnabled"`
	SsoLogins []string `json:"ssoLogins"`
}

type v1IdentityProvider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
