package http_test

// Bad input: every malformed, unknown, mistyped, oversized or conflicting request
// gets a 4xx in the error shape (apitest checks the shape of every error answer)
// and writes nothing.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
)

// badSnapshot is the state a bad request must leave alone: every customer
// tenant with its settings, and the users and API keys of the given tenants.
func badSnapshot(t testing.TB, env *apitest.Env, tenantIDs ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	tenants, _, err := env.Store.ListTenants(ctx, orgauth.Page{Limit: orgauth.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	enc.Encode(tenants)
	for _, tid := range tenantIDs {
		users, _, err := env.Store.InTenant(tid).ListUsers(ctx, orgauth.UserFilter{Page: orgauth.Page{Limit: orgauth.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		enc.Encode(users)
		keys, err := env.Store.InTenant(tid).ListAPIKeys(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		enc.Encode(keys)
	}
	return b.String()
}

type badCase struct {
	name   string
	body   any      // string/[]byte: sent as is; else JSON
	header []string // extra headers (after the credentials)
	status int
	code   string
}

// badRun sends each case and checks status, code and that nothing changed.
func badRun(t *testing.T, env *apitest.Env, method, path string, creds []string, tenantIDs []string, cases []badCase) {
	t.Helper()
	before := badSnapshot(t, env, tenantIDs...)
	for _, c := range cases {
		r := env.Do(method, path, c.body, append(append([]string{}, creds...), c.header...)...)
		if r.Status != c.status || (c.code != "" && r.Code() != c.code) {
			t.Errorf("%s %s, %s: %d %s, want %d %s", method, path, c.name, r.Status, r.Body, c.status, c.code)
		}
		if after := badSnapshot(t, env, tenantIDs...); after != before {
			t.Fatalf("%s %s, %s: the state changed:\nbefore %s\nafter  %s", method, path, c.name, before, after)
		}
	}
}

func TestBadInput_UserCreate(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	env.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	ok := `{"spec":{"emailId":"new@acme.example.com","firstName":"New"}}`
	spec := func(kv ...any) map[string]any {
		s := map[string]any{"emailId": "new@acme.example.com", "firstName": "New"}
		for i := 0; i+1 < len(kv); i += 2 {
			s[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"spec": s}
	}
	inv, conflict := orgauth.EINVALID, orgauth.ECONFLICT
	annotations := map[string]string{}
	for i := range 65 {
		annotations[fmt.Sprint("k", i)] = "v"
	}
	cases := []badCase{
		// Malformed JSON.
		{"truncated", `{"spec":`, nil, 400, inv},
		{"open brace", `{`, nil, 400, inv},
		{"bad literal", `nul`, nil, 400, inv},
		{"single quotes", `{'spec':{}}`, nil, 400, inv},
		{"trailing comma", `{"spec":{"emailId":"new@acme.example.com","firstName":"New",}}`, nil, 400, inv},
		{"comment", `{"spec":{"emailId":"new@acme.example.com","firstName":"New"}} // hi`, nil, 400, inv},
		{"byte order mark", "\xef\xbb\xbf" + ok, nil, 400, inv},
		{"NaN", `{"spec":{"emailId":"new@acme.example.com","firstName":"New","roles":NaN}}`, nil, 400, inv},
		// Not an object.
		{"array", `[]`, nil, 400, inv},
		{"string", `"spec"`, nil, 400, inv},
		{"number", `42`, nil, 400, inv},
		{"null", `null`, nil, 400, inv},
		{"empty object", `{}`, nil, 400, inv},
		// Unknown fields, at the top and nested.
		{"unknown top field", `{"spec":{"emailId":"new@acme.example.com","firstName":"New"},"foo":1}`, nil, 400, inv},
		{"tenantUid", `{"tenantUid":"x","spec":{"emailId":"new@acme.example.com","firstName":"New"}}`, nil, 400, inv},
		{"unknown spec field", spec("tenantUid", "x"), nil, 400, inv},
		{"status", map[string]any{"spec": spec()["spec"], "status": map[string]any{"isActive": true}}, nil, 400, inv},
		{"unknown metadata field", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"owner": "x"}}, nil, 400, inv},
		// Wrong types.
		{"email number", spec("emailId", 123), nil, 400, inv},
		{"first name bool", spec("firstName", true), nil, 400, inv},
		{"roles string", spec("roles", "tenant-admin"), nil, 400, inv},
		{"roles of numbers", spec("roles", []int{1}), nil, 400, inv},
		{"spec array", `{"spec":[]}`, nil, 400, inv},
		{"annotations array", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"annotations": []string{"x"}}}, nil, 400, inv},
		{"annotation value number", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"annotations": map[string]any{"x": 1}}}, nil, 400, inv},
		// Trailing data.
		{"two objects", ok + ok, nil, 400, inv},
		{"trailing word", ok + " x", nil, 400, inv},
		{"trailing comma after", ok + ",", nil, 400, inv},
		{"trailing bracket", ok + "]", nil, 400, inv},
		// Empty body.
		{"empty", "", nil, 400, inv},
		{"whitespace", " \n\t ", nil, 400, inv},
		// Not JSON.
		{"text/plain", ok, []string{"Content-Type", "text/plain"}, 400, inv},
		{"form", "spec=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, inv},
		{"multipart", ok, []string{"Content-Type", "multipart/form-data; boundary=x"}, 400, inv},
		{"xml", "<spec/>", []string{"Content-Type", "application/xml"}, 400, inv},
		// Oversized.
		{"2 MB", `{"spec":{"emailId":"new@acme.example.com","firstName":"` + strings.Repeat("a", 2<<20) + `"}}`, nil, 413, orgauth.ETOOLARGE},
		// Invalid values.
		{"no spec", map[string]any{"metadata": map[string]any{"name": "x"}}, nil, 400, inv},
		{"no email", map[string]any{"spec": map[string]any{"firstName": "New"}}, nil, 400, inv},
		{"email without @", spec("emailId", "not-an-email"), nil, 400, inv},
		{"email with display name", spec("emailId", "New <new@acme.example.com>"), nil, 400, inv},
		{"email two @", spec("emailId", "a@b@acme.example.com"), nil, 400, inv},
		{"email no local part", spec("emailId", "@acme.example.com"), nil, 400, inv},
		{"email no domain", spec("emailId", "new@"), nil, 400, inv},
		{"email header injection", spec("emailId", "new@acme.example.com\r\nBcc: victim@example.com"), nil, 400, inv},
		{"email list", spec("emailId", "new@acme.example.com, other@acme.example.com"), nil, 400, inv},
		{"email 300 bytes", spec("emailId", strings.Repeat("a", 290)+"@acme.example.com"), nil, 400, inv},
		{"no first name", spec("firstName", ""), nil, 400, inv},
		{"blank first name", spec("firstName", "   "), nil, 400, inv},
		{"control character in name", spec("firstName", "Ne\u0007w"), nil, 400, inv},
		{"newline in name", spec("lastName", "A\nB"), nil, 400, inv},
		{"129-character name", spec("firstName", strings.Repeat("n", 129)), nil, 400, inv},
		{"unknown role", spec("roles", []string{"superuser"}), nil, 400, inv},
		{"system role", spec("roles", []string{orgauth.RoleSystemAdmin}), nil, 400, inv},
		{"teams", spec("teams", []string{"t1"}), nil, 400, inv},
		{"login mode", spec("loginMode", "root"), nil, 400, inv},
		{"65 annotations", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"annotations": annotations}}, nil, 400, inv},
		{"empty annotation key", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"annotations": map[string]string{"": "v"}}}, nil, 400, inv},
		{"huge label value", map[string]any{"spec": spec()["spec"], "metadata": map[string]any{"labels": map[string]string{"k": strings.Repeat("v", 4097)}}}, nil, 400, inv},
		// Duplicates.
		{"duplicate email", spec("emailId", "bob@acme.example.com"), nil, 409, conflict},
		{"duplicate email, other case", spec("emailId", "BOB@Acme.Example.COM"), nil, 409, conflict},
		{"duplicate email, spaces", spec("emailId", "  bob@acme.example.com "), nil, 409, conflict},
		{"duplicate admin email", spec("emailId", ten.AdminEmail), nil, 409, conflict},
	}
	badRun(t, env, "POST", "/v1/users", []string{"Authorization", ten.AdminToken}, []string{ten.UID}, cases)
	if n := len(env.Mail.Messages("new@acme.example.com")); n != 0 {
		t.Errorf("%d invitations sent by bad requests", n)
	}
	if n := len(env.Mail.Messages("bob@acme.example.com")); n != 1 {
		t.Errorf("bob got %d mails, want only the first invitation", n)
	}
	// The good request still works, once.
	env.Do("POST", "/v1/users", ok, "Authorization", ten.AdminToken).Must(t, 201)
	env.Do("POST", "/v1/users", ok, "Authorization", ten.AdminToken).Must(t, 409)
	// Content-Type with parameters is JSON all the same.
	env.Do("POST", "/v1/users", `{"spec":{"emailId":"cs@acme.example.com","firstName":"Cs"}}`,
		"Authorization", ten.AdminToken, "Content-Type", "application/json; charset=utf-8").Must(t, 201)
	// The same email in another tenant is fine.
	other := env.NewTenant("other")
	env.Do("POST", "/v1/users", `{"spec":{"emailId":"bob@acme.example.com","firstName":"Bob"}}`, "Authorization", other.AdminToken).Must(t, 201)
}

func TestBadInput_TenantCreate(t *testing.T) {
	env := apitest.New(t)
	env.NewTenant("acme")
	admin := env.Admin()
	tenant := func(org string, kv ...any) map[string]any {
		s := map[string]any{"orgName": org, "emailId": "owner@" + "example.com", "firstName": "Owner", "lastName": "One"}
		for i := 0; i+1 < len(kv); i += 2 {
			s[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"spec": s}
	}
	inv := orgauth.EINVALID
	cases := []badCase{
		{"too short", tenant("ab"), nil, 400, inv},
		{"empty", tenant(""), nil, 400, inv},
		{"uppercase", tenant("Acme"), nil, 400, inv},
		{"all uppercase", tenant("NEWORG"), nil, 400, inv},
		{"leading dash", tenant("-neworg"), nil, 400, inv},
		{"trailing dash", tenant("neworg-"), nil, 400, inv},
		{"64 characters", tenant(strings.Repeat("a", 64)), nil, 400, inv},
		{"underscore", tenant("new_org"), nil, 400, inv},
		{"space", tenant("new org"), nil, 400, inv},
		{"dot", tenant("new.org"), nil, 400, inv},
		{"slash", tenant("new/org"), nil, 400, inv},
		{"newline", tenant("neworg\n"), nil, 400, inv},
		{"unicode", tenant("nеworg"), nil, 400, inv}, // Cyrillic e
		{"fullwidth", tenant("ｎｅｗｏｒｇ"), nil, 400, inv},
		{"reserved system", tenant("system"), nil, 400, inv},
		{"reserved www", tenant("www"), nil, 400, inv},
		{"reserved admin", tenant("admin"), nil, 400, inv},
		{"duplicate", tenant("acme"), nil, 409, orgauth.ECONFLICT},
		{"number name", `{"spec":{"orgName":123,"emailId":"o@example.com","firstName":"O","lastName":"O"}}`, nil, 400, inv},
		{"unknown field", tenant("neworg", "planUid", "enterprise"), nil, 400, inv},
		{"unknown top field", map[string]any{"spec": tenant("neworg")["spec"], "status": map[string]any{"isActive": false}}, nil, 400, inv},
		{"bad email", tenant("neworg", "emailId", "owner"), nil, 400, inv},
		{"bad org email", tenant("neworg", "orgEmailId", "owner at example.com"), nil, 400, inv},
		{"no last name", tenant("neworg", "lastName", ""), nil, 400, inv},
		{"sso at creation", tenant("neworg", "authType", "sso"), nil, 400, inv},
		{"ssoApp at creation", tenant("neworg", "ssoApp", "github"), nil, 400, inv},
		{"system role", tenant("neworg", "roles", []string{orgauth.RoleSystemAdmin}), nil, 400, inv},
		{"unknown role", tenant("neworg", "roles", []string{"owner"}), nil, 400, inv},
		{"login mode", tenant("neworg", "loginMode", "god"), nil, 400, inv},
		{"no spec", `{"metadata":{"name":"neworg"}}`, nil, 400, inv},
		{"malformed", `{"spec":{"orgName":"neworg"`, nil, 400, inv},
		{"trailing data", `{"spec":{}} {}`, nil, 400, inv},
		{"empty body", "", nil, 400, inv},
		{"text/plain", `{"spec":{}}`, []string{"Content-Type", "text/plain"}, 400, inv},
	}
	badRun(t, env, "POST", "/v1/tenants", []string{"Authorization", admin}, nil, cases)
	if n := len(env.Mail.Messages("owner@example.com")); n != 0 {
		t.Errorf("%d invitations sent by bad requests", n)
	}
	if n, _ := env.Store.CountTenants(context.Background()); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
	// The longest valid name works; then it is taken.
	long := strings.Repeat("a", 62) + "z"
	env.Do("POST", "/v1/tenants", tenant(long), "Authorization", admin).Must(t, 201)
	env.Do("POST", "/v1/tenants", tenant(long), "Authorization", admin).Must(t, 409)
	env.Do("POST", "/v1/tenants", tenant("a-1"), "Authorization", admin).Must(t, 201)
}

func TestBadInput_MissingObjects(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	admin := env.Admin()
	for _, c := range []struct {
		method, path string
		body         any
		tok          string
	}{
		{"GET", "/v1/tenants/nonexistent", nil, admin},
		{"DELETE", "/v1/tenants/nonexistent", nil, admin},
		{"GET", "/v1/tenants/nonexistent/loginBanner", nil, admin},
		{"PUT", "/v1/tenants/nonexistent/authTokenSettings", map[string]any{"expiryTimeMinutes": 60}, admin},
		{"GET", "/v1/tenants/nonexistent", nil, ten.AdminToken},
		{"GET", "/v1/users/nonexistent", nil, ten.AdminToken},
		{"PUT", "/v1/users/nonexistent", map[string]any{"spec": map[string]any{"firstName": "X"}}, ten.AdminToken},
		{"PATCH", "/v1/users/nonexistent", []map[string]any{{"op": "replace", "path": "/spec/firstName", "value": "X"}}, ten.AdminToken},
		{"DELETE", "/v1/users/nonexistent", nil, ten.AdminToken},
		{"PATCH", "/v1/users/nonexistent/password/change", map[string]any{"newPassword": "N3w-password!"}, ten.AdminToken},
		{"GET", "/v1/apiKeys/nonexistent", nil, ten.AdminToken},
		{"DELETE", "/v1/apiKeys/nonexistent", nil, ten.AdminToken},
		{"PATCH", "/v1/apiKeys/nonexistent", map[string]any{"isActive": false}, ten.AdminToken},
		{"POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"userUid": "nonexistent"}}, ten.AdminToken},
		{"GET", "/v1/no/such/route", nil, ten.AdminToken},
		{"GET", "/v1/auth/org?orgName=nonexistent", nil, ""},
		{"PATCH", "/v1/auth/password/nonexistent/activate", map[string]any{"password": "N3w-password!"}, ""},
	} {
		before := badSnapshot(t, env, ten.UID)
		r := env.Do(c.method, c.path, c.body, "Authorization", c.tok)
		if r.Status != 404 || r.Code() != orgauth.ENOTFOUND {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, r.Status, r.Body)
		}
		if badSnapshot(t, env, ten.UID) != before {
			t.Fatalf("%s %s changed the state", c.method, c.path)
		}
	}
}

func TestBadInput_QueryParameters(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	admin := env.Admin()
	for _, q := range []string{
		"limit=abc", "limit=-1", "limit=1.5", "limit=99999999999999999999", "limit=1e3", "limit=%00",
		"continue=garbage!!", "continue=" + strings.Repeat("A", 600), "continue=%FF%FE",
		"filters=name%3Dx", "orderBy=name", "offset=10", "fields=spec",
	} {
		for _, c := range []struct{ path, tok string }{{"/v1/users", ten.AdminToken}, {"/v1/tenants", admin}} {
			r := env.Do("GET", c.path+"?"+q, nil, "Authorization", c.tok)
			if r.Status != 400 || r.Code() != orgauth.EINVALID {
				t.Errorf("GET %s?%s: %d %s, want 400", c.path, q, r.Status, r.Body)
			}
		}
	}
	// A well-formed cursor the store did not hand out. (A tenant cursor is the
	// base64url of the last name, so any such string continues the tenant list.)
	env.Do("GET", "/v1/users?continue=eyJ4IjoxfQ", nil, "Authorization", ten.AdminToken).Must(t, 400)
	for _, q := range []string{"limit=abc", "continue=garbage!!", "continue=" + strings.Repeat("A", 600)} {
		env.Do("POST", "/v1/users/summary?"+q, map[string]any{}, "Authorization", ten.AdminToken).Must(t, 400)
		env.Do("GET", "/v1/users/meta?"+q, nil, "Authorization", ten.AdminToken).Must(t, 400)
	}
	// A cursor of one order does not continue another.
	for range 3 {
		env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": fmt.Sprintf("u%d@acme.example.com", time.Now().UnixNano()), "firstName": "U"}},
			"Authorization", ten.AdminToken).Must(t, 201)
	}
	var page struct{ Listmeta struct{ Continue string } }
	env.Do("GET", "/v1/users?limit=1", nil, "Authorization", ten.AdminToken).Must(t, 200).JSON(t, &page)
	if page.Listmeta.Continue == "" {
		t.Fatal("no continue token")
	}
	env.Do("GET", "/v1/users?limit=1&continue="+page.Listmeta.Continue, nil, "Authorization", ten.AdminToken).Must(t, 200)
	env.Do("POST", "/v1/users/summary?limit=1&continue="+page.Listmeta.Continue, map[string]any{"sort": []map[string]any{{"field": "name", "order": "desc"}}},
		"Authorization", ten.AdminToken).Must(t, 400)
	// Fine: no limit, zero, more than the maximum.
	for _, q := range []string{"", "limit=0", "limit=1000"} {
		env.Do("GET", "/v1/users?"+q, nil, "Authorization", ten.AdminToken).Must(t, 200)
	}
	// Boolean parameters.
	for _, q := range []string{"setCookie=maybe", "setCookie=", "setCookie=yes"} {
		r := env.Do("POST", "/v1/auth/authenticate?"+q, map[string]string{"emailId": ten.AdminEmail, "password": ten.AdminPassword, "org": "acme"})
		if q == "setCookie=" {
			r.Must(t, 200) // empty means the default
			continue
		}
		r.Must(t, 400)
	}
	env.Do("GET", "/v1/auth/refresh/"+ten.AdminToken+"?setCookie=2", nil).Must(t, 400)
}

func TestBadInput_UserPatch(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	uid, _ := env.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	op := func(o, path string, value any) map[string]any {
		return map[string]any{"op": o, "path": path, "value": value}
	}
	many := make([]map[string]any, 33)
	for i := range many {
		many[i] = op("replace", "/spec/firstName", "X")
	}
	inv := orgauth.EINVALID
	cases := []badCase{
		{"object, not a list", op("replace", "/spec/firstName", "X"), nil, 400, inv},
		{"empty list", `[]`, nil, 400, inv},
		{"null", `null`, nil, 400, inv},
		{"33 operations", many, nil, 400, inv},
		{"move", []any{map[string]any{"op": "move", "from": "/spec/lastName", "path": "/spec/firstName"}}, nil, 400, inv},
		{"copy", []any{map[string]any{"op": "copy", "from": "/spec/lastName", "path": "/spec/firstName"}}, nil, 400, inv},
		{"test", []any{op("test", "/spec/firstName", "Test")}, nil, 400, inv},
		{"no op", []any{map[string]any{"path": "/spec/firstName", "value": "X"}}, nil, 400, inv},
		{"op in capitals", []any{op("REPLACE", "/spec/firstName", "X")}, nil, 400, inv},
		{"unknown path", []any{op("replace", "/spec/nope", "X")}, nil, 400, inv},
		{"empty path", []any{op("replace", "", "X")}, nil, 400, inv},
		{"root path", []any{op("replace", "/", map[string]any{})}, nil, 400, inv},
		{"path of another tenant", []any{op("replace", "/metadata/tenantUid", "x")}, nil, 400, inv},
		{"unknown field in op", []any{map[string]any{"op": "replace", "path": "/spec/firstName", "value": "X", "extra": 1}}, nil, 400, inv},
		{"name as number", []any{op("replace", "/spec/firstName", 42)}, nil, 400, inv},
		{"name missing value", []any{map[string]any{"op": "replace", "path": "/spec/firstName"}}, nil, 400, inv},
		{"remove first name", []any{map[string]any{"op": "remove", "path": "/spec/firstName"}}, nil, 400, inv},
		{"isActive as string", []any{op("replace", "/status/isActive", "no")}, nil, 400, inv},
		{"remove isActive", []any{map[string]any{"op": "remove", "path": "/status/isActive"}}, nil, 400, inv},
		{"roles as string", []any{op("replace", "/spec/roles", "tenant-admin")}, nil, 400, inv},
		{"unknown role", []any{op("replace", "/spec/roles", []string{"superuser"})}, nil, 400, inv},
		{"invalid email", []any{op("replace", "/spec/emailId", "not-an-email")}, nil, 400, inv},
		{"email of another user", []any{op("replace", "/spec/emailId", ten.AdminEmail)}, nil, 409, orgauth.ECONFLICT},
		{"annotations as list", []any{op("replace", "/metadata/annotations", []string{"x"})}, nil, 400, inv},
		// A good operation followed by a bad one: neither is applied.
		{"good then bad", []any{op("replace", "/spec/firstName", "Changed"), op("replace", "/spec/nope", "X")}, nil, 400, inv},
		{"good then bad value", []any{op("replace", "/spec/lastName", "Changed"), op("replace", "/status/isActive", "no")}, nil, 400, inv},
		{"malformed", `[{"op":"replace"`, nil, 400, inv},
		{"trailing data", `[{"op":"replace","path":"/spec/firstName","value":"X"}] []`, nil, 400, inv},
		{"text/plain", `[{"op":"replace","path":"/spec/firstName","value":"X"}]`, []string{"Content-Type", "text/plain"}, 400, inv},
	}
	badRun(t, env, "PATCH", "/v1/users/"+uid, []string{"Authorization", ten.AdminToken}, []string{ten.UID}, cases)
	env.Do("PATCH", "/v1/users/"+uid, []any{op("replace", "/spec/firstName", "Changed")}, "Authorization", ten.AdminToken).Must(t, 204)
}

func TestBadInput_OtherBodies(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	const pw = "B0b-password!"
	uid, tok := env.NewUser(ten, "bob@acme.example.com", pw)
	keyUID, _ := secNewAPIKey(t, env, "k", nil, "Authorization", tok)
	admin := []string{"Authorization", ten.AdminToken}
	tids := []string{ten.UID}
	inv := orgauth.EINVALID
	now := env.Clock.Now()

	t.Run("authTokenSettings", func(t *testing.T) {
		badRun(t, env, "PUT", "/v1/tenants/"+ten.UID+"/authTokenSettings", admin, tids, []badCase{
			{"14", map[string]any{"expiryTimeMinutes": 14}, nil, 400, inv},
			{"1441", map[string]any{"expiryTimeMinutes": 1441}, nil, 400, inv},
			{"negative", map[string]any{"expiryTimeMinutes": -1}, nil, 400, inv},
			{"huge", `{"expiryTimeMinutes":99999999999999999999}`, nil, 400, inv},
			{"fraction", `{"expiryTimeMinutes":60.5}`, nil, 400, inv},
			{"string", map[string]any{"expiryTimeMinutes": "60"}, nil, 400, inv},
			{"missing", `{}`, nil, 400, inv},
			{"null", `{"expiryTimeMinutes":null}`, nil, 400, inv},
			{"unknown field", map[string]any{"expiryTimeMinutes": 60, "tenantUid": "x"}, nil, 400, inv},
		})
	})
	t.Run("loginBanner", func(t *testing.T) {
		badRun(t, env, "PUT", "/v1/tenants/"+ten.UID+"/loginBanner", admin, tids, []badCase{
			{"long message", map[string]any{"isEnabled": true, "title": "t", "Message": strings.Repeat("m", 10001)}, nil, 400, inv},
			{"enabled without message", map[string]any{"isEnabled": true, "title": "t", "Message": "  "}, nil, 400, inv},
			{"control character in title", map[string]any{"isEnabled": true, "title": "t\x1b[2J", "Message": "m"}, nil, 400, inv},
			{"isEnabled string", map[string]any{"isEnabled": "true", "Message": "m"}, nil, 400, inv},
		})
	})
	t.Run("apiKeys create", func(t *testing.T) {
		badRun(t, env, "POST", "/v1/apiKeys", []string{"Authorization", tok}, tids, []badCase{
			{"no metadata", map[string]any{"spec": map[string]any{}}, nil, 400, inv},
			{"no name", map[string]any{"metadata": map[string]any{}}, nil, 400, inv},
			{"expiry in the past", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"expiry": now.Add(-time.Hour)}}, nil, 400, inv},
			{"expiry now", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"expiry": now}}, nil, 400, inv},
			{"expiry in 400 days", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"expiry": now.Add(400 * 24 * time.Hour)}}, nil, 400, inv},
			{"expiry not a time", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"expiry": "tomorrow"}}, nil, 400, inv},
			{"expiry number", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"expiry": 1700000000}}, nil, 400, inv},
			{"unknown spec field", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{"key": "oak_chosen"}}, nil, 400, inv},
			{"name control character", map[string]any{"metadata": map[string]any{"name": "k\x00"}}, nil, 400, inv},
		})
	})
	t.Run("apiKeys update", func(t *testing.T) {
		badRun(t, env, "PATCH", "/v1/apiKeys/"+keyUID, []string{"Authorization", tok}, tids, []badCase{
			{"no isActive", `{}`, nil, 400, inv},
			{"isActive string", map[string]any{"isActive": "false"}, nil, 400, inv},
			{"unknown field", map[string]any{"isActive": false, "expiry": now}, nil, 400, inv},
		})
		badRun(t, env, "PUT", "/v1/apiKeys/"+keyUID, []string{"Authorization", tok}, tids, []badCase{
			{"expiry in the past", map[string]any{"spec": map[string]any{"expiry": now.Add(-time.Hour)}}, nil, 400, inv},
			{"new secret", map[string]any{"spec": map[string]any{"key": "oak_x"}}, nil, 400, inv},
			{"owner", map[string]any{"spec": map[string]any{"userUid": ten.AdminUID}}, nil, 400, inv},
		})
	})
	t.Run("user update", func(t *testing.T) {
		badRun(t, env, "PUT", "/v1/users/"+uid, admin, tids, []badCase{
			{"invalid email", map[string]any{"spec": map[string]any{"emailId": "bob"}}, nil, 400, inv},
			{"email taken", map[string]any{"spec": map[string]any{"emailId": strings.ToUpper(ten.AdminEmail)}}, nil, 409, orgauth.ECONFLICT},
			{"blank first name", map[string]any{"spec": map[string]any{"firstName": ""}}, nil, 400, inv},
			{"unknown role", map[string]any{"spec": map[string]any{"roles": []string{"root"}}}, nil, 400, inv},
			{"login mode", map[string]any{"spec": map[string]any{"loginMode": "dev"}}, nil, 400, inv},
		})
		badRun(t, env, "PATCH", "/v1/users/"+uid+"/status/loginMode", admin, tids, []badCase{
			{"unknown mode", map[string]any{"loginMode": "root"}, nil, 400, inv},
			{"empty", `{}`, nil, 400, inv},
		})
	})
	t.Run("passwords", func(t *testing.T) {
		// The password hash is part of the snapshot: a refused change keeps it.
		badRun(t, env, "PATCH", "/v1/users/"+uid+"/password/change", []string{"Authorization", tok}, tids, []badCase{
			{"weak", map[string]any{"currentPassword": pw, "newPassword": "abc"}, nil, 400, inv},
			{"no digit or special", map[string]any{"currentPassword": pw, "newPassword": "abcdefGHIJ"}, nil, 400, inv},
			{"too long", map[string]any{"currentPassword": pw, "newPassword": "Aa1!" + strings.Repeat("x", 2000)}, nil, 400, inv},
			{"missing current", map[string]any{"newPassword": "N3w-password!"}, nil, 400, inv},
			{"email field", map[string]any{"currentPassword": pw, "newPassword": "N3w-password!", "emailId": "bob@acme.example.com"}, nil, 400, inv},
			{"number", map[string]any{"currentPassword": pw, "newPassword": 123456}, nil, 400, inv},
		})
		badRun(t, env, "PATCH", "/v1/users/password/change?org=acme", nil, tids, []badCase{
			{"missing fields", map[string]any{"emailId": "bob@acme.example.com"}, nil, 400, inv},
			{"weak", map[string]any{"emailId": "bob@acme.example.com", "currentPassword": pw, "newPassword": "abc"}, nil, 400, inv},
			{"unknown field", map[string]any{"emailId": "bob@acme.example.com", "currentPassword": pw, "newPassword": "N3w-password!", "userUid": uid}, nil, 400, inv},
		})
		env.Login("acme", "bob@acme.example.com", pw)
	})
	t.Run("activation", func(t *testing.T) {
		env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "new@acme.example.com", "firstName": "New"}}, admin...).Must(t, 201)
		act := env.Mail.LastToken(t, "new@acme.example.com")
		badRun(t, env, "PATCH", "/v1/auth/password/"+act+"/activate", nil, tids, []badCase{
			{"weak", map[string]any{"password": "abc"}, nil, 400, inv},
			{"empty", map[string]any{"password": ""}, nil, 400, inv},
			{"missing", `{}`, nil, 400, inv},
			{"unknown field", map[string]any{"password": "N3w-password!", "emailId": "x@y.z"}, nil, 400, inv},
			{"malformed", `{"password":`, nil, 400, inv},
		})
		// The refused attempts did not use up the token.
		env.Activate("new@acme.example.com", "N3w-password!")
	})
	t.Run("sign-in", func(t *testing.T) {
		badRun(t, env, "POST", "/v1/auth/authenticate", nil, tids, []badCase{
			{"no password", map[string]any{"emailId": "bob@acme.example.com", "org": "acme"}, nil, 400, inv},
			{"no email", map[string]any{"password": pw, "org": "acme"}, nil, 400, inv},
			{"email number", map[string]any{"emailId": 1, "password": pw, "org": "acme"}, nil, 400, inv},
			{"unknown field", map[string]any{"emailId": "bob@acme.example.com", "password": pw, "org": "acme", "mfa": true}, nil, 400, inv},
			{"malformed", `{"emailId":`, nil, 400, inv},
			{"text/plain", `{"emailId":"bob@acme.example.com","password":"B0b-password!","org":"acme"}`, []string{"Content-Type", "text/plain"}, 400, inv},
		})
	})
	t.Run("revoke", func(t *testing.T) {
		many := make([]string, 101)
		for i := range many {
			many[i] = "x"
		}
		badRun(t, env, "POST", "/v1/users/auth/tokens/revoke", []string{"Authorization", tok}, tids, []badCase{
			{"tokens not a list", map[string]any{"tokens": "x"}, nil, 400, inv},
			{"101 tokens", map[string]any{"tokens": many}, nil, 400, inv},
			{"unknown field", map[string]any{"sessions": []string{"x"}}, nil, 400, inv},
			{"malformed", `{"tokens":[`, nil, 400, inv},
		})
		secAlive(t, env, tok)
	})
	t.Run("summary", func(t *testing.T) {
		for _, body := range []any{
			map[string]any{"filter": map[string]any{"emailId": map[string]any{"eq": "a", "contains": "b"}}},
			map[string]any{"filter": map[string]any{"emailId": map[string]any{"contains": strings.Repeat("a", 300)}}},
			map[string]any{"filter": map[string]any{"teams": []string{"x"}}},
			map[string]any{"sort": []map[string]any{{"field": "password"}}},
			map[string]any{"sort": []map[string]any{{"field": "name", "order": "sideways"}}},
			map[string]any{"sort": []map[string]any{{"field": "name"}, {"field": "creationTimestamp"}}},
			`{"filter":`,
		} {
			env.Do("POST", "/v1/users/summary", body, admin...).Must(t, 400)
		}
	})
}
