package http_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
)

// Escalation and bounds of teams, custom roles and API keys made for others.

// A team admin must not change its own teams through the team routes either
// ("Nobody changes their own roles or teams", docs/authorization.md): otherwise
// it can keep a copy of a role it was given and survive its revocation.
func TestNoOneChangesTheirOwnTeams(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	me, tok := env.NewUser(tn, "t@acme.example.com", "T3am-Passw0rd!")
	// The tenant admin makes "me" a team admin through team A.
	teamA := createTeam(t, env, tn.AdminToken, "Team admins", []string{orgauth.RoleTeamAdmin}, []string{me})
	env.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 200)

	// "me" puts itself into a second team holding the same role.
	r := env.Do("POST", "/v1/teams", map[string]any{
		"metadata": map[string]any{"name": "Backup"},
		"spec":     map[string]any{"roles": []string{orgauth.RoleTeamAdmin}, "users": []string{me}},
	}, "Authorization", tok)
	if r.Status != 403 {
		t.Errorf("a team admin created a team with itself as a member: %d, want 403", r.Status)
	}
	// Or adds itself to an existing one.
	other := createTeam(t, env, tn.AdminToken, "Other", []string{orgauth.RoleTeamAdmin}, nil)
	r = env.Do("PATCH", "/v1/teams/"+other, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": me}},
		"Authorization", tok)
	if r.Status != 403 {
		t.Errorf("a team admin added itself to a team: %d, want 403", r.Status)
	}

	// The tenant admin revokes the role: "me" leaves team A.
	env.Do("PATCH", "/v1/teams/"+teamA, []map[string]any{{"op": "remove", "path": "/spec/users/-", "value": me}},
		"Authorization", tn.AdminToken).Must(t, 204)
	if r := env.Do("GET", "/v1/teams", nil, "Authorization", tok); r.Status != 403 {
		t.Errorf("after its team admin role was taken away, the user still lists teams: %d, want 403", r.Status)
	}
}

// Removing a role from a team by the role's name (a form every other role input
// accepts, and that "add" accepts on the same path) answers 204 but removes
// nothing: the members keep the role while the admin believes it gone.
func TestTeamRoleRemovedByName(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	viewer, vtok := env.NewUser(tn, "v@acme.example.com", "V1ewer-Passw0rd!")
	team := createTeam(t, env, tn.AdminToken, "Ops", nil, []string{viewer})
	env.Do("PATCH", "/v1/teams/"+team, []map[string]any{{"op": "add", "path": "/spec/roles/-", "value": "Tenant User Admin"}},
		"Authorization", tn.AdminToken).Must(t, 204)
	env.Do("GET", "/v1/users", nil, "Authorization", vtok).Must(t, 200)

	r := env.Do("PATCH", "/v1/teams/"+team, []map[string]any{{"op": "remove", "path": "/spec/roles/-", "value": "Tenant User Admin"}},
		"Authorization", tn.AdminToken)
	var got struct{ Spec struct{ Roles []string } }
	env.Do("GET", "/v1/teams/"+team, nil, "Authorization", tn.AdminToken).Must(t, 200).JSON(t, &got)
	if r.Status == 204 && slices.Contains(got.Spec.Roles, orgauth.RoleUserAdmin) {
		t.Errorf("remove of role %q answered 204 but the team still has %v", "Tenant User Admin", got.Spec.Roles)
		if env.Do("GET", "/v1/users", nil, "Authorization", vtok).Status == 200 {
			t.Errorf("the member still holds user.list")
		}
	}
}

// An API key made for another user works with whatever that user holds later:
// a user admin that made a key for a plain user gains every permission a tenant
// admin later gives that user (here through a team).
func TestKeyForAnotherUserNeverOutgrowsItsMaker(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	_, utok := env.NewUser(tn, "u@acme.example.com", "Us3r-Passw0rd!", orgauth.RoleUserAdmin)
	plain, _ := env.NewUser(tn, "p@acme.example.com", "Pl4in-Passw0rd!")

	// The user admin may make a key for the plain user: it holds all they hold.
	var key struct{ APIKey string }
	env.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"},
		"spec": map[string]any{"userUid": plain}}, "Authorization", utok).Must(t, 201).JSON(t, &key)
	env.Do("GET", "/v1/audit", nil, "Authorization", utok).Must(t, 403)

	// Later the tenant admin promotes the plain user through a team.
	createTeam(t, env, tn.AdminToken, "Admins", []string{orgauth.RoleTenantAdmin}, []string{plain})

	// The user admin now acts as a tenant admin with the key it kept.
	if r := env.Do("GET", "/v1/audit", nil, "ApiKey", key.APIKey); r.Status == 200 {
		t.Errorf("the user admin reads the audit trail (audit.get, which it does not hold) through the key it made for another user")
	}
	if r := env.Do("POST", "/v1/roles", map[string]any{"metadata": map[string]any{"name": "Mine"},
		"spec": map[string]any{"permissions": []string{"role.create", "audit.get"}}}, "ApiKey", key.APIKey); r.Status == 201 {
		t.Errorf("the user admin creates roles through the key it made for another user")
	}
}

// A user is in at most orgauth.MaxTeamsPerUser teams, whichever side adds it:
// otherwise every authorization of that user would load any number of teams.
func TestTeamsPerUserBounded(t *testing.T) {
	env := apitest.New(t)
	tn := env.NewTenant("acme")
	x, _ := env.NewUser(tn, "x@acme.example.com", "X-Passw0rd!xx")
	var ids []string
	for i := 0; i < orgauth.MaxTeamsPerUser; i++ {
		ids = append(ids, createTeam(t, env, tn.AdminToken, fmt.Sprintf("T%02d", i), nil, []string{x}))
	}
	env.Do("POST", "/v1/teams", map[string]any{"metadata": map[string]any{"name": "one too many"},
		"spec": map[string]any{"users": []string{x}}}, "Authorization", tn.AdminToken).Must(t, 400)
	extra := createTeam(t, env, tn.AdminToken, "extra", nil, nil)
	env.Do("PATCH", "/v1/teams/"+extra, []map[string]any{{"op": "add", "path": "/spec/users/-", "value": x}},
		"Authorization", tn.AdminToken).Must(t, 400)
	env.Do("PUT", "/v1/users/"+x, map[string]any{"spec": map[string]any{"teams": append(ids, extra)}},
		"Authorization", tn.AdminToken).Must(t, 400)
	// The teams it is in stay usable.
	env.Do("PUT", "/v1/users/"+x, map[string]any{"spec": map[string]any{"teams": ids}},
		"Authorization", tn.AdminToken).Must(t, 204)
}
