package http_test

import (
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/internal/apitest"
)

// TestCollectGarbage checks what Server.CollectGarbage deletes, with the
// server's own session idle limit and its hour of margin: what can no longer
// be used goes, what can stays and keeps working.
func TestCollectGarbage(t *testing.T) {
	const idle = 30 * time.Minute
	env := apitest.New(t, apitest.Options{Config: func(c *orgauthhttp.Config) { c.SessionIdle = idle }})
	collect := func(want orgauth.Collected) {
		t.Helper()
		got, err := env.Server.CollectGarbage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("at %s: CollectGarbage = %+v, want %+v", env.Clock.Now().Format(time.DateTime), got, want)
		}
	}
	// At T0: the system admin and the tenant admin sign in (NewTenant), the
	// user signs in and revokes the session, a second user is invited.
	ten := env.NewTenant("gc-org")
	_, revoked := env.NewUser(ten, "revoked@gc.example.com", "Us3r-Passw0rd!")
	env.Do("POST", "/v1/users/auth/tokens/revoke", nil, "Authorization", revoked).Must(t, 204)
	env.Do("POST", "/v1/users", map[string]any{
		"spec": map[string]any{"emailId": "pending@gc.example.com", "firstName": "Pen", "lastName": "Ding", "roles": []string{}},
	}, "Authorization", ten.AdminToken).Must(t, 201)
	env.Mail.Messages("pending@gc.example.com") // delivers the three invitations at T0

	// What ended at T0 waits an hour.
	collect(orgauth.Collected{})
	env.Clock.Advance(time.Hour + time.Minute)
	// The revoked session; the two activation tokens, used.
	collect(orgauth.Collected{Sessions: 1, UserTokens: 2})
	env.Do("GET", "/v1/users/info", nil, "Authorization", revoked).Must(t, 401)

	// T0+61m: a new sign-in. At T0+90m the admins' sessions, unused since T0,
	// ended an hour ago by the 30-minute idle limit and go; the new one stays
	// (its access token has expired by now, its session has not), and so does
	// the pending invitation.
	live := env.Login(ten.Org, "revoked@gc.example.com", "Us3r-Passw0rd!")
	env.Clock.Advance(29 * time.Minute)
	collect(orgauth.Collected{Sessions: 2})
	sess, err := env.Store.InTenant(ten.UID).Session(t.Context(), secClaim(t, live, "sid"))
	if err != nil || !sess.Live(env.Clock.Now(), idle) {
		t.Fatalf("the live session after collecting: %+v, %v", sess, err)
	}
	env.Activate("pending@gc.example.com", "Pend1ng-Passw0rd!")

	// Sent mail stays a week (and the hour), without its content.
	env.Clock.Advance(7*24*time.Hour - 31*time.Minute)
	if got, err := env.Server.CollectGarbage(t.Context()); err != nil || got.Mail != 0 {
		t.Fatalf("CollectGarbage within the week = %+v, %v; want no mail", got, err)
	}
	env.Clock.Advance(2 * time.Minute)
	if got, err := env.Server.CollectGarbage(t.Context()); err != nil || got.Mail != 3 {
		t.Fatalf("CollectGarbage after the week = %+v, %v; want the 3 invitations", got, err)
	}
}
