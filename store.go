package orgauth

import (
	"context"
	"time"
)

// Store is the persistent state of orgauth. Every backend (sqlite, and later
// postgres) implements it and passes the conformance suite in storetest.
//
// Reads and single writes go straight through Queries; several writes that must
// land together (a change and its audit record, a user and its activation token)
// go through Update, which runs fn in one transaction and rolls back if fn fails.
type Store interface {
	Queries
	// Update runs fn in a read-write transaction. fn must not keep tx after it returns.
	Update(ctx context.Context, fn func(tx Queries) error) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// Queries are the operations that are not bound to one tenant. Everything that
// belongs to a tenant is reached through InTenant, so a query cannot forget its
// tenant.
type Queries interface {
	// InTenant returns the queries scoped to one tenant.
	InTenant(tenantID string) TenantQueries

	// CreateTenant inserts t. A tenant with the same name: ECONFLICT.
	CreateTenant(ctx context.Context, t *Tenant) error
	// Tenant returns the tenant with the given id, or ENOTFOUND.
	Tenant(ctx context.Context, id string) (*Tenant, error)
	// TenantByName returns the tenant with the given orgName, or ENOTFOUND.
	TenantByName(ctx context.Context, name string) (*Tenant, error)
	// ListTenants returns a page of the customer tenants (not the system tenant),
	// ordered by name, and the cursor of the next page ("" at the end).
	ListTenants(ctx context.Context, p Page) ([]*Tenant, string, error)
	// CountTenants counts the customer tenants.
	CountTenants(ctx context.Context) (int, error)
	// UpdateTenant stores every field of t but ID, Name, System and CreatedAt.
	UpdateTenant(ctx context.Context, t *Tenant) error
	// DeleteTenant removes the tenant and everything in it.
	DeleteTenant(ctx context.Context, id string) error

	// UsersByEmail returns the accounts with this email in every tenant.
	UsersByEmail(ctx context.Context, email string) ([]*User, error)
	// APIKeyByHash finds a key by the hash of its secret, in any tenant.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// UserToken returns the activation or reset token with the given id, in any tenant.
	UserToken(ctx context.Context, id string) (*UserToken, error)

	// SigningKeys returns every signing key not yet expired at now, newest first.
	SigningKeys(ctx context.Context, now time.Time) ([]*SigningKey, error)
	// CreateSigningKey inserts k.
	CreateSigningKey(ctx context.Context, k *SigningKey) error

	// AddAudit inserts an audit record.
	AddAudit(ctx context.Context, r *AuditRecord) error

	// SSOApps returns the system's social login apps, ordered by name.
	SSOApps(ctx context.Context) ([]*SSOApp, error)
	// SetSSOApps replaces every social login app with apps.
	SetSSOApps(ctx context.Context, apps []*SSOApp) error
	// CreateSSOFlow inserts f and drops flows that expired before f.CreatedAt.
	CreateSSOFlow(ctx context.Context, f *SSOFlow) error
	// TakeSSOFlow deletes the flow with the given id and returns it; ENOTFOUND when
	// there is none or it expired at now, so each flow finishes once.
	TakeSSOFlow(ctx context.Context, id string, now time.Time) (*SSOFlow, error)

	// EnqueueMail puts m in the outbox.
	EnqueueMail(ctx context.Context, m *OutboxMail) error
	// ClaimMail takes up to limit messages due at now (not sent, not given up,
	// NextAt and any earlier claim's lease passed), counts an attempt on each and
	// leases them until now+lease, so no other worker takes them meanwhile.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*OutboxMail, error)
	// MailSent records that the message went out (a delivery wins over an earlier
	// give-up by another worker) and drops its content.
	MailSent(ctx context.Context, id string, now time.Time) error
	// MailRetry releases the message to be tried again at next.
	MailRetry(ctx context.Context, id string, next time.Time, lastError string) error
	// DeleteMail removes the entry; ENOTFOUND when it is gone already.
	DeleteMail(ctx context.Context, id string) error
	// MailFailed gives the message up and drops its content.
	MailFailed(ctx context.Context, id string, now time.Time, lastError string) error
	// CountOutbox counts the outbox.
	CountOutbox(ctx context.Context) (OutboxCounts, error)
	// MailQueuedSince reports whether mail of kind to recipient (see
	// OutboxMail.Recipient) was queued after since, sent or not.
	MailQueuedSince(ctx context.Context, kind string, recipient []byte, since time.Time) (bool, error)

	// SystemPasswordPolicy returns the system's default password policy, or
	// DefaultPasswordPolicy while none was set.
	SystemPasswordPolicy(ctx context.Context) (*PasswordPolicy, error)
	// SetSystemPasswordPolicy stores the system's default password policy.
	SetSystemPasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	// DuePasswordReminders returns up to limit users whose password expires
	// within their policy's reminder window at now (tenant policy, else sys), in
	// active tenants, and who are due a reminder: none yet for this password, or
	// the last one ReminderEveryDays ago. They come in the order of
	// PageDueReminders, starting after the reminder after (nil: from the first),
	// so a sweep pages through them with the last one returned.
	DuePasswordReminders(ctx context.Context, sys *PasswordPolicy, now time.Time, after *PasswordReminder, limit int) ([]*PasswordReminder, error)

	// BlockPasswords adds hashes of passwords to the blocklist (present ones stay).
	BlockPasswords(ctx context.Context, hashes [][]byte, now time.Time) error
	// UnblockPasswords removes hashes from the blocklist (absent ones are ignored).
	UnblockPasswords(ctx context.Context, hashes [][]byte) error
	// PasswordBlocked reports whether the hash is on the blocklist.
	PasswordBlocked(ctx context.Context, hash []byte) (bool, error)

	// GarbageCollect deletes, in every tenant, what had ended by c.Now and can
	// never be used again: sessions expired, revoked, or unused for
	// c.SessionIdle; activation and reset tokens expired or used; mail sent or
	// given up c.KeepMail before c.Now. It walks each table in key order, each
	// statement looking at no more than c.Batch rows, so that it never holds
	// the database for long; several may run at once.
	GarbageCollect(ctx context.Context, c Collect) (Collected, error)
}

// Collect says what GarbageCollect deletes.
type Collect struct {
	Now         time.Time
	SessionIdle time.Duration // a session unused this long has ended
	KeepMail    time.Duration // how long sent and given-up mail stays in the outbox
	Batch       int           // rows looked at per statement; 0 means DefaultCollectBatch
}

// DefaultCollectBatch is the rows a GarbageCollect statement looks at by default.
const DefaultCollectBatch = 200

// BatchSize is c.Batch, or DefaultCollectBatch when that is not positive.
func (c Collect) BatchSize() int {
	if c.Batch <= 0 {
		return DefaultCollectBatch
	}
	return c.Batch
}

// Collected counts what GarbageCollect deleted.
type Collected struct {
	Sessions, UserTokens, Mail int
}

// Total is the number of rows deleted.
func (c Collected) Total() int { return c.Sessions + c.UserTokens + c.Mail }

// TenantQueries are the operations inside one tenant. Every one of them touches
// only rows of that tenant; an id of another tenant is ENOTFOUND.
type TenantQueries interface {
	TenantID() string

	// CreateUser inserts u (u.TenantID is set to the scope's tenant). Same email in
	// the tenant: ECONFLICT.
	CreateUser(ctx context.Context, u *User) error
	// User returns the user with the given id, or ENOTFOUND.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with the given email (compared normalized).
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns a page of users matching f and the cursor of the next page.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, string, error)
	// CountUsers counts the users of the tenant.
	CountUsers(ctx context.Context) (int, error)
	// UpdateUser stores the profile and state of u: email, names, login mode, roles,
	// annotations, labels, activated, disabled. Not the password or login counters.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes the user, their sessions, tokens and API keys.
	DeleteUser(ctx context.Context, id string) error
	// SetPassword stores a new password hash, marks the user activated, resets
	// the login counters and spends every unused activation or reset token of
	// the user.
	SetPassword(ctx context.Context, userID, hash string, now time.Time) error

	// ReserveLoginAttempt atomically counts one login attempt against the user,
	// in the transaction that answers it (the caller hashes the password before,
	// outside any transaction, and honours a match only when this returns true).
	// It returns false when the account is locked (max consecutive failures
	// reached and lockUntil not passed). The attempt that reaches max locks the
	// account until now+lock; a success clears it.
	ReserveLoginAttempt(ctx context.Context, userID string, max int, lock time.Duration, now time.Time) (bool, error)
	// LoginSucceeded resets the failure counter and lock and records the sign-in time.
	LoginSucceeded(ctx context.Context, userID string, now time.Time) error
	// PasswordLoginSucceeded is ReserveLoginAttempt and LoginSucceeded in one step,
	// for an attempt whose password matched: unless the account is locked at now,
	// it clears the failure counter and lock, records the sign-in time and returns
	// true; a locked account gets false and nothing is written.
	PasswordLoginSucceeded(ctx context.Context, userID string, now time.Time) (bool, error)

	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with the given id, or ENOTFOUND.
	Session(ctx context.Context, id string) (*Session, error)
	// TouchSession sets LastUsedAt of a live session; ENOTFOUND if none.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// RevokeSession ends one session; ENOTFOUND if it is not live.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions ends every live session of the user but except (may be "")
	// and returns the ids it ended.
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) ([]string, error)

	// CreateUserToken inserts t and marks every older unused token of the same user
	// and purpose as used, so the newest one supersedes them.
	CreateUserToken(ctx context.Context, t *UserToken) error
	// LatestUserToken returns the newest unused, unexpired token of the user for
	// purpose, or ENOTFOUND.
	LatestUserToken(ctx context.Context, userID, purpose string, now time.Time) (*UserToken, error)
	// UseUserToken marks the token used. It fails with ENOTFOUND when the token is
	// unknown, already used or expired at now: each token works once.
	UseUserToken(ctx context.Context, id string, now time.Time) error

	// CreateAPIKey inserts k.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKey returns the key with the given id, or ENOTFOUND.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns the keys of the tenant, or of one user when userID is set,
	// oldest first.
	ListAPIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// UpdateAPIKey stores name, annotations, expiry and active of k.
	UpdateAPIKey(ctx context.Context, k *APIKey) error
	// DeleteAPIKey removes the key.
	DeleteAPIKey(ctx context.Context, id string) error

	// CreateRole inserts the custom role r (r.TenantID is set to the scope's
	// tenant). Another role of the tenant with the same name, compared
	// case-insensitively: ECONFLICT.
	CreateRole(ctx context.Context, r *Role) error
	// Role returns the custom role with the given id, or ENOTFOUND.
	Role(ctx context.Context, id string) (*Role, error)
	// ListRoles returns every custom role of the tenant, ordered by name.
	ListRoles(ctx context.Context) ([]*Role, error)
	// UpdateRole stores the name and permissions of r.
	UpdateRole(ctx context.Context, r *Role) error
	// DeleteRole removes the role and takes it from every user and team of the
	// tenant that has it.
	DeleteRole(ctx context.Context, id string) error

	// CreateTeam inserts t with its members (t.TenantID is set to the scope's
	// tenant). Same name in the tenant (case-insensitive): ECONFLICT; a member that
	// is not a user of the tenant: ENOTFOUND; a member in MaxTeamsPerUser teams
	// already, or a tenant with MaxTeamsPerTenant teams: EINVALID.
	CreateTeam(ctx context.Context, t *Team) error
	// Team returns the team with the given id and its members, or ENOTFOUND.
	Team(ctx context.Context, id string) (*Team, error)
	// ListTeams returns a page of the teams ordered by name, with their members,
	// and the cursor of the next page ("" at the end).
	ListTeams(ctx context.Context, p Page) ([]*Team, string, error)
	// UpdateTeam stores name, roles, sources, annotations, labels and the members
	// of t, replacing the old members. Errors as CreateTeam.
	UpdateTeam(ctx context.Context, t *Team) error
	// DeleteTeam removes the team; its members lose its roles.
	DeleteTeam(ctx context.Context, id string) error
	// UserTeams returns the teams the user is a member of, ordered by name, with
	// their roles but not their members (Users is nil).
	UserTeams(ctx context.Context, userID string) ([]*Team, error)
	// SetUserTeams makes the user a member of exactly the given teams. A team
	// that is not the tenant's: ENOTFOUND; more than MaxTeamsPerUser: EINVALID.
	SetUserTeams(ctx context.Context, userID string, teamIDs []string) error

	// ListAudit returns a page of the tenant's audit records, newest first, and
	// the cursor of the next page.
	ListAudit(ctx context.Context, p Page) ([]*AuditRecord, string, error)

	// SSOLogins returns the tenant's choice of social logins; disabled with none
	// when it never chose.
	SSOLogins(ctx context.Context) (*TenantSSOLogins, error)
	// SetSSOLogins stores the tenant's choice of social logins.
	SetSSOLogins(ctx context.Context, l *TenantSSOLogins) error
	// SSOLink returns the link of the provider account (app, subject), or ENOTFOUND.
	SSOLink(ctx context.Context, app, subject string) (*SSOLink, error)
	// CreateSSOLink inserts l. ECONFLICT when the subject is linked already or the
	// user is linked to another subject of the same app; ENOTFOUND when the user
	// is not in the tenant. Deleting the user deletes its links.
	CreateSSOLink(ctx context.Context, l *SSOLink) error

	// PasswordPolicy returns the tenant's own password policy, or ENOTFOUND when
	// it follows the system default.
	PasswordPolicy(ctx context.Context) (*PasswordPolicy, error)
	// SetPasswordPolicy stores the tenant's own password policy.
	SetPasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	// MarkPasswordReminded records a reminder of the user's password expiry at
	// now, if the time of the last reminder is still was (as DuePasswordReminders
	// read it). It reports false when another worker was first, so each reminder
	// goes out once.
	MarkPasswordReminded(ctx context.Context, userID string, was, now time.Time) (bool, error)
}
