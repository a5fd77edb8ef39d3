package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
)

func createTeam(t *testing.T, env *apitest.Env, tok, name string, roles, users []string) string {
	t.Helper()
	r := env.Do("POST", "/v1/teams", map[string]any{
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"roles": roles, "users": users},
	}, "Authorization", tok).Must(t, 201)
	if r.Header.Get("AuditUid") == "" {
		t.Error("team create: no AuditUid header")
	}
	var id struct{ UID string }
	r.JSON(t, &id)
	return id.UID
}

func createRole(t *testing.T, env *apitest.Env, tok, name string, perms ...string) string {
	t.Helper()
	r := env.Do("POST", "/v1/roles", map[string]any{
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"permissions": perms},
	}, "Authorization", tok).Must(t, 201)
	var id struct{ UID string }
	r.JSON(t, &id)
	return id.UID
}

type userRoles struct {
	Roles          []struct{ UID, Name string }
	InheritedRoles []struct{ UID, Name string }
}

func roleIDs(list []struct{ UID, Name string }) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.UID)
	}
	return out
}

func TestTeamsGrantTheirRoles(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	viewer, vtok := env.NewUser(tn, "viewer@acme.example.com", "V1ewer-Passw0rd!", orgauth.RoleTenantViewer)
	newUser := map[string]any{"spec": map[string]any{"emailId": "new@acme.example.com", "firstName": "New"}}
	env.Do("POST", "/v1/users", newUser, "Authorization", vtok).Must(t, 403)

	team := createTeam(t, env, tn.AdminToken, "User admins", []string{orgauth.RoleUserAdmin}, []string{viewer})
	var got struct {
		Metadata struct{ UID, Name string }
		Spec     struct{ Roles, Users, Sources []string }
	}
	env.Do("GET", "/v1/teams/"+team, nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &got)
	if got.Metadata.Name != "User admins" || !slices.Equal(got.Spec.Users, []string{viewer}) ||
		!slices.Equal(got.Spec.Roles, []string{orgauth.RoleUserAdmin}) || !slices.Equal(got.Spec.Sources, []string{"local"}) {
		t.Fatalf("team: %+v", got)
	}
	// The membership counts on the next request.
	env.Do("POST", "/v1/users", newUser, "Authorization", vtok).Must(t, 201)
	var roles userRoles
	env.Do("GET", "/v1/users/"+viewer+"/roles", nil, "Authorization", vtok).Must(t, 200).JSON(t, &roles)
	if !slices.Equal(roleIDs(roles.Roles), []string{orgauth.RoleTenantViewer}) ||
		!slices.Equal(roleIDs(roles.InheritedRoles), []string{orgauth.RoleUserAdmin}) {
		t.Fatalf("roles: %+v", roles)
	}
	var sum struct {
		Items []struct {
			Spec struct{ Teams []struct{ UID, Name string } }
		}
	}
	env.Do("POST", "/v1/users/summary", map[string]any{"filter": map[string]any{"emailId": map[string]any{"eq": "viewer@acme.example.com"}}},
		"Authorization", tn.AdminToken).Must(t, 200).JSON(t, &sum)
	if len(sum.Items) != 1 || len(sum.Items[0].Spec.Teams) != 1 || sum.Items[0].Spec.Teams[0].UID != team {
		t.Fatalf("summary teams: %+v", sum)
	}

	// Leaving the team through a patch takes the roles away at once.
	env.Do("PATCH", "/v1/teams/"+team, []map[string]any{{"op": "remove", "path": "/spec/users/-", "value": viewer}},
		"Authorization", tn.AdminToken).Must(t, 204)
	newUser2 := map[string]any{"spec": map[string]any{"emailId": "new2@acme.example.com", "firstName": "New"}}
	env.Do("POST", "/v1/users", newUser2, "Authorization", vtok).Must(t, 403)
	env.Do("PATCH", "/v1/teams/"+team, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": viewer}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("POST", "/v1/users", newUser2, "Authorization", vtok).Must(t, 201)

	// Deleting the team removes the inherited permissions on the next request.
	env.Do("DELETE", "/v1/teams/"+team, nil, "Authorization", tn.AdminToken).Must(t, 204)
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "new3@acme.example.com", "firstName": "New"}},
		"Authorization", vtok).Must(t, 403)
	env.Do("GET", "/v1/teams/"+team, nil, "Authorization", tn.AdminToken).Must(t, 404)
}

func TestUserCreatedIntoTeams(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	team := createTeam(t, env, tn.AdminToken, "Viewers", []string{orgauth.RoleTenantViewer}, nil)
	r := env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{
		"emailId": "t@acme.example.com", "firstName": "T", "teams": []string{team}}}, "Authorization", tn.AdminToken).Must(t, 201)
	var id struct{ UID string }
	r.JSON(t, &id)
	var got struct{ Spec struct{ Users []string } }
	env.Do("GET", "/v1/teams/"+team, nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &got)
	if !slices.Equal(got.Spec.Users, []string{id.UID}) {
		t.Fatalf("members: %v", got.Spec.Users)
	}
	env.Activate("t@acme.example.com", "T-Passw0rd!x")
	tok := env.Login("acme", "t@acme.example.com", "T-Passw0rd!x")
	env.Do("GET", "/v1/users", nil, "Authorization", tok).Must(t, 200)
	// Unknown teams are refused and nothing is created.
	env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{
		"emailId": "u@acme.example.com", "firstName": "U", "teams": []string{ghost}}}, "Authorization", tn.AdminToken).Must(t, 400)
	var list struct {
		Items []struct{ Spec struct{ EmailID string } }
	}
	env.Do("GET", "/v1/users", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &list)
	for _, u := range list.Items {
		if u.Spec.EmailID == "u@acme.example.com" {
			t.Fatal("a refused create left the user behind")
		}
	}
	// PATCH /spec/teams replaces the membership.
	env.Do("PATCH", "/v1/users/"+id.UID, []map[string]any{{"op": "replace", "path": "/spec/teams", "value": []string{}}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/users", nil, "Authorization", tok).Must(t, 403)
}

func TestCustomRoles(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	var list struct {
		Items []struct {
			Metadata struct{ UID, Name string }
			Spec     struct {
				Type, Scope string
				Permissions []string
			}
		}
	}
	env.Do("GET", "/v1/roles", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &list)
	var builtins []string
	for _, r := range list.Items {
		if r.Spec.Type != "system" || r.Spec.Scope != "tenant" {
			t.Errorf("built-in role %s: type %s scope %s", r.Metadata.Name, r.Spec.Type, r.Spec.Scope)
		}
		builtins = append(builtins, r.Metadata.Name)
	}
	want := []string{"Tenant Admin", "Tenant Role Admin", "Tenant Team Admin", "Tenant User Admin", "Tenant Viewer"}
	if !slices.Equal(builtins, want) {
		t.Fatalf("built-in roles %v, want %v", builtins, want)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		env.Do(m, "/v1/roles/"+orgauth.RoleTenantViewer, map[string]any{"metadata": map[string]any{"name": "X"}, "spec": map[string]any{"permissions": []string{}}},
			"Authorization", tn.AdminToken).Must(t, 403)
	}

	lister := createRole(t, env, tn.AdminToken, "Lister", "user.list", "user.list")
	var role struct {
		Metadata struct{ Name string }
		Spec     struct {
			Type        string
			Permissions []string
		}
	}
	env.Do("GET", "/v1/roles/"+lister, nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &role)
	if role.Metadata.Name != "Lister" || role.Spec.Type != "user" || !slices.Equal(role.Spec.Permissions, []string{"user.list"}) {
		t.Fatalf("role: %+v", role)
	}
	for name, body := range map[string]map[string]any{
		"duplicate name":        {"metadata": map[string]any{"name": "LISTER"}, "spec": map[string]any{"permissions": []string{}}},
		"built-in name":         {"metadata": map[string]any{"name": "tenant viewer"}, "spec": map[string]any{"permissions": []string{}}},
		"unknown permission":    {"metadata": map[string]any{"name": "A"}, "spec": map[string]any{"permissions": []string{"user.fly"}}},
		"wildcard":              {"metadata": map[string]any{"name": "B"}, "spec": map[string]any{"permissions": []string{"user.*"}}},
		"system-only":           {"metadata": map[string]any{"name": "C"}, "spec": map[string]any{"permissions": []string{"tenant.create"}}},
		"system scope":          {"metadata": map[string]any{"name": "D"}, "spec": map[string]any{"permissions": []string{}, "scope": "system"}},
		"no name":               {"spec": map[string]any{"permissions": []string{}}},
		"unknown field":         {"metadata": map[string]any{"name": "E"}, "spec": map[string]any{"permissions": []string{}, "admin": true}},
		"permissions not list":  {"metadata": map[string]any{"name": "F"}, "spec": map[string]any{"permissions": "user.get"}},
		"control chars in name": {"metadata": map[string]any{"name": "G\x00"}, "spec": map[string]any{"permissions": []string{}}},
	} {
		r := env.Do("POST", "/v1/roles", body, "Authorization", tn.AdminToken)
		if r.Status != 400 && r.Status != 409 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	// A role given, changed and taken away takes effect on the next request.
	uid, tok := env.NewUser(tn, "l@acme.example.com", "L1ster-Passw0rd!", lister)
	env.Do("GET", "/v1/users", nil, "Authorization", tok).Must(t, 200)
	env.Do("PUT", "/v1/roles/"+lister, map[string]any{"metadata": map[string]any{"name": "Lister"}, "spec": map[string]any{"permissions": []string{"team.list"}}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/users", nil, "Authorization", tok).Must(t, 403)
	env.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 200)
	env.Do("PUT", "/v1/users/"+uid+"/roles", map[string]any{"roles": []string{}}, "Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 403)
	env.Do("PUT", "/v1/users/"+uid+"/roles", map[string]any{"roles": []string{lister}}, "Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 200)
	// Deleting the role takes it from its holders.
	env.Do("DELETE", "/v1/roles/"+lister, nil, "Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 403)
	var ur userRoles
	env.Do("GET", "/v1/users/"+uid+"/roles", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &ur)
	if len(ur.Roles) != 0 {
		t.Errorf("deleted role still listed: %+v", ur)
	}
	env.Do("GET", "/v1/roles/"+lister, nil, "Authorization", tn.AdminToken).Must(t, 404)
}

// TestNoEscalation is security item 20: nobody grants what they do not hold.
func TestNoEscalation(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	viewer, _ := env.NewUser(tn, "v@acme.example.com", "V1ewer-Passw0rd!", orgauth.RoleTenantViewer)
	teamAdmin, ttok := env.NewUser(tn, "t@acme.example.com", "T3am-Passw0rd!", orgauth.RoleTeamAdmin)
	_, rtok := env.NewUser(tn, "r@acme.example.com", "R0le-Passw0rd!", orgauth.RoleRoleAdmin)
	_, utok := env.NewUser(tn, "u@acme.example.com", "Us3r-Passw0rd!", orgauth.RoleUserAdmin)

	// A team admin cannot make a team that grants more than it holds, nor put
	// itself or others into one.
	team := map[string]any{"metadata": map[string]any{"name": "Admins"},
		"spec": map[string]any{"roles": []string{orgauth.RoleTenantAdmin}, "users": []string{teamAdmin}}}
	env.Do("POST", "/v1/teams", team, "Authorization", ttok).Must(t, 403)
	admins := createTeam(t, env, tn.AdminToken, "Admins", []string{orgauth.RoleTenantAdmin}, nil)
	env.Do("PATCH", "/v1/teams/"+admins, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": teamAdmin}},
		"Authorization", ttok).Must(t, 403)
	env.Do("DELETE", "/v1/teams/"+admins, nil, "Authorization", ttok).Must(t, 403)
	// It may manage teams within its own standing.
	mine := createTeam(t, env, ttok, "Team admins", []string{orgauth.RoleTeamAdmin}, []string{viewer})
	env.Do("PUT", "/v1/teams/"+mine, map[string]any{"metadata": map[string]any{"name": "Team admins"},
		"spec": map[string]any{"roles": []string{orgauth.RoleTeamAdmin, orgauth.RoleTenantViewer}}}, "Authorization", ttok).Must(t, 403)

	// A role admin cannot put permissions it lacks into a role, nor give roles.
	env.Do("POST", "/v1/roles", map[string]any{"metadata": map[string]any{"name": "Deleter"},
		"spec": map[string]any{"permissions": []string{"user.delete"}}}, "Authorization", rtok).Must(t, 403)
	own := createRole(t, env, rtok, "Role reader", "role.get")
	env.Do("PUT", "/v1/users/"+viewer+"/roles", map[string]any{"roles": []string{own}}, "Authorization", rtok).Must(t, 403)
	// Nor change a role it could not have made.
	deleter := createRole(t, env, tn.AdminToken, "Deleter", "user.delete")
	env.Do("PUT", "/v1/roles/"+deleter, map[string]any{"metadata": map[string]any{"name": "Deleter"},
		"spec": map[string]any{"permissions": []string{"role.get"}}}, "Authorization", rtok).Must(t, 403)
	env.Do("DELETE", "/v1/roles/"+deleter, nil, "Authorization", rtok).Must(t, 403)

	// A user admin cannot give a role that holds role permissions, or put a user
	// into a team that does.
	roleAdmins := createTeam(t, env, tn.AdminToken, "Role admins", []string{orgauth.RoleRoleAdmin}, nil)
	env.Do("PUT", "/v1/users/"+viewer+"/roles", map[string]any{"roles": []string{orgauth.RoleRoleAdmin}}, "Authorization", utok).Must(t, 403)
	env.Do("PATCH", "/v1/users/"+viewer, []map[string]any{{"op": "replace", "path": "/spec/teams", "value": []string{roleAdmins}}},
		"Authorization", utok).Must(t, 403)
	// Nor manage a user who holds more through a team.
	env.Do("PATCH", "/v1/teams/"+roleAdmins, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": viewer}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("PATCH", "/v1/users/"+viewer, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", utok).Must(t, 403)

	// Nobody changes their own roles or teams (mass assignment, item 19).
	env.Do("PUT", "/v1/users/"+teamAdmin+"/roles", map[string]any{"roles": []string{orgauth.RoleTenantAdmin}}, "Authorization", ttok).Must(t, 403)
	env.Do("PATCH", "/v1/users/"+teamAdmin, []map[string]any{{"op": "replace", "path": "/spec/teams", "value": []string{admins}}},
		"Authorization", ttok).Must(t, 403)
	var rr userRoles
	env.Do("GET", "/v1/users/"+teamAdmin+"/roles", nil, "Authorization", ttok).Must(t, 200).JSON(t, &rr)
	if !slices.Equal(roleIDs(rr.Roles), []string{orgauth.RoleTeamAdmin}) || len(rr.InheritedRoles) != 0 {
		t.Fatalf("the team admin's roles changed: %+v", rr)
	}
}

// TestTeamsAndRolesStayInTheirTenant is security item 18 for teams and roles, and
// item 20's "a user cannot join a team of another tenant".
func TestTeamsAndRolesStayInTheirTenant(t *testing.T) {
	env := apitest.New(t)
	a, b := env.NewTenant("acme"), env.NewTenant("bravo")
	aUser, _ := env.NewUser(a, "x@acme.example.com", "X-Passw0rd!xx", orgauth.RoleTenantViewer)
	bUser, _ := env.NewUser(b, "y@bravo.example.com", "Y-Passw0rd!yy", orgauth.RoleTenantViewer)
	team := createTeam(t, env, a.AdminToken, "Ops", nil, []string{aUser})
	role := createRole(t, env, a.AdminToken, "Lister", "user.list")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/teams/" + team}, {"PUT", "/v1/teams/" + team}, {"PATCH", "/v1/teams/" + team}, {"DELETE", "/v1/teams/" + team},
		{"GET", "/v1/roles/" + role}, {"PUT", "/v1/roles/" + role}, {"DELETE", "/v1/roles/" + role},
		{"GET", "/v1/users/" + aUser + "/roles"}, {"PUT", "/v1/users/" + aUser + "/roles"},
	} {
		var body any
		switch c.method {
		case "PUT":
			body = map[string]any{"metadata": map[string]any{"name": "Stolen"}, "spec": map[string]any{"permissions": []string{}}}
			if strings.HasPrefix(c.path, "/v1/teams") {
				body = map[string]any{"metadata": map[string]any{"name": "Stolen"}}
			} else if strings.HasSuffix(c.path, "/roles") {
				body = map[string]any{"roles": []string{}}
			}
		case "PATCH":
			body = []map[string]any{{"op": "replace", "path": "/metadata/name", "value": "Stolen"}}
		}
		env.Do(c.method, c.path, body, "Authorization", b.AdminToken).Must(t, 404)
	}
	// Another tenant's user cannot be put into a team, nor its role given.
	env.Do("POST", "/v1/teams", map[string]any{"metadata": map[string]any{"name": "Mixed"},
		"spec": map[string]any{"users": []string{bUser, aUser}}}, "Authorization", b.AdminToken).Must(t, 400)
	env.Do("PUT", "/v1/users/"+bUser+"/roles", map[string]any{"roles": []string{role}}, "Authorization", b.AdminToken).Must(t, 400)
	env.Do("PATCH", "/v1/users/"+bUser, []map[string]any{{"op": "replace", "path": "/spec/teams", "value": []string{team}}},
		"Authorization", b.AdminToken).Must(t, 400)
	var teams struct {
		Items []struct{ Metadata struct{ Name string } }
	}
	env.Do("GET", "/v1/teams", nil, "Authorization", b.AdminToken).Must(t, 200).JSON(t, &teams)
	if len(teams.Items) != 0 {
		t.Fatalf("bravo sees teams: %+v", teams)
	}
	var got struct {
		Metadata struct{ Name string }
		Spec     struct{ Users []string }
	}
	env.Do("GET", "/v1/teams/"+team, nil, "Authorization", a.AdminToken).Must(t, 200).JSON(t, &got)
	if got.Metadata.Name != "Ops" || !slices.Equal(got.Spec.Users, []string{aUser}) {
		t.Fatalf("acme's team changed: %+v", got)
	}
}

func TestTeamBadInput(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	createTeam(t, env, tn.AdminToken, "Ops", nil, nil)
	for name, body := range map[string]any{
		"duplicate name": map[string]any{"metadata": map[string]any{"name": "OPS"}},
		"no name":        map[string]any{"spec": map[string]any{}},
		"unknown role":   map[string]any{"metadata": map[string]any{"name": "A"}, "spec": map[string]any{"roles": []string{"root"}}},
		"unknown user":   map[string]any{"metadata": map[string]any{"name": "B"}, "spec": map[string]any{"users": []string{ghost}}},
		"bad user id":    map[string]any{"metadata": map[string]any{"name": "C"}, "spec": map[string]any{"users": []string{"../x"}}},
		"bad source":     map[string]any{"metadata": map[string]any{"name": "D"}, "spec": map[string]any{"sources": []string{"Not A Source"}}},
		"unknown field":  map[string]any{"metadata": map[string]any{"name": "E"}, "spec": map[string]any{"owner": "me"}},
		"wrong type":     map[string]any{"metadata": map[string]any{"name": "F"}, "spec": map[string]any{"users": "all"}},
		"malformed":      `{"metadata":`,
	} {
		r := env.Do("POST", "/v1/teams", body, "Authorization", tn.AdminToken)
		if r.Status != 400 && r.Status != 409 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	var teams struct {
		Items []struct{ Metadata struct{ Name string } }
	}
	env.Do("GET", "/v1/teams", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &teams)
	if len(teams.Items) != 1 {
		t.Fatalf("refused creates left teams: %+v", teams)
	}
	env.Do("PATCH", "/v1/teams/"+ghost, []map[string]any{{"op": "replace", "path": "/metadata/name", "value": "X"}},
		"Authorization", tn.AdminToken).Must(t, 404)
	env.Do("GET", "/v1/teams?filters=x", nil, "Authorization", tn.AdminToken).Must(t, 400)
}

func TestAuditList(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	// Records are ordered by time; the test clock stands still unless moved.
	env.Clock.Advance(time.Second)
	team := createTeam(t, env, tn.AdminToken, "Ops", nil, nil)
	env.Clock.Advance(time.Second)
	env.Do("POST", "/v1/teams", map[string]any{"metadata": map[string]any{"name": "ops"}}, "Authorization", tn.AdminToken).Must(t, 409)
	var page struct {
		Items []struct {
			UID, ActorUID, Action, Target, Outcome, RequestID string
			Timestamp                                         string
		}
		Listmeta struct{ Continue string }
	}
	env.Do("GET", "/v1/audit?limit=2", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &page)
	if len(page.Items) != 2 || page.Listmeta.Continue == "" {
		t.Fatalf("audit page: %+v", page)
	}
	newest, created := page.Items[0], page.Items[1]
	if newest.Action != "v1TeamsCreate" || newest.Outcome != "failure" || newest.ActorUID != tn.AdminUID {
		t.Errorf("newest record: %+v", newest)
	}
	if created.Action != "v1TeamsCreate" || created.Outcome != "success" || created.Target != team || created.Timestamp == "" {
		t.Errorf("create record: %+v", created)
	}
	env.Do("GET", "/v1/audit?continue="+page.Listmeta.Continue, nil, "Authorization", tn.AdminToken).Must(t, 200)
	// Another tenant sees none of it.
	other := env.NewTenant("bravo")
	var theirs struct{ Items []struct{ Target string } }
	env.Do("GET", "/v1/audit", nil, "Authorization", other.AdminToken).Must(t, 200).JSON(t, &theirs)
	for _, r := range theirs.Items {
		if r.Target == team {
			t.Fatal("bravo reads acme's audit trail")
		}
	}
}

func TestPermissionCatalogue(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	var cat struct {
		Items []struct{ Name, Resource, Verb, Scope string }
	}
	env.Do("GET", "/v1/permissions", nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &cat)
	if len(cat.Items) != len(orgauth.Catalogue) {
		t.Fatalf("%d permissions published, the catalogue has %d", len(cat.Items), len(orgauth.Catalogue))
	}
	for _, p := range cat.Items {
		if p.Resource+"."+p.Verb != p.Name || (p.Scope != "tenant" && p.Scope != "system") {
			t.Errorf("permission %+v", p)
		}
	}
}

// An activation link an admin saw while the account held little must not open
// it once it holds more: giving a pending user roles or teams supersedes it.
func TestPendingLinkSupersededByPromotion(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	r := env.Do("POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "p@acme.example.com", "firstName": "P"}},
		"Authorization", tn.AdminToken).Must(t, 201)
	var id struct{ UID string }
	r.JSON(t, &id)
	seen := env.Mail.LastToken(t, "p@acme.example.com")
	env.Do("PUT", "/v1/users/"+id.UID+"/roles", map[string]any{"roles": []string{orgauth.RoleTenantAdmin}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("PATCH", "/v1/auth/password/"+seen+"/activate", map[string]string{"password": "Stol3n-Passw0rd!"}).Must(t, 404)
	fresh := env.Mail.LastToken(t, "p@acme.example.com")
	if fresh == seen {
		t.Fatal("no new invitation after the promotion")
	}
	// The same through a team.
	team := createTeam(t, env, tn.AdminToken, "Admins", []string{orgauth.RoleTenantAdmin}, nil)
	env.Do("PATCH", "/v1/teams/"+team, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": id.UID}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("PATCH", "/v1/auth/password/"+fresh+"/activate", map[string]string{"password": "Stol3n-Passw0rd!"}).Must(t, 404)
	env.Activate("p@acme.example.com", "Own3d-Passw0rd!")
	env.Login("acme", "p@acme.example.com", "Own3d-Passw0rd!")
}
