package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

// ssoTests are the conformance tests of social logins, run by Run.
var ssoTests = []struct {
	name string
	fn   func(t *testing.T, s orgauth.Store)
}{
	{"SSOApps", testSSOApps},
	{"SSOAppsRollBack", testSSOAppsRollBack},
	{"TenantSSOLogins", testTenantSSOLogins},
	{"SSOFlows", testSSOFlows},
	{"SSOFlowTakenOnce", testSSOFlowTakenOnce},
	{"SSOLinks", testSSOLinks},
}

func testSSOApps(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	apps, err := s.SSOApps(ctx)
	ok(t, err)
	if len(apps) != 0 {
		t.Fatalf("a new store has %d sso apps", len(apps))
	}
	want := []*orgauth.SSOApp{
		{Name: "google", Kind: orgauth.SSOKindOIDC, Enabled: true, ClientID: "g-id", SealedSecret: []byte{1, 2, 3},
			IssuerURL: "https://accounts.google.com", Scopes: []string{"openid", "email"},
			Claims: orgauth.SSOClaims{Email: "mail"}, LogoURL: "https://example.com/g.svg", UpdatedAt: now},
		{Name: "github", Kind: orgauth.SSOKindGitHub, ClientID: "gh-id", SealedSecret: []byte{4, 5}, UpdatedAt: now},
	}
	ok(t, s.SetSSOApps(ctx, want))
	got, err := s.SSOApps(ctx)
	ok(t, err)
	if len(got) != 2 || got[0].Name != "github" || got[1].Name != "google" {
		t.Fatalf("apps not ordered by name: %+v", got)
	}
	g := got[1]
	if g.Kind != orgauth.SSOKindOIDC || !g.Enabled || g.ClientID != "g-id" || !bytes.Equal(g.SealedSecret, []byte{1, 2, 3}) ||
		g.IssuerURL != "https://accounts.google.com" || !slices.Equal(g.Scopes, []string{"openid", "email"}) ||
		g.Claims.Email != "mail" || g.LogoURL != "https://example.com/g.svg" || !sameTime(g.UpdatedAt, now) {
		t.Fatalf("google round trip: %+v", g)
	}
	if got[0].Enabled || got[0].Kind != orgauth.SSOKindGitHub {
		t.Fatalf("github round trip: %+v", got[0])
	}
	// Replacing drops what is not given again.
	ok(t, s.SetSSOApps(ctx, want[1:]))
	got, err = s.SSOApps(ctx)
	ok(t, err)
	if len(got) != 1 || got[0].Name != "github" {
		t.Fatalf("after replace: %+v", got)
	}
}

func testSSOAppsRollBack(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	ok(t, s.SetSSOApps(ctx, []*orgauth.SSOApp{{Name: "github", Kind: orgauth.SSOKindGitHub, ClientID: "keep"}}))
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.SetSSOApps(ctx, []*orgauth.SSOApp{{Name: "google", Kind: orgauth.SSOKindOIDC}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	// Duplicate names fail as a whole.
	err = s.SetSSOApps(ctx, []*orgauth.SSOApp{{Name: "x", Kind: orgauth.SSOKindOIDC}, {Name: "x", Kind: orgauth.SSOKindOIDC}})
	wantCode(t, err, orgauth.ECONFLICT)
	got, err := s.SSOApps(ctx)
	ok(t, err)
	if len(got) != 1 || got[0].ClientID != "keep" {
		t.Fatalf("a failed replace changed the apps: %+v", got)
	}
}

func testTenantSSOLogins(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	ctx := t.Context()
	a, b := f.tenant("acme"), f.tenant("globex")
	l, err := s.InTenant(a.ID).SSOLogins(ctx)
	ok(t, err)
	if l.Enabled || len(l.Logins) != 0 {
		t.Fatalf("a tenant that never chose: %+v", l)
	}
	ok(t, s.InTenant(a.ID).SetSSOLogins(ctx, &orgauth.TenantSSOLogins{Enabled: true, Logins: []string{"github", "google"}, UpdatedAt: now}))
	l, err = s.InTenant(a.ID).SSOLogins(ctx)
	ok(t, err)
	if !l.Enabled || !slices.Equal(l.Logins, []string{"github", "google"}) || l.TenantID != a.ID || !sameTime(l.UpdatedAt, now) {
		t.Fatalf("round trip: %+v", l)
	}
	// Another tenant is untouched; updating overwrites.
	l, err = s.InTenant(b.ID).SSOLogins(ctx)
	ok(t, err)
	if l.Enabled || len(l.Logins) != 0 {
		t.Fatalf("tenant b sees a's choice: %+v", l)
	}
	ok(t, s.InTenant(a.ID).SetSSOLogins(ctx, &orgauth.TenantSSOLogins{Enabled: false, Logins: []string{"github"}}))
	l, err = s.InTenant(a.ID).SSOLogins(ctx)
	ok(t, err)
	if l.Enabled || !slices.Equal(l.Logins, []string{"github"}) {
		t.Fatalf("after update: %+v", l)
	}
	wantCode(t, s.InTenant(orgauth.NewID()).SetSSOLogins(ctx, &orgauth.TenantSSOLogins{Enabled: true}), orgauth.ENOTFOUND)
	// Deleting the tenant deletes its choice.
	ok(t, s.DeleteTenant(ctx, a.ID))
	l, err = s.InTenant(a.ID).SSOLogins(ctx)
	ok(t, err)
	if l.Enabled || len(l.Logins) != 0 {
		t.Fatalf("choice outlived its tenant: %+v", l)
	}
}

func testSSOFlows(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	fl := &orgauth.SSOFlow{ID: "flow-1", App: "github", TenantID: "t1", BrowserHash: []byte{9, 9},
		RedirectPath: "/home", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	ok(t, s.CreateSSOFlow(ctx, fl))
	wantCode(t, s.CreateSSOFlow(ctx, fl), orgauth.ECONFLICT)
	_, err := s.TakeSSOFlow(ctx, "other", now)
	wantCode(t, err, orgauth.ENOTFOUND)
	got, err := s.TakeSSOFlow(ctx, "flow-1", now.Add(time.Minute))
	ok(t, err)
	if got.App != "github" || got.TenantID != "t1" || !bytes.Equal(got.BrowserHash, []byte{9, 9}) ||
		got.RedirectPath != "/home" || !sameTime(got.CreatedAt, now) || !sameTime(got.ExpiresAt, now.Add(10*time.Minute)) {
		t.Fatalf("round trip: %+v", got)
	}
	_, err = s.TakeSSOFlow(ctx, "flow-1", now.Add(time.Minute))
	wantCode(t, err, orgauth.ENOTFOUND)

	// An expired flow cannot be taken, and a later start drops it.
	ok(t, s.CreateSSOFlow(ctx, &orgauth.SSOFlow{ID: "old", App: "github", BrowserHash: []byte{1}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	ok(t, s.CreateSSOFlow(ctx, &orgauth.SSOFlow{ID: "stale", App: "github", BrowserHash: []byte{1}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	_, err = s.TakeSSOFlow(ctx, "old", now.Add(time.Minute))
	wantCode(t, err, orgauth.ENOTFOUND)
	ok(t, s.CreateSSOFlow(ctx, &orgauth.SSOFlow{ID: "new", App: "github", BrowserHash: []byte{1}, CreatedAt: now.Add(2 * time.Minute), ExpiresAt: now.Add(12 * time.Minute)}))
	_, err = s.TakeSSOFlow(ctx, "stale", now)
	wantCode(t, err, orgauth.ENOTFOUND)
}

func testSSOFlowTakenOnce(t *testing.T, s orgauth.Store) {
	ctx := t.Context()
	ok(t, s.CreateSSOFlow(ctx, &orgauth.SSOFlow{ID: "race", App: "github", BrowserHash: []byte{1}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.TakeSSOFlow(ctx, "race", now); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent takes of one flow succeeded, want 1", won)
	}
}

func testSSOLinks(t *testing.T, s orgauth.Store) {
	f := newFixture(t, s)
	ctx := t.Context()
	a, b := f.tenant("acme"), f.tenant("globex")
	ua, ub := f.user(a, "ada@acme.example"), f.user(b, "bob@globex.example")
	qa := s.InTenant(a.ID)
	_, err := qa.SSOLink(ctx, "github", "42")
	wantCode(t, err, orgauth.ENOTFOUND)
	ok(t, qa.CreateSSOLink(ctx, &orgauth.SSOLink{App: "github", Subject: "42", UserID: ua.ID, CreatedAt: now}))
	l, err := qa.SSOLink(ctx, "github", "42")
	ok(t, err)
	if l.UserID != ua.ID || l.TenantID != a.ID || l.App != "github" || !sameTime(l.CreatedAt, now) {
		t.Fatalf("round trip: %+v", l)
	}
	// The subject once; one subject per user and app; another app is separate.
	wantCode(t, qa.CreateSSOLink(ctx, &orgauth.SSOLink{App: "github", Subject: "42", UserID: ua.ID}), orgauth.ECONFLICT)
	wantCode(t, qa.CreateSSOLink(ctx, &orgauth.SSOLink{App: "github", Subject: "43", UserID: ua.ID}), orgauth.ECONFLICT)
	ok(t, qa.CreateSSOLink(ctx, &orgauth.SSOLink{App: "google", Subject: "42", UserID: ua.ID}))
	// Tenants are separate: another tenant's user cannot be linked here, and
	// the same subject may be linked in another tenant.
	wantCode(t, qa.CreateSSOLink(ctx, &orgauth.SSOLink{App: "github", Subject: "44", UserID: ub.ID}), orgauth.ENOTFOUND)
	_, err = s.InTenant(b.ID).SSOLink(ctx, "github", "42")
	wantCode(t, err, orgauth.ENOTFOUND)
	ok(t, s.InTenant(b.ID).CreateSSOLink(ctx, &orgauth.SSOLink{App: "github", Subject: "42", UserID: ub.ID}))
	// Deleting the user deletes its links.
	ok(t, qa.DeleteUser(ctx, ua.ID))
	_, err = qa.SSOLink(ctx, "github", "42")
	wantCode(t, err, orgauth.ENOTFOUND)
}
