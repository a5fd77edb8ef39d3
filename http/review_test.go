package http_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/orgauth/orgauth/internal/apitest"
)

// Tests of the findings of the security review of the foundation.

// An activation link is a live credential: only callers who could have invited the
// user see it, not a viewer.
func TestReview_ViewerDoesNotSeeActivationLinks(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	_, viewer := env.NewUser(ten, "vic@acme.example.com", "V1ewer-pass!", "tenant-viewer")
	var boss struct{ UID string }
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{
		"emailId": "boss@acme.example.com", "firstName": "Boss", "roles": []string{"tenant-admin"}}},
		"Authorization", ten.AdminToken).Must(t, 201).JSON(t, &boss)

	for _, path := range []string{"/v1/users/" + boss.UID, "/v1/users"} {
		r := env.Do("GET", path, nil, "Authorization", viewer).Must(t, 200)
		if strings.Contains(string(r.Body), "activate?token=") {
			t.Errorf("viewer sees an activation link at %s: %s", path, r.Body)
		}
	}
	r := env.Do("GET", "/v1/users/"+boss.UID, nil, "Authorization", ten.AdminToken).Must(t, 200)
	if !strings.Contains(string(r.Body), "activate?token=") {
		t.Errorf("the tenant admin does not see the pending link: %s", r.Body)
	}
}

// A user of the system tenant without a system role is not a system admin: it
// cannot reach other tenants nor take over the system admin's account.
func TestReview_SystemTenantUserWithoutSystemRole(t *testing.T) {
	env := apitest.New(t)
	beta := env.NewTenant("beta")
	admin := env.Admin()
	system := &apitest.Tenant{Org: "system", AdminToken: admin}
	_, ops := env.NewUser(system, "ops@example.com", "0ps-Password!", "tenant-admin")
	var me struct{ UserUID string }
	env.Do("GET", "/v1/users/info", nil, "Authorization", admin).Must(t, 200).JSON(t, &me)

	env.Do("PUT", "/v1/tenants/"+beta.UID+"/authTokenSettings", map[string]int{"expiryTimeMinutes": 60},
		"Authorization", ops).Must(t, 404)
	env.Do("GET", "/v1/tenants", nil, "Authorization", ops).Must(t, 403)
	env.Do("PATCH", "/v1/users/"+me.UserUID+"/password/change", map[string]string{"newPassword": "Hij4cked-pass!"},
		"Authorization", ops).Must(t, 403)
	env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"userUid": me.UserUID}},
		"Authorization", ops).Must(t, 403)
	env.Do("PATCH", "/v1/users/"+me.UserUID, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", ops).Must(t, 403)
	env.Do("DELETE", "/v1/users/"+me.UserUID, nil, "Authorization", ops).Must(t, 403)
	// The system admin is untouched.
	env.Admin()
}

// A page on another site must not sign a visitor's browser into someone else's
// account: cross-site sign-in and refresh answer without a cookie.
func TestReview_NoCookieForCrossSiteRequests(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	body := map[string]string{"org": "acme", "emailId": ten.AdminEmail, "password": ten.AdminPassword}
	r := env.Do("POST", "/v1/auth/authenticate", body, "Sec-Fetch-Site", "cross-site").Must(t, 200)
	if c := r.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("cross-site sign-in set a cookie: %s", c)
	}
	r = env.Do("GET", "/v1/auth/refresh/"+ten.AdminToken, nil, "Sec-Fetch-Site", "cross-site").Must(t, 200)
	if c := r.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("cross-site refresh set a cookie: %s", c)
	}
	r = env.Do("GET", "/v1/auth/refresh/"+ten.AdminToken, nil, "Origin", "https://evil.example").Must(t, 200)
	if c := r.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("refresh from another origin set a cookie: %s", c)
	}
	// A refresh must not replace the cookie of another sign-in of the browser.
	victim := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
	r = env.Do("GET", "/v1/auth/refresh/"+ten.AdminToken, nil, "Cookie", "Authorization="+victim).Must(t, 200)
	if c := r.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("refresh replaced the cookie of another session: %s", c)
	}
	// The page of orgauth itself still gets its cookie.
	r = env.Do("GET", "/v1/auth/refresh/"+ten.AdminToken, nil, "Sec-Fetch-Site", "same-origin").Must(t, 200)
	if !strings.HasPrefix(r.Header.Get("Set-Cookie"), "Authorization=") {
		t.Errorf("same-origin refresh set no cookie")
	}
}

// Correcting the address of a pending invitation sends a new link there and
// retires the link mailed to the old address.
func TestReview_EmailChangeOfPendingUserReinvites(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	var u struct{ UID string }
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "bob@typo.example.com", "firstName": "Bob"}},
		"Authorization", ten.AdminToken).Must(t, 201).JSON(t, &u)
	old := env.Mail.LastToken(t, "bob@typo.example.com")
	env.Do("PATCH", "/v1/users/"+u.UID, []map[string]any{{"op": "replace", "path": "/spec/emailId", "value": "bob@acme.example.com"}},
		"Authorization", ten.AdminToken).Must(t, 204)
	env.Do("PATCH", "/v1/auth/password/"+url.PathEscape(old)+"/activate", map[string]string{"password": "B0b-password!"}).Must(t, 404)
	env.Activate("bob@acme.example.com", "B0b-password!")
	env.Login("acme", "bob@acme.example.com", "B0b-password!")
}
