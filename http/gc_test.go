package http_test

import (
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/internal/apitest"
)

// TestCollectGarbage checks what Server.CollectGarbage deletes, with the
// server's own session idle limit: what can no longer be used goes, what can
// stays and keeps working.
func TestCollectGarbage(t *testing.T) {
	const idle = 30 * time.Minute
	env := apitest.New(t, apitest.Options{Config: func(c *orgauthhttp.Config) { c.SessionIdle = idle }})
	ctx := t.Context()
	ten := env.NewTenant("gc-org")
	_, revoked := env.NewUser(ten, "revoked@gc.example.com", "Us3r-Passw0rd!")
	env.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", revoked).Must(t, 204)
	// Delivers the outbox: the two invitations are sent now.
	env.Mail.Messages("revoked@gc.example.com")

	got, err := env.Server.CollectGarbage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The revoked session; the two activation tokens, used.
	if want := (orgauth.Collected{Sessions: 1, UserTokens: 2}); got != want {
		t.Fatalf("CollectGarbage = %+v, want %+v", got, want)
	}
	env.Do("GET", "/v1/users/info", nil, "Authorization", revoked).Must(t, 401)

	// A session used within the idle limit stays and works; the sign-ins of
	// apitest that nobody used since end with the idle limit and go.
	env.Clock.Advance(idle - time.Minute)
	live := env.Login(ten.Org, "revoked@gc.example.com", "Us3r-Passw0rd!")
	env.Clock.Advance(2 * time.Minute)
	got, err = env.Server.CollectGarbage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The sign-ins of NewTenant: the system admin's and the tenant admin's.
	if want := (orgauth.Collected{Sessions: 2}); got != want {
		t.Fatalf("CollectGarbage after the idle limit = %+v, want %+v", got, want)
	}
	env.Do("GET", "/v1/users/info", nil, "Authorization", live).Must(t, 200)

	// Sent mail stays a week, without its content. The invitations went out
	// idle+1 minutes ago.
	env.Clock.Advance(7*24*time.Hour - idle - 2*time.Minute)
	if got, err = env.Server.CollectGarbage(ctx); err != nil || got.Mail != 0 {
		t.Fatalf("CollectGarbage within the week = %+v, %v; want no mail", got, err)
	}
	env.Clock.Advance(2 * time.Minute)
	if got, err = env.Server.CollectGarbage(ctx); err != nil || got.Mail != 2 {
		t.Fatalf("CollectGarbage after a week = %+v, %v; want the 2 invitations", got, err)
	}
}
