package http_test

import (
	"testing"

	"github.com/orgauth/orgauth/internal/apitest"
)

func TestTenantUserAPIKeyFlow(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	uid, tok := env.NewUser(ten, "bob@acme.example.com", "B0b-password!")

	var info struct{ UserUID, TenantUID, OrgName string }
	env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200).JSON(t, &info)
	if info.UserUID != uid || info.TenantUID != ten.UID || info.OrgName != "acme" {
		t.Fatalf("info = %+v", info)
	}
	var key struct{ APIKey, UID string }
	env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "ci"}, "spec": map[string]any{}},
		"Authorization", tok).Must(t, 201).JSON(t, &key)
	env.Do("GET", "/v1/users/info", nil, "ApiKey", key.APIKey).Must(t, 200)
	env.Do("GET", "/v1/apiKeys", nil, "Authorization", tok).Must(t, 200)
	env.Do("GET", "/v1/apiKeys/"+key.UID, nil, "ApiKey", key.APIKey).Must(t, 200)
	env.Do("GET", "/v1/users", nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("GET", "/v1/users/"+uid, nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("POST", "/v1/users/summary", map[string]any{"filter": map[string]any{"emailId": map[string]any{"contains": "bob"}}}, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("GET", "/v1/users/meta", nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("GET", "/v1/tenants/"+ten.UID, nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("GET", "/v1/tenants/"+ten.UID+"/authTokenSettings", nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("PUT", "/v1/tenants/"+ten.UID+"/loginBanner", map[string]any{"isEnabled": true, "title": "Hi", "Message": "Welcome"}, "Authorization", ten.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/tenants/"+ten.UID+"/loginBanner", nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("PATCH", "/v1/users/"+uid+"/password/change", map[string]any{"currentPassword": "B0b-password!", "newPassword": "N3w-password!"}, "Authorization", tok).Must(t, 204)
	var fresh struct{ Authorization string }
	env.Do("GET", "/v1/auth/refresh/"+tok+"?setCookie=false", nil).Must(t, 200).JSON(t, &fresh)
	env.Do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{fresh.Authorization}}, "Authorization", fresh.Authorization).Must(t, 204)
	env.Do("GET", "/v1/users/info", nil, "Authorization", fresh.Authorization).Must(t, 401)
	env.Do("GET", "/v1/auth/refresh/"+fresh.Authorization, nil).Must(t, 401)
	env.Do("GET", "/v1/auth/orgs", nil, "ApiKey", key.APIKey).Must(t, 200)
	env.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 200)
}
