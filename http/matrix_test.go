package http_test

// The authorization matrix: for every operation of the spec, the access it must
// declare, and for every built-in role and a custom role, whether a caller holding
// only that role is let through, over real HTTP.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
)

// wantAccess is the access every operation of the spec must declare, written out
// here independently of routes.go: "public", "signed-in", a permission, or a
// permission prefixed "self-or " or "system ". A route added without an entry,
// or with another access than its entry, fails TestAuthorizationMatrix.
var wantAccess = map[string]string{
	// Sign-in and sessions.
	"v1Authenticate":          "public",
	"v1AuthRefresh":           "public",
	"v1AuthOrg":               "public",
	"V1AuthOrgs":              "signed-in",
	"v1PasswordActivate":      "public",
	"v1UsersInfoGet":          "signed-in",
	"v1UsersAuthTokensRevoke": "signed-in",
	"V1UsersPasswordChange":   "public",

	// Tenants.
	"v1TenantsList":                      "system tenant.list",
	"v1TenantsCreate":                    "system tenant.create",
	"v1TenantsGet":                       "tenant.get",
	"v1TenantsDelete":                    "system tenant.delete",
	"v1TenantUidAuthTokenSettingsGet":    "tenantSettings.get",
	"v1TenantUidAuthTokenSettingsUpdate": "tenantSettings.update",
	"v1TenantUidLoginBannerGet":          "tenantSettings.get",
	"v1TenantUidLoginBannerUpdate":       "tenantSettings.update",

	// Users.
	"v1UsersList":              "user.list",
	"v1UsersCreate":            "user.create",
	"v1UsersSummaryGet":        "user.list",
	"v1UsersMetadata":          "user.list",
	"v1UsersUidGet":            "self-or user.get",
	"v1UsersUidUpdate":         "self-or user.update",
	"v1UsersUidPatch":          "self-or user.update",
	"v1UsersUidDelete":         "user.delete",
	"v1UsersStatusLoginMode":   "self-or user.update",
	"v1UsersUidPasswordChange": "self-or user.update",
	"v1UsersUidRoles":          "self-or user.get",
	"v1UsersUidRolesUpdate":    "user.update",

	// API keys: everyone manages their own.
	"v1ApiKeysList":           "self-or apiKey.list",
	"v1ApiKeysCreate":         "self-or apiKey.create",
	"v1ApiKeysUidGet":         "self-or apiKey.get",
	"v1ApiKeysUidUpdate":      "self-or apiKey.update",
	"v1ApiKeysUidDelete":      "self-or apiKey.delete",
	"v1ApiKeysUidActiveState": "self-or apiKey.update",
	"v1ApiKeysUidState":       "self-or apiKey.update",

	// Teams and roles.
	"v1TeamsList":      "team.list",
	"v1TeamsCreate":    "team.create",
	"v1TeamsUidGet":    "team.get",
	"v1TeamsUidUpdate": "team.update",
	"v1TeamsUidPatch":  "team.update",
	"v1TeamsUidDelete": "team.delete",
	"v1RolesList":      "role.list",
	"v1RolesCreate":    "role.create",
	"v1RolesUidGet":    "role.get",
	"v1RolesUidUpdate": "role.update",
	"v1RolesUidDelete": "role.delete",

	// Social logins.
	"V1SystemConfigSsoGet":              "system systemSettings.get",
	"V1SystemConfigSsoUpdate":           "system systemSettings.update",
	"V1SystemConfigSsoGithubValidate":   "system systemSettings.update",
	"V1SystemConfigSsoOidcValidate":     "system systemSettings.update",
	"V1TenantUidSsoAuthProvidersGet":    "tenantSettings.get",
	"V1TenantUidSsoAuthProvidersUpdate": "tenantSettings.update",
	"V1AuthSsoProviders":                "public",
	"V1SsoLogins":                       "public",
	"V1SsoIdps":                         "public",
	"V1SsoCallback":                     "public",

	// Beyond the spec.
	"ssoStart":        "public",
	"ssoLogo":         "public",
	"permissionsList": "signed-in",
	"auditList":       "audit.get",
	"jwks":            "public",
	"healthz":         "public",
	"readyz":          "public",
	"activatePage":    "public",
	"resetPage":       "public",

	// Account lifecycle and password settings.
	"v1PasswordReset":                 "public",
	"v1PasswordResetRequest":          "public",
	"V1AuthUserOrgForgot":             "public",
	"v1UsersUidPasswordReset":         "user.update",
	"v1UsersEmailPasswordReset":       "user.update",
	"V1TenantUidPasswordPolicyGet":    "tenantSettings.get",
	"V1TenantUidPasswordPolicyUpdate": "tenantSettings.update",
	"V1SystemPasswordPolicyGet":       "system systemSettings.get",
	"V1SystemPasswordPolicyUpdate":    "system systemSettings.update",
	"V1PasswordsBlockListUpdate":      "system systemSettings.update",
	"V1PasswordsBlockListDelete":      "system systemSettings.update",
}

// notServed are the operations of the spec that this version does not answer
// (each belongs to a later issue). The matrix test fails when one of them gets a
// route, so that it must move to wantAccess.
var notServed = []string{
	"V1AuthMfaDevicesList", "V1UsersMfaDevicesList", "V1UsersMfaDevicesNameGet",
	"V1UsersMfaDevicesNameDelete", "V1UsersMfaRegisterDeviceFinish", "V1UsersMfaRegisterDeviceStart",
	"V1OidcCallback", "V1OidcLogout", "V1SamlCallback", "V1SamlLogout",
	"V1TenantUidOidcConfigGet", "V1TenantUidOidcConfigUpdate",
	"V1TenantUidSamlConfigSpecGet", "V1TenantUidSamlConfigUpdate",
	"V1TenantUidDomainsGet", "V1TenantUidDomainsUpdate",
}

// rolePermissions are the permissions of each built-in role as behavior.md states
// them, spelled out in full. The auditor is the custom role of the test.
var rolePermissions = map[string][]string{
	orgauth.RoleTenantAdmin: {"tenant.get", "tenantSettings.get", "tenantSettings.update",
		"user.create", "user.get", "user.list", "user.update", "user.delete",
		"apiKey.create", "apiKey.get", "apiKey.list", "apiKey.update", "apiKey.delete",
		"team.create", "team.get", "team.list", "team.update", "team.delete",
		"role.create", "role.get", "role.list", "role.update", "role.delete", "audit.get"},
	orgauth.RoleTenantViewer: {"tenant.get", "tenantSettings.get", "user.get", "user.list",
		"apiKey.get", "apiKey.list", "team.get", "team.list", "role.get", "role.list", "audit.get"},
	orgauth.RoleUserAdmin: {"user.create", "user.get", "user.list", "user.update", "user.delete",
		"apiKey.create", "apiKey.get", "apiKey.list", "apiKey.update", "apiKey.delete"},
	orgauth.RoleTeamAdmin: {"team.create", "team.get", "team.list", "team.update", "team.delete", "user.get", "user.list"},
	orgauth.RoleRoleAdmin: {"role.create", "role.get", "role.list", "role.update", "role.delete"},
	"auditor":             {"audit.get", "user.list", "team.get"},
	"no role":             {},
}

// matrixCaller is one signed-in caller of the matrix.
type matrixCaller struct {
	name, token, uid, tenantUID string
	system                      bool
	perms                       []string
}

func (c *matrixCaller) holds(perm string) bool { return c.system || slices.Contains(c.perms, perm) }

// ghost is a well-formed id of nothing.
const ghost = "0123456789abcdef01234567"

// matrixRequest builds the request of op for caller c: path parameters name
// nothing that exists (or the caller's own tenant), and bodies are minimal, so
// that an allowed call changes nothing.
func matrixRequest(op apitest.Operation, c *matrixCaller) (path string, body any) {
	path = op.Path
	tenant := c.tenantUID
	if op.ID == "v1TenantsDelete" {
		tenant = ghost
	}
	path = strings.ReplaceAll(path, "{tenantUid}", tenant)
	path = strings.ReplaceAll(path, "{uid}", ghost)
	for _, p := range []string{"{token}", "{passwordToken}", "{org}", "{ssoApp}", "{deviceName}"} {
		path = strings.ReplaceAll(path, p, "x")
	}
	switch op.ID {
	case "v1UsersUidUpdate":
		body = map[string]any{"spec": map[string]any{"firstName": "Changed"}}
	case "v1UsersUidPatch":
		body = []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "Changed"}}
	case "v1UsersStatusLoginMode":
		body = map[string]any{"loginMode": "dev"}
	case "v1UsersUidPasswordChange":
		body = map[string]any{"currentPassword": "Whatever-1!", "newPassword": "N3w-Passw0rd!x"}
	case "v1UsersAuthTokensRevoke":
		body = map[string]any{"tokens": []string{"not.a.token"}} // never the caller's session
	case "v1UsersUidRolesUpdate":
		body = map[string]any{"roles": []string{}}
	case "v1ApiKeysCreate":
		body = map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"userUid": ghost}}
	case "v1ApiKeysUidUpdate":
		body = map[string]any{"metadata": map[string]any{"name": "k"}}
	case "v1ApiKeysUidActiveState", "v1ApiKeysUidState":
		body = map[string]any{"isActive": false}
	default:
		switch op.Method {
		case http.MethodPost, http.MethodPut:
			body = map[string]any{}
		case http.MethodPatch:
			body = []map[string]any{}
		}
	}
	return path, body
}

func TestAuthorizationMatrix(t *testing.T) {
	env := apitest.New(t)
	ops, err := apitest.Operations()
	if err != nil {
		t.Fatal(err)
	}
	// Every served operation declares the access written down above.
	served := map[string]bool{}
	for _, op := range env.Server.Operations() {
		served[op.ID] = true
		want, ok := wantAccess[op.ID]
		if !ok {
			t.Errorf("%s %s (%s) has no entry in the authorization matrix", op.Method, op.Path, op.ID)
			continue
		}
		if op.Access != want {
			t.Errorf("%s %s (%s) declares %q, the matrix says %q", op.Method, op.Path, op.ID, op.Access, want)
		}
	}
	for id := range wantAccess {
		if !served[id] {
			t.Errorf("the matrix lists %s, which the server does not serve", id)
		}
	}
	for _, op := range ops {
		if !served[op.ID] && !slices.Contains(notServed, op.ID) {
			t.Errorf("spec operation %s %s (%s) is neither served nor listed as not served", op.Method, op.Path, op.ID)
		}
		if served[op.ID] && slices.Contains(notServed, op.ID) {
			t.Errorf("%s is served: take it out of notServed", op.ID)
		}
	}
	// Every catalogue permission a route needs exists.
	for _, a := range wantAccess {
		perm := a[strings.LastIndex(a, " ")+1:]
		if a != "public" && a != "signed-in" && !slices.Contains(orgauth.Catalogue, orgauth.Permission(perm)) {
			t.Errorf("access %q names a permission outside the catalogue", a)
		}
	}

	// The callers: the system admin, one user per built-in tenant role, a custom
	// role and a user without roles.
	tn := env.NewTenant("matrix")
	r := env.Do("POST", "/v1/roles", map[string]any{
		"metadata": map[string]any{"name": "Auditor"},
		"spec":     map[string]any{"permissions": rolePermissions["auditor"]},
	}, "Authorization", tn.AdminToken).Must(t, 201)
	var auditor struct{ UID string }
	r.JSON(t, &auditor)
	var info struct{ TenantUID string }
	admin := env.Admin()
	env.Do("GET", "/v1/users/info", nil, "Authorization", admin).Must(t, 200).JSON(t, &info)
	callers := []*matrixCaller{{name: "system admin", token: admin, tenantUID: info.TenantUID, system: true}}
	for i, name := range []string{orgauth.RoleTenantAdmin, orgauth.RoleTenantViewer, orgauth.RoleUserAdmin,
		orgauth.RoleTeamAdmin, orgauth.RoleRoleAdmin, "auditor", "no role"} {
		roles := []string{name}
		switch name {
		case "auditor":
			roles = []string{auditor.UID}
		case "no role":
			roles = nil
		}
		uid, tok := env.NewUser(tn, fmt.Sprintf("m%d@matrix.example.com", i), "Matr1x-Passw0rd!", roles...)
		callers = append(callers, &matrixCaller{name: name, token: tok, uid: uid, tenantUID: tn.UID, perms: rolePermissions[name]})
	}

	// A key of the tenant admin, which callers without apiKey.list must not see.
	r = env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "admin key"}, "spec": map[string]any{}},
		"Authorization", tn.AdminToken).Must(t, 201)
	var adminKey struct{ UID string }
	r.JSON(t, &adminKey)

	cells := 0
	for _, op := range ops {
		if !served[op.ID] {
			continue
		}
		access := wantAccess[op.ID]
		if access == "public" {
			continue
		}
		system := strings.HasPrefix(access, "system ")
		self := strings.HasPrefix(access, "self-or ")
		perm := access[strings.LastIndex(access, " ")+1:]
		for _, c := range callers {
			cells++
			path, body := matrixRequest(op, c)
			res := env.Do(op.Method, path, body, "Authorization", c.token)
			allowed := access == "signed-in" || c.holds(perm) && (!system || c.system)
			switch {
			case res.Status == http.StatusUnauthorized:
				t.Errorf("%s %s as %s: 401 %s", op.Method, path, c.name, res.Body)
			case allowed && res.Status == http.StatusForbidden:
				t.Errorf("%s %s as %s: 403, want allowed: %s", op.Method, path, c.name, res.Body)
			case !allowed && !self && res.Status != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403: %s", op.Method, path, c.name, res.Status, res.Body)
			case !allowed && op.ID == "v1ApiKeysList":
				// Without the permission the list holds the caller's own keys only.
				if res.Status != http.StatusOK || strings.Contains(string(res.Body), adminKey.UID) {
					t.Errorf("GET /v1/apiKeys as %s: %d %s, want 200 without the admin's key", c.name, res.Status, res.Body)
				}
			case !allowed && self && res.Status != http.StatusForbidden && res.Status != http.StatusNotFound:
				// Without the permission a caller acts on itself only: another
				// user's object is forbidden or, for API keys, not even visible.
				t.Errorf("%s %s as %s on another object: %d, want 403 or 404: %s", op.Method, path, c.name, res.Status, res.Body)
			}
		}
	}
	t.Logf("matrix: %d served operations x %d callers = %d cells checked over HTTP", len(served), len(callers), cells)

	// Self-service holds for every caller, whatever its roles.
	for _, c := range callers[1:] {
		env.Do("GET", "/v1/users/"+c.uid, nil, "Authorization", c.token).Must(t, 200)
		env.Do("GET", "/v1/users/"+c.uid+"/roles", nil, "Authorization", c.token).Must(t, 200)
		env.Do("GET", "/v1/apiKeys", nil, "Authorization", c.token).Must(t, 200)
		env.Do("PATCH", "/v1/users/"+c.uid, []map[string]any{{"op": "replace", "path": "/spec/lastName", "value": "Self"}},
			"Authorization", c.token).Must(t, 204)
	}
}
