package orgauth

import "time"

// Team is a group of users of one tenant. Its members hold its roles in addition
// to their own.
type Team struct {
	ID          string
	TenantID    string
	Name        string   // unique in the tenant, compared case-insensitively
	Roles       []string // role ids: built-in or custom roles of the tenant
	Users       []string // member user ids, of the same tenant
	Sources     []string // where the team comes from: "local", or an SSO source
	Annotations map[string]string
	Labels      map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TeamSourceLocal is the source of teams managed through the API.
const TeamSourceLocal = "local"

// Limits the stores enforce: a user is a member of at most MaxTeamsPerUser teams,
// and a tenant has at most MaxTeamsPerTenant teams (EINVALID beyond).
const (
	MaxTeamsPerUser   = 64
	MaxTeamsPerTenant = 1000
)
