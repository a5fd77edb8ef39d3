package http_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth/internal/apitest"
)

// twoInstances starts two orgauth servers on one fresh PostgreSQL schema with one
// clock, as two instances behind a load balancer.
func twoInstances(t *testing.T) (a, b *apitest.Env) {
	t.Helper()
	url := apitest.PostgresURL(t)
	clock := apitest.NewClock()
	a = apitest.New(t, apitest.Options{DatabaseURL: url, Clock: clock})
	b = apitest.New(t, apitest.Options{DatabaseURL: url, Clock: clock})
	return a, b
}

// within polls check until it holds or d passes.
func within(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInstances_TokensAndRevocation(t *testing.T) {
	a, b := twoInstances(t)
	ten := a.NewTenant("acme")
	uid, tok := a.NewUser(ten, "bob@acme.example.com", "B0b-password!")

	// A token issued by A works at B, and B caches what it looked up.
	b.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200)
	b.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200)

	// Revoked at A: refused at B within a second.
	a.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", tok).Must(t, 204)
	within(t, time.Second, "revocation at A seen at B", func() bool {
		return b.Do("GET", "/v1/users/info", nil, "Authorization", tok).Status == 401
	})

	// A password change at A ends the other sessions at B within a second.
	other := b.Login("acme", "bob@acme.example.com", "B0b-password!")
	mine := a.Login("acme", "bob@acme.example.com", "B0b-password!")
	b.Do("GET", "/v1/users/info", nil, "Authorization", other).Must(t, 200)
	a.Do("PATCH", "/v1/users/"+uid+"/password/change",
		map[string]string{"currentPassword": "B0b-password!", "newPassword": "N3w-password!"},
		"Authorization", mine).Must(t, 204)
	within(t, time.Second, "password change at A seen at B", func() bool {
		return b.Do("GET", "/v1/users/info", nil, "Authorization", other).Status == 401
	})
	b.Do("GET", "/v1/users/info", nil, "Authorization", mine).Must(t, 200)

	// Disabled at B: the API key cached at A stops within a second.
	var key struct{ APIKey string }
	a.Do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{}},
		"Authorization", mine).Must(t, 201).JSON(t, &key)
	a.Do("GET", "/v1/users/info", nil, "ApiKey", key.APIKey).Must(t, 200)
	b.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", ten.AdminToken).Must(t, 204)
	within(t, time.Second, "disable at B seen at A", func() bool {
		return a.Do("GET", "/v1/users/info", nil, "ApiKey", key.APIKey).Status == 401
	})
}

func TestInstances_ConfigurationChange(t *testing.T) {
	a, b := twoInstances(t)
	ten := a.NewTenant("acme")
	path := "/v1/tenants/" + ten.UID + "/authTokenSettings"
	var got struct{ ExpiryTimeMinutes int }
	b.Do("GET", path, nil, "Authorization", ten.AdminToken).Must(t, 200).JSON(t, &got)
	if got.ExpiryTimeMinutes != 15 {
		t.Fatalf("expiry = %d", got.ExpiryTimeMinutes)
	}
	b.Do("GET", "/v1/auth/org?orgName=acme", nil).Must(t, 200) // B caches the tenant
	a.Do("PUT", path, map[string]int{"expiryTimeMinutes": 60}, "Authorization", ten.AdminToken).Must(t, 204)
	// The next token B signs uses the new lifetime within a second.
	within(t, time.Second, "token lifetime change at A used by B", func() bool {
		tok := b.Login("acme", ten.AdminEmail, ten.AdminPassword)
		_, c := secJWT(t, tok)
		exp, _ := c["exp"].(json.Number).Int64()
		iat, _ := c["iat"].(json.Number).Int64()
		return exp-iat == 3600
	})
	// A deleted tenant disappears from B's login discovery within a second.
	a.Do("DELETE", "/v1/tenants/"+ten.UID, nil, "Authorization", a.Admin()).Must(t, 204)
	within(t, time.Second, "tenant deletion at A seen at B", func() bool {
		return b.Do("GET", "/v1/auth/org?orgName=acme", nil).Status == 404
	})
}

func TestInstances_LockoutCountedAtBoth(t *testing.T) {
	a, b := twoInstances(t)
	ten := a.NewTenant("acme")
	a.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		env := a
		if i%2 == 1 {
			env = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			env.Do("POST", "/v1/auth/authenticate", map[string]string{"org": "acme", "emailId": "bob@acme.example.com", "password": "wrong"}).Must(t, 401)
		}()
	}
	wg.Wait()
	for _, env := range []*apitest.Env{a, b} {
		r := env.Do("POST", "/v1/auth/authenticate", map[string]string{"org": "acme", "emailId": "bob@acme.example.com", "password": "B0b-password!"})
		if r.Status != 401 {
			t.Fatalf("right password after 10 failures at two instances: %d, want 401 (locked)", r.Status)
		}
	}
	a.Clock.Advance(16 * time.Minute)
	b.Login("acme", "bob@acme.example.com", "B0b-password!")
}

func TestInstances_StartTogetherOnEmptyDatabase(t *testing.T) {
	url := apitest.PostgresURL(t)
	clock := apitest.NewClock()
	var wg sync.WaitGroup
	envs := make([]*apitest.Env, 3)
	for i := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs[i] = apitest.New(t, apitest.Options{DatabaseURL: url, Clock: clock})
		}()
	}
	wg.Wait()
	for _, env := range envs {
		if env == nil {
			t.FailNow()
		}
	}
	// One system tenant and one signing key set: every instance verifies the others' tokens.
	tok := envs[0].Admin()
	for _, env := range envs[1:] {
		env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200)
	}
}

func TestInstances_TeamAndRoleChanges(t *testing.T) {
	a, b := twoInstances(t)
	ten := a.NewTenant("acme")
	uid, tok := a.NewUser(ten, "bob@acme.example.com", "B0b-password!")
	role := createRole(t, a, ten.AdminToken, "Lister", "user.list")
	team := createTeam(t, a, ten.AdminToken, "Listers", []string{role}, []string{uid})
	within(t, time.Second, "team membership at A seen at B", func() bool {
		return b.Do("GET", "/v1/users", nil, "Authorization", tok).Status == 200
	})
	// A role changed at A: B refuses within a second.
	a.Do("PUT", "/v1/roles/"+role, map[string]any{"metadata": map[string]any{"name": "Lister"},
		"spec": map[string]any{"permissions": []string{"team.list"}}}, "Authorization", ten.AdminToken).Must(t, 204)
	within(t, time.Second, "role change at A seen at B", func() bool {
		return b.Do("GET", "/v1/users", nil, "Authorization", tok).Status == 403
	})
	b.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 200)
	// The team deleted at B: A refuses within a second.
	a.Do("GET", "/v1/teams", nil, "Authorization", tok).Must(t, 200)
	b.Do("DELETE", "/v1/teams/"+team, nil, "Authorization", ten.AdminToken).Must(t, 204)
	within(t, time.Second, "team deletion at B seen at A", func() bool {
		return a.Do("GET", "/v1/teams", nil, "Authorization", tok).Status == 403
	})
}

// TestInstances_RateLimitShared: requests admitted at one instance count at the
// other, so a client gets the configured rate from all instances together.
func TestInstances_RateLimitShared(t *testing.T) {
	url := apitest.PostgresURL(t)
	clock := apitest.NewClock() // stands still: buckets refill only when moved
	opts := apitest.Options{DatabaseURL: url, Clock: clock, AuthRate: 1, AuthBurst: 5}
	a, b := apitest.New(t, opts), apitest.New(t, opts)
	for range 5 {
		a.Do("GET", "/v1/auth/org", nil).Must(t, 200)
	}
	a.Do("GET", "/v1/auth/org", nil).Must(t, 429)
	// B has heard of A's five within a second; its own bucket is spent too.
	time.Sleep(500 * time.Millisecond)
	r := b.Do("GET", "/v1/auth/org", nil)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("B after A used the burst: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	// The limit is per client and operation: another operation is untouched.
	b.Do("GET", "/v1/auth/orgs", nil).Must(t, 401)
	// Once the rate has paid the debt off, B admits the client again.
	clock.Advance(11 * time.Second)
	b.Do("GET", "/v1/auth/org", nil).Must(t, 200)
}
