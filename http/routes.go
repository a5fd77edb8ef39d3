package http

import (
	"strings"

	"github.com/orgauth/orgauth"
)

// Access rules used in the table below.
var (
	public   = access{public: true}
	signedIn = access{}
)

func perm(p orgauth.Permission) access      { return access{perm: p} }
func selfOr(p orgauth.Permission) access    { return access{perm: p, self: true} }
func system(p orgauth.Permission) access    { return access{system: true, perm: p} }
func limited(a access, l limitClass) access { a.limit = l; return a }

// Operation is one operation the server answers and the access it declares, for
// the authorization matrix test and the documentation.
type Operation struct {
	Method, Path string
	ID           string // operationId of the spec
	// Access is "public", "signed-in", the permission needed ("user.get"), or it
	// prefixed by "self-or " (callers without it may act on themselves) or
	// "system " (only system administrators, holding it).
	Access string
}

// Operations lists the operations of the server in the order of routes.
func (s *Server) Operations() []Operation {
	var out []Operation
	for _, rt := range s.routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		a := rt.access
		access := string(a.perm)
		switch {
		case a.public:
			access = "public"
		case a.perm == "":
			access = "signed-in"
		case a.system:
			access = "system " + access
		case a.self:
			access = "self-or " + access
		}
		out = append(out, Operation{Method: method, Path: path, ID: rt.op, Access: access})
	}
	return out
}

// routes lists every operation the server answers, one line each: method and path,
// the spec's operationId, the access it needs, and its handler.
func (s *Server) routes() []route {
	return []route{
		// Sign-in and sessions.
		{"POST /v1/auth/authenticate", "v1Authenticate", limited(public, authLimit), s.authenticateHandler},
		{"GET /v1/auth/refresh/{token}", "v1AuthRefresh", limited(public, authLimit), s.refresh},
		{"GET /v1/auth/org", "v1AuthOrg", limited(public, authLimit), s.authOrg},
		{"GET /v1/auth/orgs", "V1AuthOrgs", limited(signedIn, authLimit), s.authOrgs},
		{"PATCH /v1/auth/password/{passwordToken}/activate", "v1PasswordActivate", limited(public, authLimit), s.activate},
		{"PATCH /v1/auth/password/{passwordToken}/reset", "v1PasswordReset", limited(public, authLimit), s.passwordReset},
		{"POST /v1/auth/user/password/reset", "v1PasswordResetRequest", limited(public, resetLimit), s.resetRequest},
		{"GET /v1/auth/user/org/forgot", "V1AuthUserOrgForgot", limited(public, resetLimit), s.orgForgot},
		{"GET /v1/users/info", "v1UsersInfoGet", signedIn, s.userInfo},
		{"POST /v1/users/auth/tokens/revoke", "v1UsersAuthTokensRevoke", signedIn, s.revokeTokens},

		// Tenants.
		{"GET /v1/tenants", "v1TenantsList", limited(system(orgauth.PermTenantList), authLimit), s.tenantsList},
		{"POST /v1/tenants", "v1TenantsCreate", limited(system(orgauth.PermTenantCreate), authLimit), s.tenantsCreate},
		{"GET /v1/tenants/{tenantUid}", "v1TenantsGet", perm(orgauth.PermTenantGet), s.tenantsGet},
		{"DELETE /v1/tenants/{tenantUid}", "v1TenantsDelete", system(orgauth.PermTenantDelete), s.tenantsDelete},
		{"GET /v1/tenants/{tenantUid}/authTokenSettings", "v1TenantUidAuthTokenSettingsGet", perm(orgauth.PermTenantSettingsGet), s.authTokenSettingsGet},
		{"PUT /v1/tenants/{tenantUid}/authTokenSettings", "v1TenantUidAuthTokenSettingsUpdate", perm(orgauth.PermTenantSettingsUpdate), s.authTokenSettingsUpdate},
		{"GET /v1/tenants/{tenantUid}/loginBanner", "v1TenantUidLoginBannerGet", perm(orgauth.PermTenantSettingsGet), s.loginBannerGet},
		{"PUT /v1/tenants/{tenantUid}/loginBanner", "v1TenantUidLoginBannerUpdate", perm(orgauth.PermTenantSettingsUpdate), s.loginBannerUpdate},
		{"GET /v1/tenants/{tenantUid}/password/policy", "V1TenantUidPasswordPolicyGet", perm(orgauth.PermTenantSettingsGet), s.tenantPasswordPolicyGet},
		{"POST /v1/tenants/{tenantUid}/password/policy", "V1TenantUidPasswordPolicyUpdate", perm(orgauth.PermTenantSettingsUpdate), s.tenantPasswordPolicyUpdate},

		// Users.
		{"GET /v1/users", "v1UsersList", limited(perm(orgauth.PermUserList), authLimit), s.usersList},
		{"POST /v1/users", "v1UsersCreate", limited(perm(orgauth.PermUserCreate), authLimit), s.usersCreate},
		{"POST /v1/users/summary", "v1UsersSummaryGet", limited(perm(orgauth.PermUserList), authLimit), s.usersSummary},
		{"GET /v1/users/meta", "v1UsersMetadata", limited(perm(orgauth.PermUserList), authLimit), s.usersMeta},
		{"GET /v1/users/{uid}", "v1UsersUidGet", selfOr(orgauth.PermUserGet), s.usersGet},
		{"PUT /v1/users/{uid}", "v1UsersUidUpdate", selfOr(orgauth.PermUserUpdate), s.usersUpdate},
		{"PATCH /v1/users/{uid}", "v1UsersUidPatch", selfOr(orgauth.PermUserUpdate), s.usersPatch},
		{"DELETE /v1/users/{uid}", "v1UsersUidDelete", perm(orgauth.PermUserDelete), s.usersDelete},
		{"PATCH /v1/users/{uid}/status/loginMode", "v1UsersStatusLoginMode", selfOr(orgauth.PermUserUpdate), s.usersLoginMode},
		{"PATCH /v1/users/password/change", "V1UsersPasswordChange", limited(public, authLimit), s.passwordChangeByEmail},
		{"PATCH /v1/users/{uid}/password/change", "v1UsersUidPasswordChange", selfOr(orgauth.PermUserUpdate), s.passwordChange},
		{"PATCH /v1/users/{uid}/password/reset", "v1UsersUidPasswordReset", limited(perm(orgauth.PermUserUpdate), authLimit), s.usersPasswordReset},
		{"PATCH /v1/users/password/reset", "v1UsersEmailPasswordReset", limited(perm(orgauth.PermUserUpdate), authLimit), s.usersEmailPasswordReset},
		{"GET /v1/users/{uid}/roles", "v1UsersUidRoles", selfOr(orgauth.PermUserGet), s.userRolesGet},
		{"PUT /v1/users/{uid}/roles", "v1UsersUidRolesUpdate", limited(perm(orgauth.PermUserUpdate), authLimit), s.userRolesUpdate},

		// Teams.
		{"GET /v1/teams", "v1TeamsList", limited(perm(orgauth.PermTeamList), authLimit), s.teamsList},
		{"POST /v1/teams", "v1TeamsCreate", limited(perm(orgauth.PermTeamCreate), authLimit), s.teamsCreate},
		{"GET /v1/teams/{uid}", "v1TeamsUidGet", perm(orgauth.PermTeamGet), s.teamsGet},
		{"PUT /v1/teams/{uid}", "v1TeamsUidUpdate", limited(perm(orgauth.PermTeamUpdate), authLimit), s.teamsUpdate},
		{"PATCH /v1/teams/{uid}", "v1TeamsUidPatch", limited(perm(orgauth.PermTeamUpdate), authLimit), s.teamsPatch},
		{"DELETE /v1/teams/{uid}", "v1TeamsUidDelete", limited(perm(orgauth.PermTeamDelete), authLimit), s.teamsDelete},

		// Roles.
		{"GET /v1/roles", "v1RolesList", limited(perm(orgauth.PermRoleList), authLimit), s.rolesList},
		{"POST /v1/roles", "v1RolesCreate", limited(perm(orgauth.PermRoleCreate), authLimit), s.rolesCreate},
		{"GET /v1/roles/{uid}", "v1RolesUidGet", perm(orgauth.PermRoleGet), s.rolesGet},
		{"PUT /v1/roles/{uid}", "v1RolesUidUpdate", limited(perm(orgauth.PermRoleUpdate), authLimit), s.rolesUpdate},
		{"DELETE /v1/roles/{uid}", "v1RolesUidDelete", limited(perm(orgauth.PermRoleDelete), authLimit), s.rolesDelete},

		// API keys.
		{"GET /v1/apiKeys", "v1ApiKeysList", limited(selfOr(orgauth.PermAPIKeyList), authLimit), s.apiKeysList},
		{"POST /v1/apiKeys", "v1ApiKeysCreate", limited(selfOr(orgauth.PermAPIKeyCreate), authLimit), s.apiKeysCreate},
		{"GET /v1/apiKeys/{uid}", "v1ApiKeysUidGet", selfOr(orgauth.PermAPIKeyGet), s.apiKeysGet},
		{"PUT /v1/apiKeys/{uid}", "v1ApiKeysUidUpdate", selfOr(orgauth.PermAPIKeyUpdate), s.apiKeysUpdate},
		{"DELETE /v1/apiKeys/{uid}", "v1ApiKeysUidDelete", selfOr(orgauth.PermAPIKeyDelete), s.apiKeysDelete},
		{"PATCH /v1/apiKeys/{uid}", "v1ApiKeysUidActiveState", selfOr(orgauth.PermAPIKeyUpdate), s.apiKeysSetState},
		{"PUT /v1/apiKeys/{uid}/state", "v1ApiKeysUidState", selfOr(orgauth.PermAPIKeyUpdate), s.apiKeysSetState},

		// System password settings.
		{"GET /v1/system/password/policy/default", "V1SystemPasswordPolicyGet", system(orgauth.PermSystemSettingsGet), s.systemPasswordPolicyGet},
		{"PUT /v1/system/password/policy/default", "V1SystemPasswordPolicyUpdate", system(orgauth.PermSystemSettingsUpdate), s.systemPasswordPolicyUpdate},
		{"PATCH /v1/system/passwords/blocklist", "V1PasswordsBlockListUpdate", system(orgauth.PermSystemSettingsUpdate), s.blocklistUpdate},
		{"DELETE /v1/system/passwords/blocklist", "V1PasswordsBlockListDelete", system(orgauth.PermSystemSettingsUpdate), s.blocklistDelete},

		// Social logins.
		{"GET /v1/system/config/sso", "V1SystemConfigSsoGet", system(orgauth.PermSystemSettingsGet), s.ssoConfigGet},
		{"PUT /v1/system/config/sso", "V1SystemConfigSsoUpdate", system(orgauth.PermSystemSettingsUpdate), s.ssoConfigUpdate},
		{"PUT /v1/system/config/sso/github/validate", "V1SystemConfigSsoGithubValidate", system(orgauth.PermSystemSettingsUpdate), s.ssoGithubValidate},
		{"PUT /v1/system/config/sso/oidc/validate", "V1SystemConfigSsoOidcValidate", system(orgauth.PermSystemSettingsUpdate), s.ssoOIDCValidate},
		{"GET /v1/tenants/{tenantUid}/sso/auth/providers", "V1TenantUidSsoAuthProvidersGet", perm(orgauth.PermTenantSettingsGet), s.tenantSSOGet},
		{"POST /v1/tenants/{tenantUid}/sso/auth/providers", "V1TenantUidSsoAuthProvidersUpdate", perm(orgauth.PermTenantSettingsUpdate), s.tenantSSOUpdate},
		{"GET /v1/auth/sso/providers", "V1AuthSsoProviders", limited(public, authLimit), s.ssoProviders},
		{"GET /v1/auth/sso/logins", "V1SsoLogins", limited(public, authLimit), s.ssoLoginsList},
		{"GET /v1/auth/sso/idps", "V1SsoIdps", limited(public, authLimit), s.ssoIdps},
		{"GET /v1/auth/sso/{ssoApp}/callback", "V1SsoCallback", limited(public, authLimit), s.ssoCallback},

		// Beyond the spec.
		{"GET /v1/permissions", "permissionsList", signedIn, s.permissionsList},
		{"GET /v1/audit", "auditList", limited(perm(orgauth.PermAuditGet), authLimit), s.auditList},
		{"GET /v1/auth/sso/{ssoApp}/start", "ssoStart", limited(public, authLimit), s.ssoStart},
		{"GET /assets/sso/{name}", "ssoLogo", public, s.ssoLogo},
		{"GET /.well-known/jwks.json", "jwks", public, s.jwks},
		{"GET /healthz", "healthz", public, s.healthz},
		{"GET /readyz", "readyz", public, s.readyz},
		{"GET /activate", "activatePage", public, s.passwordPage},
		{"GET /reset", "resetPage", public, s.passwordPage},
	}
}
