// Package storetest is the conformance suite of orgauth.Store. A backend's tests
// call Run with a function that opens a fresh, empty, migrated store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) orgauth.Store { ... })
//	}
//
// Every subtest runs on its own store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

// Run runs the conformance suite against the stores open returns. open must
// return a new empty store, migrated, and arrange for it to be closed.
func Run(t *testing.T, open func(t *testing.T) orgauth.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s orgauth.Store)
	}{
		{"Ping", testPing},
		{"TenantCRUD", testTenantCRUD},
		{"TenantDuplicateName", testTenantDuplicateName},
		{"TenantNotFound", testTenantNotFound},
		{"ListTenants", testListTenants},
		{"DeleteTenantCascades", testDeleteTenantCascades},
		{"CreateUser", testCreateUser},
		{"UserDuplicateEmail", testUserDuplicateEmail},
		{"UserNotFound", testUserNotFound},
		{"UsersByEmail", testUsersByEmail},
		{"ListUsersPagination", testListUsersPagination},
		{"ListUsersSort", testListUsersSort},
		{"ListUsersFilter", testListUsersFilter},
		{"ListUsersBadCursor", testListUsersBadCursor},
		{"CountUsers", testCountUsers},
		{"UpdateUser", testUpdateUser},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"SetPassword", testSetPassword},
		{"TenantIsolation", testTenantIsolation},
		{"ReserveLoginAttempt", testReserveLoginAttempt},
		{"ReserveLoginAttemptConcurrent", testReserveLoginAttemptConcurrent},
		{"Sessions", testSessions},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"UserTokens", testUserTokens},
		{"UserTokenExpiry", testUserTokenExpiry},
		{"APIKeys", testAPIKeys},
		{"SigningKeys", testSigningKeys},
		{"AddAudit", testAddAudit},
		{"UpdateCommits", testUpdateCommits},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"ZeroTimes", testZeroTimes},
		{"ConcurrentWrites", testConcurrentWrites},
	}
	tests = append(tests, teamTests...)
	tests = append(tests, ssoTests...)
	tests = append(tests, lifecycleTests...)
	tests = append(tests, gcTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// now is the clock of the suite. It has sub-millisecond digits on purpose: stores
// need keep only milliseconds.
var now = time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)

// ms truncates t to the millisecond, the precision stores keep.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// sameTime reports whether a and b are equal to the millisecond.
func sameTime(a, b time.Time) bool { return ms(a).Equal(ms(b)) }

// wantCode fails t unless err has the orgauth error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := orgauth.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %s), want code %s", err, got, code)
	}
}

// ok fails t if err is not nil.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture creates tenants and users with predictable values.
type fixture struct {
	t   *testing.T
	s   orgauth.Store
	ctx context.Context
	seq int
}

func newFixture(t *testing.T, s orgauth.Store) *fixture {
	return &fixture{t: t, s: s, ctx: t.Context()}
}

// tenant creates a customer tenant with the given name.
func (f *fixture) tenant(name string) *orgauth.Tenant {
	f.t.Helper()
	f.seq++
	tn := &orgauth.Tenant{
		ID: orgauth.NewID(), Name: name, Email: "admin@" + name + ".example",
		AuthType: "password", LoginMode: "dev", Active: true,
		CreatedAt: now.Add(time.Duration(f.seq) * time.Second),
		UpdatedAt: now.Add(time.Duration(f.seq) * time.Second),
	}
	ok(f.t, f.s.CreateTenant(f.ctx, tn))
	return tn
}

// user creates a user with the given email in tenant.
func (f *fixture) user(tenant *orgauth.Tenant, email string) *orgauth.User {
	f.t.Helper()
	f.seq++
	u := &orgauth.User{
		ID: orgauth.NewID(), Email: email, FirstName: "First", LastName: "Last",
		LoginMode: "dev", Roles: []string{orgauth.RoleTenantViewer},
		CreatedAt: now.Add(time.Duration(f.seq) * time.Second),
		UpdatedAt: now.Add(time.Duration(f.seq) * time.Second),
	}
	ok(f.t, f.s.InTenant(tenant.ID).CreateUser(f.ctx, u))
	return u
}

// session creates a live session of u.
func (f *fixture) session(u *orgauth.User) *orgauth.Session {
	f.t.Helper()
	s := &orgauth.Session{
		ID: orgauth.NewID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(24 * time.Hour),
	}
	ok(f.t, f.s.InTenant(u.TenantID).CreateSession(f.ctx, s))
	return s
}

// token creates an unused token of u for purpose.
func (f *fixture) token(u *orgauth.User, purpose string, created time.Time) *orgauth.UserToken {
	f.t.Helper()
	tok := &orgauth.UserToken{
		ID: orgauth.NewID(), UserID: u.ID, Purpose: purpose,
		Hash:      []byte("hash-" + orgauth.NewID()),
		CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
	ok(f.t, f.s.InTenant(u.TenantID).CreateUserToken(f.ctx, tok))
	return tok
}

// apiKey creates an active API key of u.
func (f *fixture) apiKey(u *orgauth.User, name string) *orgauth.APIKey {
	f.t.Helper()
	f.seq++
	k := &orgauth.APIKey{
		ID: orgauth.NewID(), UserID: u.ID, Name: name,
		Annotations: map[string]string{"purpose": "ci"},
		Hash:        []byte("key-" + orgauth.NewID()), Active: true,
		ExpiresAt: now.Add(365 * 24 * time.Hour),
		CreatedAt: now.Add(time.Duration(f.seq) * time.Second),
		UpdatedAt: now.Add(time.Duration(f.seq) * time.Second),
	}
	ok(f.t, f.s.InTenant(u.TenantID).CreateAPIKey(f.ctx, k))
	return k
}

// checkTenant fails t unless got has the stored fields of want.
func checkTenant(t *testing.T, got, want *orgauth.Tenant) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.System != want.System ||
		got.Email != want.Email || got.AuthType != want.AuthType ||
		got.LoginMode != want.LoginMode || got.Address != want.Address ||
		got.Active != want.Active || got.TokenExpiryMinutes != want.TokenExpiryMinutes ||
		got.BannerEnabled != want.BannerEnabled || got.BannerTitle != want.BannerTitle ||
		got.BannerMessage != want.BannerMessage ||
		!maps.Equal(got.Annotations, want.Annotations) || !maps.Equal(got.Labels, want.Labels) ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Fatalf("tenant:\ngot  %+v\nwant %+v", got, want)
	}
}

// checkUser fails t unless got has the stored fields of want.
func checkUser(t *testing.T, got, want *orgauth.User) {
	t.Helper()
	if got.ID != want.ID || got.TenantID != want.TenantID || got.Email != want.Email ||
		got.FirstName != want.FirstName || got.LastName != want.LastName ||
		got.LoginMode != want.LoginMode || !slices.Equal(got.Roles, want.Roles) ||
		!maps.Equal(got.Annotations, want.Annotations) || !maps.Equal(got.Labels, want.Labels) ||
		got.Activated != want.Activated || got.Disabled != want.Disabled ||
		got.PasswordHash != want.PasswordHash || got.FailedLogins != want.FailedLogins ||
		!sameTime(got.LockedUntil, want.LockedUntil) || !sameTime(got.LastSignIn, want.LastSignIn) ||
		!sameTime(got.PasswordChangedAt, want.PasswordChangedAt) ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Fatalf("user:\ngot  %+v\nwant %+v", got, want)
	}
}

// ids returns the ids of users, in order.
func ids(users []*orgauth.User) []string {
	var list []string
	for _, u := range users {
		list = append(list, u.ID)
	}
	return list
}

func testPing(t *testing.T, s orgauth.Store) {
	ok(t, s.Ping(t.Context()))
}

func testTenantCRUD(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	tn := &orgauth.Tenant{
		ID: orgauth.NewID(), Name: "acme", Email: "ops@acme.example", AuthType: "password",
		LoginMode: "devops", Active: true,
		Address: orgauth.Address{Line1: "1 Main St", Line2: "Floor 2", City: "Springfield",
			State: "OR", Country: "US", Pincode: "97477"},
		Annotations:        map[string]string{"a": "1", "b": "two"},
		Labels:             map[string]string{"tier": "gold"},
		TokenExpiryMinutes: 30, BannerEnabled: true, BannerTitle: "Hello",
		BannerMessage: "Maintenance tonight", CreatedAt: now, UpdatedAt: now,
	}
	ok(t, s.CreateTenant(ctx, tn))

	got, err := s.Tenant(ctx, tn.ID)
	ok(t, err)
	checkTenant(t, got, tn)
	got, err = s.TenantByName(ctx, "acme")
	ok(t, err)
	checkTenant(t, got, tn)

	upd := *got
	upd.Name, upd.System, upd.CreatedAt = "renamed", true, now.Add(time.Hour) // not stored
	upd.Email, upd.AuthType, upd.LoginMode, upd.Active = "new@acme.example", "sso", "dev", false
	upd.Address = orgauth.Address{City: "Shelbyville"}
	upd.Annotations, upd.Labels = map[string]string{"c": "3"}, nil
	upd.TokenExpiryMinutes, upd.BannerEnabled = 60, false
	upd.BannerTitle, upd.BannerMessage = "", ""
	upd.UpdatedAt = now.Add(2 * time.Hour)
	ok(t, s.UpdateTenant(ctx, &upd))

	got, err = s.Tenant(ctx, tn.ID)
	ok(t, err)
	want := upd
	want.Name, want.System, want.CreatedAt = tn.Name, tn.System, tn.CreatedAt
	checkTenant(t, got, &want)

	ok(t, s.DeleteTenant(ctx, tn.ID))
	_, err = s.Tenant(ctx, tn.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.TenantByName(ctx, "acme")
	wantCode(t, err, orgauth.ENOTFOUND)
}

func testTenantDuplicateName(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	f.tenant("acme")
	err := s.CreateTenant(t.Context(), &orgauth.Tenant{ID: orgauth.NewID(), Name: "acme"})
	wantCode(t, err, orgauth.ECONFLICT)
	n, err := s.CountTenants(t.Context())
	ok(t, err)
	if n != 1 {
		t.Fatalf("CountTenants = %d, want 1", n)
	}
}

func testTenantNotFound(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	_, err := s.Tenant(ctx, orgauth.NewID())
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.TenantByName(ctx, "nope")
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, s.UpdateTenant(ctx, &orgauth.Tenant{ID: orgauth.NewID(), Name: "nope"}), orgauth.ENOTFOUND)
	wantCode(t, s.DeleteTenant(ctx, orgauth.NewID()), orgauth.ENOTFOUND)
}

func testListTenants(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sys := &orgauth.Tenant{ID: orgauth.NewID(), Name: "aaa-system", System: true, Active: true}
	ok(t, s.CreateTenant(ctx, sys))
	names := []string{"kilo", "alpha", "echo", "zulu", "bravo", "mike", "delta"}
	for _, n := range names {
		f.tenant(n)
	}
	sort.Strings(names)

	n, err := s.CountTenants(ctx)
	ok(t, err)
	if n != len(names) {
		t.Fatalf("CountTenants = %d, want %d", n, len(names))
	}

	all, next, err := s.ListTenants(ctx, orgauth.Page{})
	ok(t, err)
	if next != "" {
		t.Fatalf("single page: next = %q, want empty", next)
	}
	if got := tenantNames(t, all); !slices.Equal(got, names) {
		t.Fatalf("ListTenants = %v, want %v", got, names)
	}

	var got []string
	var pages int
	p := orgauth.Page{Limit: 3}
	for {
		list, next, err := s.ListTenants(ctx, p)
		ok(t, err)
		if len(list) > 3 {
			t.Fatalf("page of %d tenants, limit 3", len(list))
		}
		got = append(got, tenantNames(t, list)...)
		pages++
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("ListTenants does not end")
		}
		p.Continue = next
	}
	if !slices.Equal(got, names) || pages != 3 {
		t.Fatalf("paged ListTenants = %v in %d pages, want %v in 3", got, pages, names)
	}

	_, _, err = s.ListTenants(ctx, orgauth.Page{Continue: "%%%not a cursor%%%"})
	wantCode(t, err, orgauth.EINVALID)
}

// tenantNames returns the names of list and fails t if it holds the system tenant.
func tenantNames(t *testing.T, list []*orgauth.Tenant) []string {
	t.Helper()
	var names []string
	for _, tn := range list {
		if tn.System {
			t.Fatalf("ListTenants returned the system tenant %s", tn.Name)
		}
		names = append(names, tn.Name)
	}
	return names
}

func testDeleteTenantCascades(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("a"), f.tenant("b")
	ua, ub := f.user(a, "same@example.com"), f.user(b, "same@example.com")
	sa, sb := f.session(ua), f.session(ub)
	ta, tb := f.token(ua, orgauth.PurposeReset, now), f.token(ub, orgauth.PurposeReset, now)
	ka, kb := f.apiKey(ua, "a"), f.apiKey(ub, "b")

	ok(t, s.DeleteTenant(ctx, a.ID))

	qa, qb := s.InTenant(a.ID), s.InTenant(b.ID)
	_, err := qa.User(ctx, ua.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = qa.Session(ctx, sa.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.UserToken(ctx, ta.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = qa.APIKey(ctx, ka.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.APIKeyByHash(ctx, ka.Hash)
	wantCode(t, err, orgauth.ENOTFOUND)
	n, err := qa.CountUsers(ctx)
	ok(t, err)
	if n != 0 {
		t.Fatalf("deleted tenant has %d users", n)
	}
	users, err := s.UsersByEmail(ctx, "same@example.com")
	ok(t, err)
	if got := ids(users); !slices.Equal(got, []string{ub.ID}) {
		t.Fatalf("UsersByEmail after delete = %v, want [%s]", got, ub.ID)
	}

	// The other tenant is untouched.
	_, err = qb.User(ctx, ub.ID)
	ok(t, err)
	_, err = qb.Session(ctx, sb.ID)
	ok(t, err)
	_, err = s.UserToken(ctx, tb.ID)
	ok(t, err)
	_, err = s.APIKeyByHash(ctx, kb.Hash)
	ok(t, err)
	_, err = s.Tenant(ctx, b.ID)
	ok(t, err)
}

func testCreateUser(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	if q.TenantID() != tn.ID {
		t.Fatalf("TenantID = %q, want %q", q.TenantID(), tn.ID)
	}
	u := &orgauth.User{
		ID: orgauth.NewID(), TenantID: "ignored", Email: "Ada.Lovelace@Example.com",
		FirstName: "Ada", LastName: "Lovelace", LoginMode: "devops",
		Roles:        []string{orgauth.RoleTenantAdmin, orgauth.RoleTenantViewer},
		Annotations:  map[string]string{"k": "v", "empty": ""},
		Labels:       map[string]string{"team": "analytical-engine"},
		Activated:    true,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		FailedLogins: 2, LockedUntil: now.Add(time.Minute), LastSignIn: now.Add(-time.Hour),
		PasswordChangedAt: now.Add(-24 * time.Hour), CreatedAt: now, UpdatedAt: now.Add(time.Second),
	}
	ok(t, q.CreateUser(ctx, u))
	if u.TenantID != tn.ID {
		t.Fatalf("CreateUser set TenantID %q, want %q", u.TenantID, tn.ID)
	}
	got, err := q.User(ctx, u.ID)
	ok(t, err)
	checkUser(t, got, u)

	for _, email := range []string{"ada.lovelace@example.com", "  ADA.LOVELACE@EXAMPLE.COM "} {
		got, err = q.UserByEmail(ctx, email)
		ok(t, err)
		checkUser(t, got, u)
	}
}

func testUserDuplicateEmail(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("a"), f.tenant("b")
	f.user(a, "bob@example.com")
	dup := &orgauth.User{ID: orgauth.NewID(), Email: " Bob@Example.COM", CreatedAt: now}
	wantCode(t, s.InTenant(a.ID).CreateUser(ctx, dup), orgauth.ECONFLICT)
	if _, err := s.InTenant(a.ID).User(ctx, dup.ID); orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		t.Fatalf("duplicate user stored: %v", err)
	}
	// Another tenant may have the same email.
	f.user(b, "bob@example.com")
}

func testUserNotFound(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	q := s.InTenant(f.tenant("acme").ID)
	_, err := q.User(ctx, orgauth.NewID())
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = q.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, q.UpdateUser(ctx, &orgauth.User{ID: orgauth.NewID(), Email: "x@example.com"}), orgauth.ENOTFOUND)
	wantCode(t, q.DeleteUser(ctx, orgauth.NewID()), orgauth.ENOTFOUND)
	wantCode(t, q.SetPassword(ctx, orgauth.NewID(), "h", now), orgauth.ENOTFOUND)
	wantCode(t, q.LoginSucceeded(ctx, orgauth.NewID(), now), orgauth.ENOTFOUND)
	_, err = q.PasswordLoginSucceeded(ctx, orgauth.NewID(), now)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = q.ReserveLoginAttempt(ctx, orgauth.NewID(), 5, time.Minute, now)
	wantCode(t, err, orgauth.ENOTFOUND)
	users, err := s.UsersByEmail(ctx, "nobody@example.com")
	ok(t, err)
	if len(users) != 0 {
		t.Fatalf("UsersByEmail(nobody) = %d users", len(users))
	}
}

func testUsersByEmail(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b, c := f.tenant("a"), f.tenant("b"), f.tenant("c")
	ua := f.user(a, "Eve@Example.com")
	ub := f.user(b, "eve@example.com")
	f.user(c, "adam@example.com")
	users, err := s.UsersByEmail(ctx, " EVE@example.COM ")
	ok(t, err)
	got := ids(users)
	sort.Strings(got)
	want := []string{ua.ID, ub.ID}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("UsersByEmail = %v, want %v", got, want)
	}
	for _, u := range users {
		if u.ID == ua.ID {
			checkUser(t, u, ua)
		}
	}
}

// seedUsers creates n users in tenant with distinct emails and names and
// creation times that repeat, so that the id breaks ties.
func seedUsers(t *testing.T, s orgauth.Store, tenantID string, n int) []*orgauth.User {
	t.Helper()
	q := s.InTenant(tenantID)
	var users []*orgauth.User
	for i := range n {
		u := &orgauth.User{
			ID:        orgauth.NewID(),
			Email:     fmt.Sprintf("user%02d@example.com", i),
			FirstName: fmt.Sprintf("Name%02d", (i*7)%n),
			LastName:  "Seeded",
			CreatedAt: now.Add(time.Duration(i/3) * time.Minute),
			UpdatedAt: now,
		}
		ok(t, q.CreateUser(t.Context(), u))
		users = append(users, u)
	}
	return users
}

// listAll pages through ListUsers with f and returns every user in order. It
// fails t if a page is larger than the limit or a user comes twice.
func listAll(t *testing.T, q orgauth.TenantQueries, f orgauth.UserFilter) []*orgauth.User {
	t.Helper()
	var all []*orgauth.User
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("ListUsers does not end")
		}
		list, next, err := q.ListUsers(t.Context(), f)
		ok(t, err)
		max := f.Limit
		if max <= 0 || max > orgauth.MaxPageSize {
			max = orgauth.MaxPageSize
		}
		if len(list) > max {
			t.Fatalf("page of %d users, limit %d", len(list), max)
		}
		for _, u := range list {
			if seen[u.ID] {
				t.Fatalf("user %s listed twice", u.ID)
			}
			seen[u.ID] = true
		}
		all = append(all, list...)
		if next == "" {
			return all
		}
		f.Continue = next
	}
}

// sortedByCreation returns the ids of users by creation time then id.
func sortedByCreation(users []*orgauth.User, desc bool) []string {
	list := slices.Clone(users)
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if desc {
			a, b = b, a
		}
		if !ms(a.CreatedAt).Equal(ms(b.CreatedAt)) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return ids(list)
}

func testListUsersPagination(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	tn := f.tenant("acme")
	other := f.tenant("other")
	users := seedUsers(t, s, tn.ID, 23)
	seedUsers(t, s, other.ID, 5)
	q := s.InTenant(tn.ID)

	want := sortedByCreation(users, false)
	for _, limit := range []int{1, 5, 22, 23, 0, orgauth.MaxPageSize + 100} {
		got := ids(listAll(t, q, orgauth.UserFilter{Page: orgauth.Page{Limit: limit}}))
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: ListUsers = %v, want %v", limit, got, want)
		}
	}
	got := ids(listAll(t, q, orgauth.UserFilter{Page: orgauth.Page{Limit: 4}, Desc: true}))
	if want := sortedByCreation(users, true); !slices.Equal(got, want) {
		t.Fatalf("desc: ListUsers = %v, want %v", got, want)
	}

	// The last full page says there is no more.
	list, next, err := q.ListUsers(t.Context(), orgauth.UserFilter{Page: orgauth.Page{Limit: 23}})
	ok(t, err)
	if len(list) != 23 || next != "" {
		t.Fatalf("limit 23: %d users, next %q; want 23 and no next", len(list), next)
	}
	list, next, err = q.ListUsers(t.Context(), orgauth.UserFilter{Page: orgauth.Page{Limit: 10}})
	ok(t, err)
	if len(list) != 10 || next == "" {
		t.Fatalf("limit 10: %d users, next %q; want 10 and a next", len(list), next)
	}
}

func testListUsersSort(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	tn := f.tenant("acme")
	users := seedUsers(t, s, tn.ID, 12)
	q := s.InTenant(tn.ID)

	byName := slices.Clone(users)
	sort.Slice(byName, func(i, j int) bool {
		a, b := strings.ToLower(byName[i].Name()), strings.ToLower(byName[j].Name())
		if a != b {
			return a < b
		}
		return byName[i].ID < byName[j].ID
	})
	want := ids(byName)
	got := ids(listAll(t, q, orgauth.UserFilter{Page: orgauth.Page{Limit: 5}, SortByName: true}))
	if !slices.Equal(got, want) {
		t.Fatalf("by name: ListUsers = %v, want %v", got, want)
	}
	slices.Reverse(want)
	got = ids(listAll(t, q, orgauth.UserFilter{Page: orgauth.Page{Limit: 5}, SortByName: true, Desc: true}))
	if !slices.Equal(got, want) {
		t.Fatalf("by name desc: ListUsers = %v, want %v", got, want)
	}

	// Names that differ in case only sort together.
	tn2 := f.tenant("case")
	q2 := s.InTenant(tn2.ID)
	for i, name := range []string{"bob", "Alice", "carol", "Bobby"} {
		ok(t, q2.CreateUser(t.Context(), &orgauth.User{ID: orgauth.NewID(),
			Email: fmt.Sprintf("u%d@example.com", i), FirstName: name, CreatedAt: now}))
	}
	var names []string
	for _, u := range listAll(t, q2, orgauth.UserFilter{SortByName: true}) {
		names = append(names, u.FirstName)
	}
	if want := []string{"Alice", "bob", "Bobby", "carol"}; !slices.Equal(names, want) {
		t.Fatalf("by name: %v, want %v", names, want)
	}
}

func testListUsersFilter(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	people := []struct{ email, first, last string }{
		{"Ada@Math.example", "Ada", "Lovelace"},
		{"alan@math.example", "Alan", "Turing"},
		{"grace@navy.example", "Grace", "Hopper"},
		{"linus@kernel.example", "Linus", "Torvalds"},
		{"ken_t@bell.example", "Ken", "Thompson"},
		{"kent%@bell.example", "Kent", "Beck"},
	}
	byEmail := map[string]*orgauth.User{}
	for i, p := range people {
		u := &orgauth.User{ID: orgauth.NewID(), Email: p.email, FirstName: p.first,
			LastName: p.last, CreatedAt: now.Add(time.Duration(i) * time.Second)}
		ok(t, q.CreateUser(ctx, u))
		byEmail[p.email] = u
	}
	// Users of another tenant never match.
	other := f.tenant("other")
	ok(t, s.InTenant(other.ID).CreateUser(ctx, &orgauth.User{ID: orgauth.NewID(),
		Email: "ada@math.example", FirstName: "Ada", LastName: "Lovelace", CreatedAt: now}))

	tests := []struct {
		name string
		f    orgauth.UserFilter
		want []string // emails, in creation order
	}{
		{"email eq", orgauth.UserFilter{Email: orgauth.StringMatch{Eq: "ADA@math.example"}},
			[]string{"Ada@Math.example"}},
		{"email eq case-sensitive miss", orgauth.UserFilter{Email: orgauth.StringMatch{Eq: "ada@math.example", CaseSensitive: true}},
			nil},
		{"email eq case-sensitive", orgauth.UserFilter{Email: orgauth.StringMatch{Eq: "Ada@Math.example", CaseSensitive: true}},
			[]string{"Ada@Math.example"}},
		{"email ne", orgauth.UserFilter{Email: orgauth.StringMatch{Ne: "ada@MATH.example"}},
			[]string{"alan@math.example", "grace@navy.example", "linus@kernel.example", "ken_t@bell.example", "kent%@bell.example"}},
		{"email contains", orgauth.UserFilter{Email: orgauth.StringMatch{Contains: "MATH"}},
			[]string{"Ada@Math.example", "alan@math.example"}},
		{"email contains case-sensitive", orgauth.UserFilter{Email: orgauth.StringMatch{Contains: "Math", CaseSensitive: true}},
			[]string{"Ada@Math.example"}},
		{"email contains wildcard", orgauth.UserFilter{Email: orgauth.StringMatch{Contains: "%"}},
			[]string{"kent%@bell.example"}},
		{"email contains underscore", orgauth.UserFilter{Email: orgauth.StringMatch{Contains: "n_"}},
			[]string{"ken_t@bell.example"}},
		{"email begins", orgauth.UserFilter{Email: orgauth.StringMatch{BeginsWith: "A"}},
			[]string{"Ada@Math.example", "alan@math.example"}},
		{"email begins case-sensitive", orgauth.UserFilter{Email: orgauth.StringMatch{BeginsWith: "a", CaseSensitive: true}},
			[]string{"alan@math.example"}},
		{"name eq first", orgauth.UserFilter{Name: orgauth.StringMatch{Eq: "grace"}},
			[]string{"grace@navy.example"}},
		{"name eq last", orgauth.UserFilter{Name: orgauth.StringMatch{Eq: "TURING"}},
			[]string{"alan@math.example"}},
		{"name eq full", orgauth.UserFilter{Name: orgauth.StringMatch{Eq: "linus torvalds"}},
			[]string{"linus@kernel.example"}},
		{"name eq case-sensitive", orgauth.UserFilter{Name: orgauth.StringMatch{Eq: "linus", CaseSensitive: true}},
			nil},
		{"name ne", orgauth.UserFilter{Name: orgauth.StringMatch{Ne: "ken"}},
			[]string{"Ada@Math.example", "alan@math.example", "grace@navy.example", "linus@kernel.example", "kent%@bell.example"}},
		{"name contains", orgauth.UserFilter{Name: orgauth.StringMatch{Contains: "o"}},
			[]string{"Ada@Math.example", "grace@navy.example", "linus@kernel.example", "ken_t@bell.example"}},
		{"name contains across", orgauth.UserFilter{Name: orgauth.StringMatch{Contains: "n tu"}},
			[]string{"alan@math.example"}},
		{"name contains case-sensitive", orgauth.UserFilter{Name: orgauth.StringMatch{Contains: "T", CaseSensitive: true}},
			[]string{"alan@math.example", "linus@kernel.example", "ken_t@bell.example"}},
		{"name begins", orgauth.UserFilter{Name: orgauth.StringMatch{BeginsWith: "ke"}},
			[]string{"ken_t@bell.example", "kent%@bell.example"}},
		{"name begins last", orgauth.UserFilter{Name: orgauth.StringMatch{BeginsWith: "hop"}},
			[]string{"grace@navy.example"}},
		{"name begins case-sensitive", orgauth.UserFilter{Name: orgauth.StringMatch{BeginsWith: "t", CaseSensitive: true}},
			nil},
		{"email and name", orgauth.UserFilter{Email: orgauth.StringMatch{Contains: "bell"}, Name: orgauth.StringMatch{Eq: "beck"}},
			[]string{"kent%@bell.example"}},
		{"paged filter", orgauth.UserFilter{Page: orgauth.Page{Limit: 1}, Email: orgauth.StringMatch{Contains: "example"}, Desc: true},
			[]string{"kent%@bell.example", "ken_t@bell.example", "linus@kernel.example", "grace@navy.example", "alan@math.example", "Ada@Math.example"}},
	}
	for _, tt := range tests {
		var got []string
		for _, u := range listAll(t, q, tt.f) {
			if u.TenantID != tn.ID {
				t.Fatalf("%s: user of tenant %s listed", tt.name, u.TenantID)
			}
			got = append(got, u.Email)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ListUsers = %q, want %q", tt.name, got, tt.want)
		}
	}
	got, _, err := q.ListUsers(ctx, orgauth.UserFilter{Email: orgauth.StringMatch{Eq: "grace@navy.example"}})
	ok(t, err)
	if len(got) == 1 {
		checkUser(t, got[0], byEmail["grace@navy.example"])
	}
}

func testListUsersBadCursor(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	q := s.InTenant(f.tenant("acme").ID)
	_, _, err := q.ListUsers(t.Context(), orgauth.UserFilter{Page: orgauth.Page{Continue: "!!not-a-cursor!!"}})
	wantCode(t, err, orgauth.EINVALID)
}

func testCountUsers(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	a, b := f.tenant("a"), f.tenant("b")
	seedUsers(t, s, a.ID, 7)
	seedUsers(t, s, b.ID, 3)
	for _, c := range []struct {
		id   string
		want int
	}{{a.ID, 7}, {b.ID, 3}, {orgauth.NewID(), 0}} {
		n, err := s.InTenant(c.id).CountUsers(t.Context())
		ok(t, err)
		if n != c.want {
			t.Fatalf("CountUsers(%s) = %d, want %d", c.id, n, c.want)
		}
	}
}

func testUpdateUser(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "old@example.com")
	taken := f.user(tn, "taken@example.com")
	ok(t, q.SetPassword(ctx, u.ID, "secret-hash", now))
	_, err := q.ReserveLoginAttempt(ctx, u.ID, 5, time.Minute, now)
	ok(t, err)

	stored, err := q.User(ctx, u.ID)
	ok(t, err)
	upd := *stored
	upd.Email, upd.FirstName, upd.LastName, upd.LoginMode = "New@Example.com", "Nu", "Name", "devops"
	upd.Roles = []string{orgauth.RoleTenantAdmin, "custom-role"}
	upd.Annotations = map[string]string{"x": "y", "quote": `"q"`}
	upd.Labels = map[string]string{"env": "prod"}
	upd.Activated, upd.Disabled = true, true
	upd.UpdatedAt = now.Add(time.Hour)
	// Not stored by UpdateUser:
	upd.PasswordHash, upd.FailedLogins, upd.LockedUntil = "other", 99, now.Add(time.Hour)
	ok(t, q.UpdateUser(ctx, &upd))

	got, err := q.User(ctx, u.ID)
	ok(t, err)
	want := upd
	want.PasswordHash, want.FailedLogins, want.LockedUntil = stored.PasswordHash, stored.FailedLogins, stored.LockedUntil
	checkUser(t, got, &want)
	if got.Active() {
		t.Fatal("disabled user is active")
	}
	got, err = q.UserByEmail(ctx, "new@example.com")
	ok(t, err)
	if got.ID != u.ID {
		t.Fatal("UserByEmail does not find the new email")
	}
	_, err = q.UserByEmail(ctx, "old@example.com")
	wantCode(t, err, orgauth.ENOTFOUND)

	// Clearing the lists and maps.
	upd.Roles, upd.Annotations, upd.Labels, upd.Disabled = nil, nil, nil, false
	ok(t, q.UpdateUser(ctx, &upd))
	got, err = q.User(ctx, u.ID)
	ok(t, err)
	if len(got.Roles) != 0 || len(got.Annotations) != 0 || len(got.Labels) != 0 || got.Disabled {
		t.Fatalf("cleared user: %+v", got)
	}

	// Taking another user's email.
	upd.Email = " TAKEN@example.com"
	wantCode(t, q.UpdateUser(ctx, &upd), orgauth.ECONFLICT)
	got, err = q.User(ctx, taken.ID)
	ok(t, err)
	checkUser(t, got, taken)
}

func testDeleteUserCascades(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u, keep := f.user(tn, "gone@example.com"), f.user(tn, "keep@example.com")
	sess, keepSess := f.session(u), f.session(keep)
	tok, keepTok := f.token(u, orgauth.PurposeActivation, now), f.token(keep, orgauth.PurposeActivation, now)
	key, keepKey := f.apiKey(u, "gone"), f.apiKey(keep, "keep")

	ok(t, q.DeleteUser(ctx, u.ID))
	wantCode(t, q.DeleteUser(ctx, u.ID), orgauth.ENOTFOUND)
	_, err := q.User(ctx, u.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = q.Session(ctx, sess.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.UserToken(ctx, tok.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = q.APIKey(ctx, key.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.APIKeyByHash(ctx, key.Hash)
	wantCode(t, err, orgauth.ENOTFOUND)
	keys, err := q.ListAPIKeys(ctx, "")
	ok(t, err)
	if len(keys) != 1 || keys[0].ID != keepKey.ID {
		t.Fatalf("ListAPIKeys after delete = %d keys", len(keys))
	}

	_, err = q.Session(ctx, keepSess.ID)
	ok(t, err)
	_, err = s.UserToken(ctx, keepTok.ID)
	ok(t, err)
}

func testSetPassword(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "pw@example.com")
	for range 5 {
		_, err := q.ReserveLoginAttempt(ctx, u.ID, 5, time.Hour, now)
		ok(t, err)
	}
	at := now.Add(time.Minute)
	ok(t, q.SetPassword(ctx, u.ID, "new-hash", at))
	got, err := q.User(ctx, u.ID)
	ok(t, err)
	if got.PasswordHash != "new-hash" || !got.Activated || got.FailedLogins != 0 ||
		!got.LockedUntil.IsZero() || !sameTime(got.PasswordChangedAt, at) {
		t.Fatalf("after SetPassword: %+v", got)
	}
	if !got.Active() {
		t.Fatal("user with a password is not active")
	}
}

func testTenantIsolation(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a, b := f.tenant("a"), f.tenant("b")
	f.user(a, "a@example.com")
	ub := f.user(b, "b@example.com")
	ok(t, s.InTenant(b.ID).SetPassword(ctx, ub.ID, "b-hash", now))
	sb := f.session(ub)
	tb := f.token(ub, orgauth.PurposeReset, now)
	kb := f.apiKey(ub, "b-key")
	before, err := s.InTenant(b.ID).User(ctx, ub.ID)
	ok(t, err)

	qa := s.InTenant(a.ID)
	notFound := func(what string, err error) {
		t.Helper()
		if code := orgauth.ErrorCode(err); code != orgauth.ENOTFOUND {
			t.Errorf("%s across tenants: got %v (code %s), want %s", what, err, code, orgauth.ENOTFOUND)
		}
	}
	_, err = qa.User(ctx, ub.ID)
	notFound("User", err)
	_, err = qa.UserByEmail(ctx, ub.Email)
	notFound("UserByEmail", err)
	hijack := *before
	hijack.Email, hijack.Disabled, hijack.Roles = "hijacked@example.com", true, []string{orgauth.RoleSystemAdmin}
	notFound("UpdateUser", qa.UpdateUser(ctx, &hijack))
	notFound("SetPassword", qa.SetPassword(ctx, ub.ID, "evil", now))
	_, err = qa.ReserveLoginAttempt(ctx, ub.ID, 1, time.Hour, now)
	notFound("ReserveLoginAttempt", err)
	notFound("LoginSucceeded", qa.LoginSucceeded(ctx, ub.ID, now.Add(time.Hour)))
	_, err = qa.PasswordLoginSucceeded(ctx, ub.ID, now)
	notFound("PasswordLoginSucceeded", err)
	notFound("CreateSession", qa.CreateSession(ctx, &orgauth.Session{ID: orgauth.NewID(),
		UserID: ub.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, err = qa.Session(ctx, sb.ID)
	notFound("Session", err)
	notFound("TouchSession", qa.TouchSession(ctx, sb.ID, now.Add(time.Minute)))
	notFound("RevokeSession", qa.RevokeSession(ctx, sb.ID, now))
	ended, err := qa.RevokeUserSessions(ctx, ub.ID, "", now)
	if err != nil && orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		t.Errorf("RevokeUserSessions across tenants: %v", err)
	}
	if len(ended) != 0 {
		t.Errorf("RevokeUserSessions across tenants ended %v", ended)
	}
	notFound("CreateUserToken", qa.CreateUserToken(ctx, &orgauth.UserToken{ID: orgauth.NewID(),
		UserID: ub.ID, Purpose: orgauth.PurposeReset, Hash: []byte("evil"),
		CreatedAt: now.Add(time.Second), ExpiresAt: now.Add(time.Hour)}))
	_, err = qa.LatestUserToken(ctx, ub.ID, orgauth.PurposeReset, now)
	notFound("LatestUserToken", err)
	notFound("UseUserToken", qa.UseUserToken(ctx, tb.ID, now))
	notFound("CreateAPIKey", qa.CreateAPIKey(ctx, &orgauth.APIKey{ID: orgauth.NewID(),
		UserID: ub.ID, Name: "evil", Hash: []byte("evil"), Active: true, ExpiresAt: now.Add(time.Hour)}))
	_, err = qa.APIKey(ctx, kb.ID)
	notFound("APIKey", err)
	keys, err := qa.ListAPIKeys(ctx, ub.ID)
	ok(t, err)
	if len(keys) != 0 {
		t.Errorf("ListAPIKeys across tenants = %d keys", len(keys))
	}
	evilKey := *kb
	evilKey.Active, evilKey.Name = false, "evil"
	notFound("UpdateAPIKey", qa.UpdateAPIKey(ctx, &evilKey))
	notFound("DeleteAPIKey", qa.DeleteAPIKey(ctx, kb.ID))
	notFound("DeleteUser", qa.DeleteUser(ctx, ub.ID))
	users, _, err := qa.ListUsers(ctx, orgauth.UserFilter{})
	ok(t, err)
	for _, u := range users {
		if u.TenantID != a.ID {
			t.Errorf("ListUsers of a lists user of %s", u.TenantID)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Nothing of b changed.
	qb := s.InTenant(b.ID)
	after, err := qb.User(ctx, ub.ID)
	ok(t, err)
	checkUser(t, after, before)
	sess, err := qb.Session(ctx, sb.ID)
	ok(t, err)
	if !sess.RevokedAt.IsZero() || !sameTime(sess.LastUsedAt, sb.LastUsedAt) {
		t.Fatalf("session of b changed: %+v", sess)
	}
	tok, err := s.UserToken(ctx, tb.ID)
	ok(t, err)
	if !tok.UsedAt.IsZero() {
		t.Fatal("token of b used from a")
	}
	key, err := qb.APIKey(ctx, kb.ID)
	ok(t, err)
	if !key.Active || key.Name != kb.Name {
		t.Fatalf("API key of b changed: %+v", key)
	}
	keys, err = qb.ListAPIKeys(ctx, "")
	ok(t, err)
	if len(keys) != 1 {
		t.Fatalf("b has %d API keys, want 1", len(keys))
	}
	n, err := qa.CountUsers(ctx)
	ok(t, err)
	if n != 1 {
		t.Fatalf("a has %d users, want 1", n)
	}
}

func testReserveLoginAttempt(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "lock@example.com")
	const max, lock = 5, 15 * time.Minute

	reserve := func(at time.Time, want bool) {
		t.Helper()
		got, err := q.ReserveLoginAttempt(ctx, u.ID, max, lock, at)
		ok(t, err)
		if got != want {
			t.Fatalf("ReserveLoginAttempt at %v = %v, want %v", at, got, want)
		}
	}
	user := func() *orgauth.User {
		t.Helper()
		got, err := q.User(ctx, u.ID)
		ok(t, err)
		return got
	}

	for i := 1; i <= max; i++ {
		reserve(now, true)
		got := user()
		if got.FailedLogins != i {
			t.Fatalf("after %d attempts FailedLogins = %d", i, got.FailedLogins)
		}
		if i < max && !got.LockedUntil.IsZero() {
			t.Fatalf("locked after %d attempts", i)
		}
	}
	if got := user(); !sameTime(got.LockedUntil, now.Add(lock)) {
		t.Fatalf("LockedUntil = %v, want %v", got.LockedUntil, now.Add(lock))
	}
	reserve(now, false)
	reserve(now.Add(lock-time.Second), false)
	if got := user(); got.FailedLogins != max {
		t.Fatalf("refused attempts counted: FailedLogins = %d", got.FailedLogins)
	}

	// After the lock the counter starts again.
	later := now.Add(lock + time.Second)
	reserve(later, true)
	if got := user(); got.FailedLogins != 1 || !got.LockedUntil.IsZero() {
		t.Fatalf("after the lock: FailedLogins = %d, LockedUntil = %v; want 1 and zero",
			got.FailedLogins, got.LockedUntil)
	}
	reserve(later, true)

	// A success clears the count.
	ok(t, q.LoginSucceeded(ctx, u.ID, later))
	got := user()
	if got.FailedLogins != 0 || !got.LockedUntil.IsZero() || !sameTime(got.LastSignIn, later) {
		t.Fatalf("after LoginSucceeded: %+v", got)
	}
	for range max {
		reserve(later, true)
	}
	reserve(later, false)
	// A success also clears a lock.
	ok(t, q.LoginSucceeded(ctx, u.ID, later))
	reserve(later, true)

	// PasswordLoginSucceeded clears the count like LoginSucceeded...
	admit := func(at time.Time, want bool) {
		t.Helper()
		got, err := q.PasswordLoginSucceeded(ctx, u.ID, at)
		ok(t, err)
		if got != want {
			t.Fatalf("PasswordLoginSucceeded at %v = %v, want %v", at, got, want)
		}
	}
	admit(later, true)
	if got := user(); got.FailedLogins != 0 || !got.LockedUntil.IsZero() || !sameTime(got.LastSignIn, later) {
		t.Fatalf("after PasswordLoginSucceeded: %+v", got)
	}
	// ...but refuses a locked account, and writes nothing then.
	for range max {
		reserve(later, true)
	}
	locked := user()
	admit(later.Add(lock-time.Millisecond), false)
	if got := user(); got.FailedLogins != locked.FailedLogins || !sameTime(got.LockedUntil, locked.LockedUntil) || !sameTime(got.LastSignIn, later) {
		t.Fatalf("PasswordLoginSucceeded on a locked account wrote: %+v", got)
	}
	// Once the lock has passed, the right password gets in and clears it.
	admit(later.Add(lock), true)
	if got := user(); got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Fatalf("after the lock passed: %+v", got)
	}
}

func testReserveLoginAttemptConcurrent(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "race@example.com")

	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			ok, err := q.ReserveLoginAttempt(ctx, u.ID, 5, time.Hour, now)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if granted != 5 {
		t.Fatalf("%d of 50 concurrent attempts granted, want 5", granted)
	}
}

func testSessions(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "s@example.com")
	sess := f.session(u)
	if sess.TenantID != tn.ID {
		t.Fatalf("CreateSession set TenantID %q", sess.TenantID)
	}
	got, err := q.Session(ctx, sess.ID)
	ok(t, err)
	if got.ID != sess.ID || got.TenantID != tn.ID || got.UserID != u.ID ||
		!sameTime(got.CreatedAt, sess.CreatedAt) || !sameTime(got.LastUsedAt, sess.LastUsedAt) ||
		!sameTime(got.ExpiresAt, sess.ExpiresAt) || !got.RevokedAt.IsZero() {
		t.Fatalf("Session = %+v, want %+v", got, sess)
	}
	if !got.Live(now, time.Hour) {
		t.Fatal("new session not live")
	}
	_, err = q.Session(ctx, orgauth.NewID())
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, q.CreateSession(ctx, &orgauth.Session{ID: orgauth.NewID(), UserID: orgauth.NewID(),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}), orgauth.ENOTFOUND)

	touched := now.Add(30 * time.Minute)
	ok(t, q.TouchSession(ctx, sess.ID, touched))
	got, err = q.Session(ctx, sess.ID)
	ok(t, err)
	if !sameTime(got.LastUsedAt, touched) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, touched)
	}
	wantCode(t, q.TouchSession(ctx, orgauth.NewID(), touched), orgauth.ENOTFOUND)
	// An expired session cannot be touched.
	wantCode(t, q.TouchSession(ctx, sess.ID, sess.ExpiresAt.Add(time.Second)), orgauth.ENOTFOUND)

	revoked := now.Add(time.Hour)
	ok(t, q.RevokeSession(ctx, sess.ID, revoked))
	got, err = q.Session(ctx, sess.ID)
	ok(t, err)
	if !sameTime(got.RevokedAt, revoked) || got.Live(revoked, time.Hour) {
		t.Fatalf("revoked session: %+v", got)
	}
	wantCode(t, q.RevokeSession(ctx, sess.ID, revoked), orgauth.ENOTFOUND)
	wantCode(t, q.TouchSession(ctx, sess.ID, revoked), orgauth.ENOTFOUND)
	wantCode(t, q.RevokeSession(ctx, orgauth.NewID(), revoked), orgauth.ENOTFOUND)
}

func testRevokeUserSessions(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u, other := f.user(tn, "u@example.com"), f.user(tn, "other@example.com")
	s1, s2, s3, current := f.session(u), f.session(u), f.session(u), f.session(u)
	so := f.session(other)
	ok(t, q.RevokeSession(ctx, s3.ID, now)) // already ended: not returned again

	at := now.Add(time.Minute)
	ended, err := q.RevokeUserSessions(ctx, u.ID, current.ID, at)
	ok(t, err)
	sort.Strings(ended)
	want := []string{s1.ID, s2.ID}
	sort.Strings(want)
	if !slices.Equal(ended, want) {
		t.Fatalf("RevokeUserSessions = %v, want %v", ended, want)
	}
	for _, c := range []struct {
		id   string
		live bool
	}{{s1.ID, false}, {s2.ID, false}, {s3.ID, false}, {current.ID, true}, {so.ID, true}} {
		got, err := q.Session(ctx, c.id)
		ok(t, err)
		if live := got.RevokedAt.IsZero(); live != c.live {
			t.Fatalf("session %s live = %v, want %v", c.id, live, c.live)
		}
	}
	got, err := q.Session(ctx, s1.ID)
	ok(t, err)
	if !sameTime(got.RevokedAt, at) {
		t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, at)
	}

	ended, err = q.RevokeUserSessions(ctx, u.ID, "", at)
	ok(t, err)
	if !slices.Equal(ended, []string{current.ID}) {
		t.Fatalf("RevokeUserSessions(all) = %v, want [%s]", ended, current.ID)
	}
	ended, err = q.RevokeUserSessions(ctx, u.ID, "", at)
	ok(t, err)
	if len(ended) != 0 {
		t.Fatalf("second RevokeUserSessions = %v, want none", ended)
	}
}

func testUserTokens(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u, other := f.user(tn, "t@example.com"), f.user(tn, "o@example.com")

	t1 := f.token(u, orgauth.PurposeActivation, now)
	if t1.TenantID != tn.ID {
		t.Fatalf("CreateUserToken set TenantID %q", t1.TenantID)
	}
	got, err := s.UserToken(ctx, t1.ID)
	ok(t, err)
	if got.ID != t1.ID || got.TenantID != tn.ID || got.UserID != u.ID || got.Purpose != t1.Purpose ||
		!bytes.Equal(got.Hash, t1.Hash) || !sameTime(got.CreatedAt, t1.CreatedAt) ||
		!sameTime(got.ExpiresAt, t1.ExpiresAt) || !got.UsedAt.IsZero() {
		t.Fatalf("UserToken = %+v, want %+v", got, t1)
	}
	latest, err := q.LatestUserToken(ctx, u.ID, orgauth.PurposeActivation, now)
	ok(t, err)
	if latest.ID != t1.ID {
		t.Fatalf("LatestUserToken = %s, want %s", latest.ID, t1.ID)
	}

	reset := f.token(u, orgauth.PurposeReset, now.Add(time.Second))
	otherTok := f.token(other, orgauth.PurposeActivation, now.Add(time.Second))
	t2 := f.token(u, orgauth.PurposeActivation, now.Add(2*time.Second))

	// t2 supersedes t1 only.
	got, err = s.UserToken(ctx, t1.ID)
	ok(t, err)
	if got.UsedAt.IsZero() {
		t.Fatal("older token of the same purpose still unused")
	}
	wantCode(t, q.UseUserToken(ctx, t1.ID, now.Add(3*time.Second)), orgauth.ENOTFOUND)
	for _, id := range []string{reset.ID, otherTok.ID, t2.ID} {
		got, err := s.UserToken(ctx, id)
		ok(t, err)
		if !got.UsedAt.IsZero() {
			t.Fatalf("token %s used by an unrelated CreateUserToken", id)
		}
	}
	latest, err = q.LatestUserToken(ctx, u.ID, orgauth.PurposeActivation, now.Add(3*time.Second))
	ok(t, err)
	if latest.ID != t2.ID {
		t.Fatalf("LatestUserToken = %s, want %s", latest.ID, t2.ID)
	}

	// Single use.
	usedAt := now.Add(4 * time.Second)
	ok(t, q.UseUserToken(ctx, t2.ID, usedAt))
	wantCode(t, q.UseUserToken(ctx, t2.ID, usedAt), orgauth.ENOTFOUND)
	got, err = s.UserToken(ctx, t2.ID)
	ok(t, err)
	if !sameTime(got.UsedAt, usedAt) {
		t.Fatalf("UsedAt = %v, want %v", got.UsedAt, usedAt)
	}
	_, err = q.LatestUserToken(ctx, u.ID, orgauth.PurposeActivation, usedAt)
	wantCode(t, err, orgauth.ENOTFOUND)

	_, err = s.UserToken(ctx, orgauth.NewID())
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, q.UseUserToken(ctx, orgauth.NewID(), now), orgauth.ENOTFOUND)
	wantCode(t, q.CreateUserToken(ctx, &orgauth.UserToken{ID: orgauth.NewID(), UserID: orgauth.NewID(),
		Purpose: orgauth.PurposeReset, Hash: []byte("h"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		orgauth.ENOTFOUND)
}

func testUserTokenExpiry(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u := f.user(tn, "t@example.com")
	tok := f.token(u, orgauth.PurposeReset, now) // expires at now+1h

	_, err := q.LatestUserToken(ctx, u.ID, orgauth.PurposeReset, tok.ExpiresAt)
	wantCode(t, err, orgauth.ENOTFOUND)
	wantCode(t, q.UseUserToken(ctx, tok.ID, tok.ExpiresAt.Add(time.Millisecond)), orgauth.ENOTFOUND)
	got, err := s.UserToken(ctx, tok.ID)
	ok(t, err)
	if !got.UsedAt.IsZero() {
		t.Fatal("expired token marked used")
	}
	ok(t, q.UseUserToken(ctx, tok.ID, tok.ExpiresAt.Add(-time.Second)))
}

func testAPIKeys(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	u1, u2 := f.user(tn, "one@example.com"), f.user(tn, "two@example.com")
	k1 := f.apiKey(u1, "first")
	k2 := f.apiKey(u2, "second")
	k3 := f.apiKey(u1, "third")
	if k1.TenantID != tn.ID {
		t.Fatalf("CreateAPIKey set TenantID %q", k1.TenantID)
	}

	check := func(got, want *orgauth.APIKey) {
		t.Helper()
		if got.ID != want.ID || got.TenantID != want.TenantID || got.UserID != want.UserID ||
			got.Name != want.Name || !maps.Equal(got.Annotations, want.Annotations) ||
			!bytes.Equal(got.Hash, want.Hash) || got.Active != want.Active ||
			!sameTime(got.ExpiresAt, want.ExpiresAt) || !sameTime(got.CreatedAt, want.CreatedAt) ||
			!sameTime(got.UpdatedAt, want.UpdatedAt) {
			t.Fatalf("API key:\ngot  %+v\nwant %+v", got, want)
		}
	}
	got, err := q.APIKey(ctx, k1.ID)
	ok(t, err)
	check(got, k1)
	got, err = s.APIKeyByHash(ctx, k2.Hash)
	ok(t, err)
	check(got, k2)
	_, err = s.APIKeyByHash(ctx, []byte("no such hash"))
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = q.APIKey(ctx, orgauth.NewID())
	wantCode(t, err, orgauth.ENOTFOUND)

	listIDs := func(userID string) []string {
		t.Helper()
		keys, err := q.ListAPIKeys(ctx, userID)
		ok(t, err)
		var list []string
		for _, k := range keys {
			list = append(list, k.ID)
		}
		return list
	}
	if got, want := listIDs(""), []string{k1.ID, k2.ID, k3.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListAPIKeys(all) = %v, want %v", got, want)
	}
	if got, want := listIDs(u1.ID), []string{k1.ID, k3.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListAPIKeys(u1) = %v, want %v", got, want)
	}
	if got := listIDs(orgauth.NewID()); len(got) != 0 {
		t.Fatalf("ListAPIKeys(unknown) = %v", got)
	}

	upd := *k1
	upd.Name, upd.Annotations, upd.Active = "renamed", map[string]string{"new": "yes"}, false
	upd.ExpiresAt, upd.UpdatedAt = now.Add(time.Hour), now.Add(time.Minute)
	upd.Hash, upd.UserID, upd.CreatedAt = []byte("not stored"), u2.ID, now.Add(time.Hour)
	ok(t, q.UpdateAPIKey(ctx, &upd))
	got, err = q.APIKey(ctx, k1.ID)
	ok(t, err)
	want := upd
	want.Hash, want.UserID, want.CreatedAt = k1.Hash, k1.UserID, k1.CreatedAt
	check(got, &want)
	if got.Usable(now) {
		t.Fatal("inactive key usable")
	}
	wantCode(t, q.UpdateAPIKey(ctx, &orgauth.APIKey{ID: orgauth.NewID()}), orgauth.ENOTFOUND)

	// A hash is unique.
	dup := &orgauth.APIKey{ID: orgauth.NewID(), UserID: u2.ID, Name: "dup", Hash: k2.Hash,
		Active: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	if err := q.CreateAPIKey(ctx, dup); err == nil {
		t.Fatal("second key with the same hash created")
	}

	ok(t, q.DeleteAPIKey(ctx, k1.ID))
	wantCode(t, q.DeleteAPIKey(ctx, k1.ID), orgauth.ENOTFOUND)
	_, err = q.APIKey(ctx, k1.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.APIKeyByHash(ctx, k1.Hash)
	wantCode(t, err, orgauth.ENOTFOUND)
	if got, want := listIDs(""), []string{k2.ID, k3.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListAPIKeys after delete = %v, want %v", got, want)
	}
}

func testSigningKeys(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	mk := func(id string, age, ttl time.Duration) *orgauth.SigningKey {
		k := &orgauth.SigningKey{
			ID: id, Algorithm: "EdDSA", PublicKey: []byte("pub-" + id),
			SealedPrivate: []byte("sealed-" + id + "\x00\xff"),
			CreatedAt:     now.Add(-age), RetiresAt: now.Add(-age + ttl/2), ExpiresAt: now.Add(-age + ttl),
		}
		ok(t, s.CreateSigningKey(ctx, k))
		return k
	}
	old := mk("old", 48*time.Hour, 24*time.Hour) // expired
	mid := mk("mid", 12*time.Hour, 24*time.Hour)
	cur := mk("cur", time.Hour, 24*time.Hour)
	edge := mk("edge", 24*time.Hour, 24*time.Hour) // expires exactly at now

	keys, err := s.SigningKeys(ctx, now)
	ok(t, err)
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	if want := []string{cur.ID, mid.ID}; !slices.Equal(got, want) {
		t.Fatalf("SigningKeys = %v, want %v (not %s, %s)", got, want, old.ID, edge.ID)
	}
	k := keys[0]
	if k.Algorithm != cur.Algorithm || !bytes.Equal(k.PublicKey, cur.PublicKey) ||
		!bytes.Equal(k.SealedPrivate, cur.SealedPrivate) || !sameTime(k.CreatedAt, cur.CreatedAt) ||
		!sameTime(k.RetiresAt, cur.RetiresAt) || !sameTime(k.ExpiresAt, cur.ExpiresAt) {
		t.Fatalf("signing key:\ngot  %+v\nwant %+v", k, cur)
	}
	keys, err = s.SigningKeys(ctx, now.Add(48*time.Hour))
	ok(t, err)
	if len(keys) != 0 {
		t.Fatalf("SigningKeys in two days = %d keys", len(keys))
	}
}

func testAddAudit(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	u := f.user(tn, "admin@example.com")
	ok(t, s.AddAudit(ctx, &orgauth.AuditRecord{ID: orgauth.NewID(), TenantID: tn.ID,
		ActorID: u.ID, Action: "v1UsersCreate", Target: u.ID, Outcome: "success",
		RequestID: "req-1", ClientIP: "192.0.2.1", CreatedAt: now}))
	// Anonymous, failed requests are recorded too.
	ok(t, s.AddAudit(ctx, &orgauth.AuditRecord{ID: orgauth.NewID(), TenantID: tn.ID,
		Action: "v1Login", Outcome: "failure", RequestID: "req-2", CreatedAt: now}))
	ok(t, s.Update(ctx, func(tx orgauth.Queries) error {
		return tx.AddAudit(ctx, &orgauth.AuditRecord{ID: orgauth.NewID(), TenantID: tn.ID,
			ActorID: u.ID, Action: "v1UsersDelete", Target: u.ID, Outcome: "success", CreatedAt: now})
	}))
}

func testUpdateCommits(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	u := &orgauth.User{ID: orgauth.NewID(), Email: "tx@example.com", CreatedAt: now}
	var tok *orgauth.UserToken
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		q := tx.InTenant(tn.ID)
		if err := q.CreateUser(ctx, u); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := q.User(ctx, u.ID); err != nil {
			return err
		}
		tok = &orgauth.UserToken{ID: orgauth.NewID(), UserID: u.ID, Purpose: orgauth.PurposeActivation,
			Hash: []byte("h"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := q.CreateUserToken(ctx, tok); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &orgauth.AuditRecord{ID: orgauth.NewID(), TenantID: tn.ID,
			Action: "v1UsersCreate", Target: u.ID, Outcome: "success", CreatedAt: now})
	})
	ok(t, err)
	_, err = s.InTenant(tn.ID).User(ctx, u.ID)
	ok(t, err)
	_, err = s.UserToken(ctx, tok.ID)
	ok(t, err)
}

func testUpdateRollsBack(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	existing := f.user(tn, "existing@example.com")
	sess := f.session(existing)
	u := &orgauth.User{ID: orgauth.NewID(), Email: "rollback@example.com", CreatedAt: now}
	tn2 := &orgauth.Tenant{ID: orgauth.NewID(), Name: "rolled-back"}
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		q := tx.InTenant(tn.ID)
		if err := q.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateTenant(ctx, tn2); err != nil {
			return err
		}
		if err := q.SetPassword(ctx, existing.ID, "changed", now); err != nil {
			return err
		}
		if err := q.RevokeSession(ctx, sess.ID, now); err != nil {
			return err
		}
		if err := q.DeleteUser(ctx, existing.ID); err != nil {
			return err
		}
		return fmt.Errorf("fail after writes: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	q := s.InTenant(tn.ID)
	_, err = q.User(ctx, u.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	_, err = s.Tenant(ctx, tn2.ID)
	wantCode(t, err, orgauth.ENOTFOUND)
	got, err := q.User(ctx, existing.ID)
	ok(t, err)
	checkUser(t, got, existing)
	gotSess, err := q.Session(ctx, sess.ID)
	ok(t, err)
	if !gotSess.RevokedAt.IsZero() {
		t.Fatal("session revoke not rolled back")
	}

	// A failing store call inside fn rolls back too, and the store stays usable.
	err = s.Update(ctx, func(tx orgauth.Queries) error {
		q := tx.InTenant(tn.ID)
		if err := q.CreateUser(ctx, &orgauth.User{ID: orgauth.NewID(), Email: "x@example.com", CreatedAt: now}); err != nil {
			return err
		}
		return q.CreateUser(ctx, &orgauth.User{ID: orgauth.NewID(), Email: "X@example.com", CreatedAt: now})
	})
	wantCode(t, err, orgauth.ECONFLICT)
	_, err = q.UserByEmail(ctx, "x@example.com")
	wantCode(t, err, orgauth.ENOTFOUND)
	f.user(tn, "after@example.com")
}

func testZeroTimes(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	tn := &orgauth.Tenant{ID: orgauth.NewID(), Name: "zero"}
	ok(t, s.CreateTenant(ctx, tn))
	got, err := s.Tenant(ctx, tn.ID)
	ok(t, err)
	if !got.CreatedAt.IsZero() || !got.UpdatedAt.IsZero() {
		t.Fatalf("zero tenant times came back as %v, %v", got.CreatedAt, got.UpdatedAt)
	}
	q := s.InTenant(tn.ID)
	u := &orgauth.User{ID: orgauth.NewID(), Email: "zero@example.com"}
	ok(t, q.CreateUser(ctx, u))
	gu, err := q.User(ctx, u.ID)
	ok(t, err)
	if !gu.CreatedAt.IsZero() || !gu.LastSignIn.IsZero() || !gu.LockedUntil.IsZero() ||
		!gu.PasswordChangedAt.IsZero() || !gu.UpdatedAt.IsZero() {
		t.Fatalf("zero user times came back: %+v", gu)
	}
	// Times before 1970 and far in the future survive as well.
	u2 := &orgauth.User{ID: orgauth.NewID(), Email: "old@example.com",
		CreatedAt:   time.Date(1969, 7, 20, 20, 17, 40, 123_000_000, time.UTC),
		LockedUntil: time.Date(2999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)}
	ok(t, q.CreateUser(ctx, u2))
	gu, err = q.User(ctx, u2.ID)
	ok(t, err)
	if !gu.CreatedAt.Equal(u2.CreatedAt) || !gu.LockedUntil.Equal(u2.LockedUntil) {
		t.Fatalf("times: got %v, %v; want %v, %v", gu.CreatedAt, gu.LockedUntil, u2.CreatedAt, u2.LockedUntil)
	}
	// Times in another zone compare equal.
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	u3 := &orgauth.User{ID: orgauth.NewID(), Email: "zone@example.com", CreatedAt: now.In(loc)}
	ok(t, q.CreateUser(ctx, u3))
	gu, err = q.User(ctx, u3.ID)
	ok(t, err)
	if !gu.CreatedAt.Equal(ms(now)) {
		t.Fatalf("CreatedAt = %v, want %v", gu.CreatedAt, ms(now))
	}
}

func testConcurrentWrites(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	tn := f.tenant("acme")
	q := s.InTenant(tn.ID)
	const writers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				u := &orgauth.User{ID: orgauth.NewID(), Email: fmt.Sprintf("w%d-%d@example.com", w, i), CreatedAt: now}
				var err error
				if i%2 == 0 {
					err = q.CreateUser(ctx, u)
				} else {
					err = s.Update(ctx, func(tx orgauth.Queries) error {
						return tx.InTenant(tn.ID).CreateUser(ctx, u)
					})
				}
				if err == nil {
					_, err = q.User(ctx, u.ID)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n, err := q.CountUsers(ctx)
	ok(t, err)
	if n != writers*each {
		t.Fatalf("CountUsers = %d, want %d", n, writers*each)
	}
}
