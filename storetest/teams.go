package storetest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

// teamTests are the conformance tests of custom roles, teams and the audit list.
var teamTests = []struct {
	name string
	fn   func(t *testing.T, s orgauth.Store)
}{
	{"Roles", testRoles},
	{"DeleteRoleUnassigns", testDeleteRoleUnassigns},
	{"Teams", testTeams},
	{"TeamMembersStayInTenant", testTeamMembersStayInTenant},
	{"ListTeamsPagination", testListTeamsPagination},
	{"UserTeams", testUserTeams},
	{"TeamsCascade", testTeamsCascade},
	{"ListAudit", testListAudit},
	{"TeamLimits", testTeamLimits},
	{"APIKeyCreatedBy", testAPIKeyCreatedBy},
}

func (f *fixture) role(tn *orgauth.Tenant, name string, perms ...orgauth.Permission) *orgauth.Role {
	f.t.Helper()
	r := &orgauth.Role{Name: name, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	ok(f.t, f.s.InTenant(tn.ID).CreateRole(f.ctx, r))
	return r
}

func (f *fixture) team(tn *orgauth.Tenant, name string, roles []string, users ...*orgauth.User) *orgauth.Team {
	f.t.Helper()
	tm := &orgauth.Team{Name: name, Roles: roles, Sources: []string{orgauth.TeamSourceLocal},
		CreatedAt: now, UpdatedAt: now}
	for _, u := range users {
		tm.Users = append(tm.Users, u.ID)
	}
	ok(f.t, f.s.InTenant(tn.ID).CreateTeam(f.ctx, tm))
	return tm
}

func testRoles(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("acme"), f.tenant("bravo")
	qa, qb := s.InTenant(a.ID), s.InTenant(b.ID)
	r := f.role(a, "Auditor", orgauth.PermAuditGet, orgauth.PermUserList)
	if r.ID == "" || r.TenantID != a.ID || r.Scope != orgauth.ScopeTenant {
		t.Fatalf("created role: %+v", r)
	}
	got, err := qa.Role(ctx, r.ID)
	ok(t, err)
	if got.Name != "Auditor" || !slices.Equal(got.Permissions, r.Permissions) || got.Builtin ||
		got.Scope != orgauth.ScopeTenant || !sameTime(got.CreatedAt, now) {
		t.Fatalf("read back: %+v", got)
	}
	// Names are unique per tenant, case-insensitively; other tenants may reuse them.
	wantCode(t, qa.CreateRole(ctx, &orgauth.Role{Name: "auditor"}), orgauth.ECONFLICT)
	ok(t, qb.CreateRole(ctx, &orgauth.Role{Name: "Auditor"}))
	_, err = qb.Role(ctx, r.ID)
	wantCode(t, err, orgauth.ENOTFOUND)

	f.role(a, "Billing", orgauth.PermTenantGet)
	list, err := qa.ListRoles(ctx)
	ok(t, err)
	if len(list) != 2 || list[0].Name != "Auditor" || list[1].Name != "Billing" {
		t.Fatalf("list: %v", roleNames(list))
	}

	r.Name, r.Permissions, r.UpdatedAt = "Reader", []orgauth.Permission{orgauth.PermUserGet}, now.Add(time.Hour)
	ok(t, qa.UpdateRole(ctx, r))
	got, err = qa.Role(ctx, r.ID)
	ok(t, err)
	if got.Name != "Reader" || !slices.Equal(got.Permissions, []orgauth.Permission{orgauth.PermUserGet}) ||
		!sameTime(got.UpdatedAt, now.Add(time.Hour)) {
		t.Fatalf("updated: %+v", got)
	}
	r.Name = "BILLING"
	wantCode(t, qa.UpdateRole(ctx, r), orgauth.ECONFLICT)
	wantCode(t, qb.UpdateRole(ctx, got), orgauth.ENOTFOUND)
	wantCode(t, qb.DeleteRole(ctx, r.ID), orgauth.ENOTFOUND)
	ok(t, qa.DeleteRole(ctx, r.ID))
	_, err = qa.Role(ctx, r.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, qa.DeleteRole(ctx, r.ID), orgauth.ENOTFOUND)
}

func roleNames(list []*orgauth.Role) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.Name)
	}
	return out
}

func testDeleteRoleUnassigns(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	q := s.InTenant(a.ID)
	r := f.role(a, "Auditor", orgauth.PermAuditGet)
	keep := f.role(a, "Keep", orgauth.PermUserGet)
	u := f.user(a, "u@example.com")
	u.Roles = []string{orgauth.RoleTenantViewer, r.ID, keep.ID}
	ok(t, q.UpdateUser(ctx, u))
	tm := f.team(a, "Ops", []string{r.ID, keep.ID}, u)

	ok(t, q.DeleteRole(ctx, r.ID))
	got, err := q.User(ctx, u.ID)
	ok(t, err)
	if !slices.Equal(got.Roles, []string{orgauth.RoleTenantViewer, keep.ID}) {
		t.Errorf("user roles after delete: %v", got.Roles)
	}
	gt, err := q.Team(ctx, tm.ID)
	ok(t, err)
	if !slices.Equal(gt.Roles, []string{keep.ID}) {
		t.Errorf("team roles after delete: %v", gt.Roles)
	}
}

func testTeams(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("acme"), f.tenant("bravo")
	qa, qb := s.InTenant(a.ID), s.InTenant(b.ID)
	u1, u2 := f.user(a, "one@example.com"), f.user(a, "two@example.com")
	tm := f.team(a, "Ops", []string{orgauth.RoleTenantViewer}, u1, u2, u1)
	tm.Annotations = map[string]string{"k": "v"}
	got, err := qa.Team(ctx, tm.ID)
	ok(t, err)
	wantUsers := []string{u1.ID, u2.ID}
	slices.Sort(wantUsers)
	if got.Name != "Ops" || got.TenantID != a.ID || !slices.Equal(got.Roles, []string{orgauth.RoleTenantViewer}) ||
		!slices.Equal(got.Sources, []string{orgauth.TeamSourceLocal}) || !slices.Equal(got.Users, wantUsers) ||
		!sameTime(got.CreatedAt, now) {
		t.Fatalf("read back: %+v", got)
	}
	wantCode(t, qa.CreateTeam(ctx, &orgauth.Team{Name: "OPS"}), orgauth.ECONFLICT)
	ok(t, qb.CreateTeam(ctx, &orgauth.Team{Name: "Ops"}))
	_, err = qb.Team(ctx, tm.ID)
	wantCode(t, err, orgauth.ENOTFOUND)

	got.Name, got.Users, got.Roles = "Operations", []string{u2.ID}, nil
	got.Annotations = map[string]string{"a": "b"}
	ok(t, qa.UpdateTeam(ctx, got))
	got2, err := qa.Team(ctx, tm.ID)
	ok(t, err)
	if got2.Name != "Operations" || !slices.Equal(got2.Users, []string{u2.ID}) || len(got2.Roles) != 0 ||
		got2.Annotations["a"] != "b" {
		t.Fatalf("updated: %+v", got2)
	}
	wantCode(t, qb.UpdateTeam(ctx, got2), orgauth.ENOTFOUND)
	wantCode(t, qb.DeleteTeam(ctx, tm.ID), orgauth.ENOTFOUND)
	ok(t, qa.DeleteTeam(ctx, tm.ID))
	_, err = qa.Team(ctx, tm.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	teams, err := qa.UserTeams(ctx, u2.ID)
	ok(t, err)
	if len(teams) != 0 {
		t.Errorf("deleted team still has members: %v", teams)
	}
}

func testTeamMembersStayInTenant(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("acme"), f.tenant("bravo")
	qa, qb := s.InTenant(a.ID), s.InTenant(b.ID)
	mine, theirs := f.user(a, "mine@example.com"), f.user(b, "theirs@example.com")
	// A user of another tenant cannot be made a member, and nothing is written.
	wantCode(t, qa.CreateTeam(ctx, &orgauth.Team{Name: "Mixed", Users: []string{mine.ID, theirs.ID}}), orgauth.ENOTFOUND)
	list, _, err := qa.ListTeams(ctx, orgauth.Page{})
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("a failed create left %d teams", len(list))
	}
	tm := f.team(a, "Mine", nil, mine)
	tm.Users = []string{mine.ID, theirs.ID}
	wantCode(t, qa.UpdateTeam(ctx, tm), orgauth.ENOTFOUND)
	got, err := qa.Team(ctx, tm.ID)
	ok(t, err)
	if !slices.Equal(got.Users, []string{mine.ID}) {
		t.Errorf("a failed update changed the members: %v", got.Users)
	}
	// Nor can a user join another tenant's team.
	wantCode(t, qb.SetUserTeams(ctx, theirs.ID, []string{tm.ID}), orgauth.ENOTFOUND)
	wantCode(t, qb.SetUserTeams(ctx, mine.ID, nil), orgauth.ENOTFOUND)
}

func testListTeamsPagination(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	q := s.InTenant(a.ID)
	u := f.user(a, "u@example.com")
	var want []string
	for _, name := range []string{"delta", "Alpha", "charlie", "Bravo", "echo"} {
		f.team(a, name, nil, u)
	}
	want = []string{"Alpha", "Bravo", "charlie", "delta", "echo"}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		list, next, err := q.ListTeams(ctx, orgauth.Page{Limit: 2, Continue: cursor})
		ok(t, err)
		for _, tm := range list {
			got = append(got, tm.Name)
			if !slices.Equal(tm.Users, []string{u.ID}) {
				t.Errorf("team %s members %v", tm.Name, tm.Users)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: %v, want %v", got, want)
	}
	_, _, err := q.ListTeams(ctx, orgauth.Page{Continue: "garbage!"})
	wantCode(t, err, orgauth.EINVALID)
}

func testUserTeams(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	q := s.InTenant(a.ID)
	u, v := f.user(a, "u@example.com"), f.user(a, "v@example.com")
	t1 := f.team(a, "Zulu", []string{orgauth.RoleTenantViewer}, u)
	t2 := f.team(a, "Alpha", nil, v)
	ok(t, q.SetUserTeams(ctx, u.ID, []string{t2.ID, t1.ID, t2.ID}))
	teams, err := q.UserTeams(ctx, u.ID)
	ok(t, err)
	if len(teams) != 2 || teams[0].ID != t2.ID || teams[1].ID != t1.ID {
		t.Fatalf("user teams: %+v", teams)
	}
	if !slices.Equal(teams[1].Roles, []string{orgauth.RoleTenantViewer}) {
		t.Errorf("team roles: %v", teams[1].Roles)
	}
	ok(t, q.SetUserTeams(ctx, u.ID, []string{t2.ID}))
	teams, err = q.UserTeams(ctx, u.ID)
	ok(t, err)
	if len(teams) != 1 || teams[0].ID != t2.ID {
		t.Fatalf("after leaving: %+v", teams)
	}
	// v stays a member of Alpha.
	teams, err = q.UserTeams(ctx, v.ID)
	ok(t, err)
	if len(teams) != 1 || teams[0].ID != t2.ID {
		t.Fatalf("other member: %+v", teams)
	}
	wantCode(t, q.SetUserTeams(ctx, u.ID, []string{"000000000000000000000000"}), orgauth.ENOTFOUND)
	teams, err = q.UserTeams(ctx, u.ID)
	ok(t, err)
	if len(teams) != 1 {
		t.Errorf("a failed SetUserTeams changed the membership: %d teams", len(teams))
	}
}

func testTeamsCascade(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	q := s.InTenant(a.ID)
	u, v := f.user(a, "u@example.com"), f.user(a, "v@example.com")
	tm := f.team(a, "Ops", nil, u, v)
	ok(t, q.DeleteUser(ctx, u.ID))
	got, err := q.Team(ctx, tm.ID)
	ok(t, err)
	if !slices.Equal(got.Users, []string{v.ID}) {
		t.Errorf("deleting a user left the membership: %v", got.Users)
	}
	f.role(a, "Custom", orgauth.PermUserGet)
	ok(t, s.DeleteTenant(ctx, a.ID))
	_, err = q.Team(ctx, tm.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	roles, err := q.ListRoles(ctx)
	ok(t, err)
	if len(roles) != 0 {
		t.Errorf("deleting the tenant left %d roles", len(roles))
	}
}

func testListAudit(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("acme"), f.tenant("bravo")
	for i := range 5 {
		ok(t, s.AddAudit(ctx, &orgauth.AuditRecord{TenantID: a.ID, ActorID: "actor", Action: "v1UsersCreate",
			Target: "t", Outcome: "success", RequestID: "r", ClientIP: "192.0.2.1",
			CreatedAt: now.Add(time.Duration(i) * time.Second)}))
	}
	ok(t, s.AddAudit(ctx, &orgauth.AuditRecord{TenantID: b.ID, Action: "other", CreatedAt: now.Add(time.Hour)}))
	var got []time.Time
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		list, next, err := s.InTenant(a.ID).ListAudit(ctx, orgauth.Page{Limit: 2, Continue: cursor})
		ok(t, err)
		for _, r := range list {
			if r.TenantID != a.ID || r.Action != "v1UsersCreate" || r.ActorID != "actor" || r.ClientIP != "192.0.2.1" {
				t.Fatalf("record: %+v", r)
			}
			got = append(got, r.CreatedAt)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != 5 {
		t.Fatalf("%d records, want 5", len(got))
	}
	for i := 1; i < len(got); i++ {
		if !got[i].Before(got[i-1]) {
			t.Fatalf("not newest first: %v", got)
		}
	}
	_, _, err := s.InTenant(a.ID).ListAudit(ctx, orgauth.Page{Continue: "%%"})
	wantCode(t, err, orgauth.EINVALID)
}

func testTeamLimits(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	q := s.InTenant(a.ID)
	u := f.user(a, "u@example.com")
	var ids []string
	for i := range orgauth.MaxTeamsPerUser {
		ids = append(ids, f.team(a, "team"+strconv.Itoa(i), nil, u).ID)
	}
	// One team more is refused, whichever side adds it, and nothing is written.
	wantCode(t, q.CreateTeam(ctx, &orgauth.Team{Name: "one too many", Users: []string{u.ID}}), orgauth.EINVALID)
	extra := f.team(a, "extra", nil)
	extra.Users = []string{u.ID}
	wantCode(t, q.UpdateTeam(ctx, extra), orgauth.EINVALID)
	wantCode(t, q.SetUserTeams(ctx, u.ID, append(ids, extra.ID)), orgauth.EINVALID)
	teams, err := q.UserTeams(ctx, u.ID)
	ok(t, err)
	if len(teams) != orgauth.MaxTeamsPerUser {
		t.Fatalf("user in %d teams", len(teams))
	}
	got, err := q.Team(ctx, extra.ID)
	ok(t, err)
	if len(got.Users) != 0 {
		t.Errorf("a refused update added members: %v", got.Users)
	}
	// Rewriting a team keeps its members without counting them twice.
	first, err := q.Team(ctx, ids[0])
	ok(t, err)
	first.Name = "renamed"
	ok(t, q.UpdateTeam(ctx, first))
}

func testAPIKeyCreatedBy(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := f.tenant("acme")
	owner, maker := f.user(a, "owner@example.com"), f.user(a, "maker@example.com")
	k := &orgauth.APIKey{UserID: owner.ID, CreatedBy: maker.ID, Name: "k", Hash: []byte("0123456789abcdef0123456789abcdef"),
		Active: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	ok(t, s.InTenant(a.ID).CreateAPIKey(ctx, k))
	got, err := s.APIKeyByHash(ctx, k.Hash)
	ok(t, err)
	if got.CreatedBy != maker.ID || got.UserID != owner.ID {
		t.Fatalf("key: %+v", got)
	}
}
